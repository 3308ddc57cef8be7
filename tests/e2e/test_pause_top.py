"""``pause`` / ``unpause`` (the cgroup freezer, from any later process) and ``top``."""

from __future__ import annotations

import json
import time

from tests.conftest import Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers

pytestmark = needs_containers

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done"


def log_lines(dockyard: Dockyard, name: str) -> int:
    return len(dockyard.run("logs", name).stdout.splitlines())


def grows(dockyard: Dockyard, name: str, seconds: float = 0.6) -> bool:
    before = log_lines(dockyard, name)
    time.sleep(seconds)
    return log_lines(dockyard, name) > before


def test_pause_freezes_until_unpause(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "pz", busybox, "sh", "-c", COUNTER)
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", "pz").stdout.strip()
    assert grows(dockyard, "pz")
    assert dockyard.run("pause", "pz").stdout == "pz\n"
    assert not grows(dockyard, "pz")
    shown = dockyard.run("ps", "--format", "{{.Names}} {{.State}} {{.Status}}").stdout
    assert shown.startswith("pz paused Up ") and shown.endswith(" (Paused)\n")
    state = json.loads(dockyard.run("inspect", "pz").stdout)[0]["State"]
    assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
    assert dockyard.run("ps", "-q", "-f", "status=paused").stdout.strip() == container_id[:12]
    assert dockyard.run("ps", "-q", "-f", "status=running").stdout == ""

    refused = dockyard.fails("exec", "pz", "true")
    assert refused.stderr == (
        f"Error: Container {container_id} is paused, unpause the container before exec\n"
    )
    again = dockyard.fails("pause", "pz")
    assert again.stderr == f"Error: Container {container_id} is already paused\n"

    assert dockyard.run("unpause", "pz").stdout == "pz\n"
    assert grows(dockyard, "pz")
    assert dockyard.run("exec", "pz", "echo", "in").stdout == "in\n"
    not_paused = dockyard.fails("unpause", "pz")
    assert not_paused.stderr == f"Error: Container {container_id} is not paused\n"

    dockyard.run("rm", "-f", "pz")
    assert_nothing_left(dockyard)


def test_pause_of_a_stopped_container_is_refused(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("create", "--name", "idle", busybox, "true")
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", "idle").stdout.strip()
    refused = dockyard.fails("pause", "idle")
    assert refused.stderr == f"Error: Container {container_id} is not running\n"
    dockyard.run("rm", "idle")


def test_stop_resumes_a_paused_container_so_it_can_act_on_the_signal(
    dockyard: Dockyard, busybox: str
) -> None:
    script = "trap 'exit 3' TERM; while true; do sleep 0.05; done"
    dockyard.run("run", "-d", "--name", "trapper", busybox, "sh", "-c", script)
    dockyard.run("pause", "trapper")
    dockyard.run("stop", "-t", "30", "trapper")
    # 3: the trap ran (a container left frozen would have been killed: 137)
    assert dockyard.run("inspect", "-f", "{{.State.ExitCode}}", "trapper").stdout == "3\n"
    dockyard.run("start", "trapper")  # a new run starts unpaused
    assert dockyard.run("inspect", "-f", "{{.State.Paused}}", "trapper").stdout == "false\n"
    dockyard.run("rm", "-f", "trapper")


def test_commit_of_a_paused_container_leaves_it_paused(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "pc", busybox, "sh", "-c",
                 f"echo kept > /kept; {COUNTER}")  # fmt: skip
    time.sleep(0.3)
    dockyard.run("pause", "pc")
    dockyard.run("commit", "pc", "paused/commit:1")
    assert dockyard.run("inspect", "-f", "{{.State.Status}}", "pc").stdout == "paused\n"
    assert not grows(dockyard, "pc")
    ran = dockyard.run("run", "--rm", "paused/commit:1", "cat", "/kept")
    assert ran.stdout == "kept\n"
    dockyard.run("rm", "-f", "pc")


SLEEPERS = "sleep 1000 & sleep 2000; echo done"


def test_top_lists_the_containers_processes_only(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "tp", busybox, "sh", "-c", SLEEPERS)
    try:
        deadline = time.monotonic() + 10
        while True:
            lines = dockyard.run("top", "tp").stdout.splitlines()
            if len(lines) >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        commands = sorted(line.split(None, 7)[7] for line in lines[1:])
        assert commands == [f"sh -c {SLEEPERS}", "sleep 1000", "sleep 2000"]
        custom = dockyard.run("top", "tp", "-o", "pid,comm").stdout.splitlines()
        assert custom[0].split() == ["PID", "COMMAND"]
        assert sorted(line.split()[1] for line in custom[1:]) == ["sh", "sleep", "sleep"]
        no_pid = dockyard.fails("top", "tp", "-o", "comm")
        assert no_pid.stderr == "Error: Couldn't find PID field in ps output\n"
    finally:
        dockyard.run("rm", "-f", "tp")
    dockyard.run("create", "--name", "still", busybox, "true")
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", "still").stdout.strip()
    assert dockyard.fails("top", "still").stderr == (
        f"Error: Container {container_id} is not running\n"
    )
