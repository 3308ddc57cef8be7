"""run, create, exec and commit from the command line: docker's flag syntax, its errors
and exit codes, the ``--root`` and ``container`` forms, and the group's help."""

from __future__ import annotations

import subprocess

from tests.conftest import DOCKYARD, Dockyard


def test_a_bad_flag_is_refused_as_docker_does_and_changes_nothing(
    dockyard: Dockyard, busybox: str
) -> None:
    before = dockyard.snapshot()
    result = dockyard.fails("run", "--rm", "--foo", busybox, "true")
    assert result.returncode == 125
    assert result.stderr == "unknown flag: --foo\nSee 'dockyard run --help'.\n"
    result = dockyard.fails("create", "--privileged=maybe", busybox)
    assert result.returncode == 125
    assert result.stderr.startswith('invalid argument "maybe" for "--privileged" flag')
    result = dockyard.fails("exec", "-z", "ctr", "true")
    assert (result.returncode, result.stderr.splitlines()[0]) == (
        125,
        "unknown shorthand flag: 'z' in -z",
    )
    assert dockyard.snapshot() == before
    assert dockyard.run("ps", "-a", "-q").stdout == ""


def test_missing_arguments_exit_1_with_the_usage(dockyard: Dockyard) -> None:
    result = dockyard.fails("run")
    assert result.returncode == 1
    assert result.stderr.startswith('"dockyard run" requires at least 1 argument.\n')
    assert "Usage:  dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]" in result.stderr
    result = dockyard.fails("commit")
    assert result.returncode == 1
    assert "requires at least 1 and at most 2 arguments" in result.stderr


def test_help_of_the_flag_commands_and_of_the_group(dockyard: Dockyard) -> None:
    result = dockyard.run("run", "--help")
    assert "Usage:  dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]" in result.stdout
    assert "  -d, --detach" in result.stdout and "  -h, --hostname string" in result.stdout
    assert "Usage:  dockyard commit" in dockyard.run("container", "commit", "-h").stdout
    listing = dockyard.run("--help").stdout
    for name, summary in [
        ("run", "Create and run a new container from an image"),
        ("create", "Create a new container"),
        ("exec", "Execute a command in a running container"),
        ("commit", "Create a new image from a container's changes"),
        ("ps", ""),
    ]:
        assert any(line.split()[:1] == [name] and summary in line for line in listing.splitlines())


def test_root_given_as_a_flag_and_the_container_group(dockyard: Dockyard, busybox: str) -> None:
    env = {k: v for k, v in dockyard.env().items() if k != "DOCKYARD_ROOT"}
    for form in (["--root", str(dockyard.root)], [f"--root={dockyard.root}"]):
        created = subprocess.run(
            [DOCKYARD, *form, "container", "create", "--name", f"c{len(form)}", busybox, "true"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert len(created.stdout.strip()) == 64
    names = dockyard.run("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert sorted(names) == ["c1", "c2"]


def test_a_root_that_is_a_file_is_refused_by_every_command(dockyard: Dockyard) -> None:
    root_file = dockyard.root.parent / "a-file"
    root_file.write_text("")
    for command in (["run", "img"], ["ps"]):
        result = subprocess.run(
            [DOCKYARD, "--root", str(root_file), *command],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 125, result.stderr
        assert "Directory" in result.stderr and "is a file" in result.stderr


def test_volume_ls_with_no_volumes_prints_the_header(dockyard: Dockyard) -> None:
    assert dockyard.run("volume", "ls").stdout == "DRIVER    VOLUME NAME\n"
