"""``--format`` templates, ``image``/``container inspect``, ``images -f`` and ``ps`` COMMAND
through the real CLI, with docker's outputs, messages and exit codes."""

from __future__ import annotations

import json

from tests.conftest import Dockyard
from tests.e2e.container_helpers import needs_containers


def test_inspect_templates_and_their_errors(dockyard: Dockyard, busybox: str) -> None:
    shown = dockyard.run(
        "image",
        "inspect",
        "-f",
        "{{.Config.Labels}} {{.Config.Env}} {{json .Config.Labels}}",
        busybox,
    )
    assert shown.stdout == "map[] [] null\n"
    ranged = dockyard.run("inspect", "-f", "{{range .RepoTags}}[{{.}}]{{end}}", busybox)
    assert ranged.stdout == "[busybox:latest]\n"
    missing = dockyard.fails("inspect", "-f", "{{.Nope}}", busybox)
    assert missing.returncode == 1 and missing.stdout == "\n"
    assert missing.stderr.strip() == (
        'template parsing error: template: :1:2: executing "" at <.Nope>: '
        'map has no entry for key "Nope"'
    )
    unclosed = dockyard.fails("image", "inspect", "-f", "{{.Id", busybox)
    assert unclosed.returncode == 64
    assert unclosed.stderr.strip() == "template parsing error: template: :1: unclosed action"
    assert dockyard.fails("image", "inspect", "nosuch").stderr.strip() == (
        "Error: No such image: nosuch"
    )


def test_volume_inspect_shape_and_template(dockyard: Dockyard) -> None:
    dockyard.run("volume", "create", "v1")
    view = json.loads(dockyard.run("volume", "inspect", "v1").stdout)[0]
    assert view["Labels"] is None and view["Options"] is None
    shown = dockyard.run("volume", "inspect", "-f", "{{.Labels}} {{.Options}}", "v1")
    assert shown.stdout == "map[] map[]\n"
    missing = dockyard.fails("volume", "inspect", "-f", "{{.Nope}}", "v1")
    assert "can't evaluate field Nope in type volume.Volume" in missing.stderr


def test_images_filters(dockyard: Dockyard, busybox: str, busybox_tar: object) -> None:
    dockyard.run("import", str(busybox_tar))
    dangling = dockyard.run("images", "-f", "dangling=true", "-q").stdout.split()
    tagged = dockyard.run("images", "-f", "dangling=false", "-q").stdout.split()
    assert len(dangling) == 1 and len(tagged) == 1 and dangling != tagged
    refs = dockyard.run("image", "ls", "-f", "reference=busy*", "--format", "{{.Repository}}")
    assert refs.stdout == "busybox\n"
    assert dockyard.run("images", "-f", "reference=nope*", "-q").stdout == ""
    dockyard.run("rmi", *dangling)
    assert dockyard.run("images", "-f", "dangling=true", "-q").stdout == ""
    bad = dockyard.fails("images", "-f", "nope=1")
    assert "Invalid filter 'nope'" in bad.stderr


def test_format_errors_of_list_commands(dockyard: Dockyard, busybox: str) -> None:
    images = dockyard.fails("images", "--format", "{{.Nope}}")
    assert images.returncode == 1
    assert images.stderr.strip().endswith(
        "can't evaluate field Nope in type *formatter.imageContext"
    )
    ps = dockyard.fails("ps", "-a", "--format", "{{.Nope")
    assert ps.stderr.strip() == "failed to parse template: template: :1: unclosed action"


def test_ps_command_and_container_inspect(dockyard: Dockyard, busybox: str) -> None:
    dockyard.fails("run", "--name", "c1", busybox, "sh", "-c", "exit 3")
    dockyard.run("run", "--name", "c2", busybox, "echo", "hello world this is long")
    commands = dockyard.run("ps", "-a", "--format", "{{.Names}} {{.Command}}").stdout
    assert commands.splitlines() == [
        'c2 "echo \'hello world t…"',
        "c1 \"sh -c 'exit 3'\"",
    ]
    table = dockyard.run("ps", "-a", "--format", "table {{.Command}}\\t{{.Names}}").stdout
    assert table.splitlines()[0] == "COMMAND                  NAMES"
    inspected = dockyard.run(
        "container", "inspect", "-f", "{{.Name}} {{.State.ExitCode}} {{.Config.Cmd}}", "c1"
    )
    assert inspected.stdout == "/c1 3 [sh -c exit 3]\n"
    stamped = dockyard.run("logs", "-t", "c2").stdout
    stamp = stamped.split(" ", 1)[0]
    assert len(stamp.split(".")[1]) == len("123456789Z")


for _mark in needs_containers:
    test_ps_command_and_container_inspect = _mark(test_ps_command_and_container_inspect)
