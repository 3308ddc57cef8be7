"""``-t`` / ``-it`` without a terminal on stdin, and commands that cannot start: as docker."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers

pytestmark = needs_containers

NOT_A_TTY = "the input device is not a TTY\n"


def run_without_terminal(dockyard: Dockyard, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``dockyard`` with /dev/null as stdin and no controlling terminal at all."""
    return subprocess.run(
        [DOCKYARD, *args], env=dockyard.env(), stdin=subprocess.DEVNULL,
        capture_output=True, timeout=60, start_new_session=True, check=False,
    )  # fmt: skip


def test_tty_without_input_terminal(dockyard: Dockyard, busybox: str) -> None:
    proc = run_without_terminal(dockyard, "run", "--rm", "-t", busybox, "sh", "-c", "tty")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"/dev/pts/0\r\n", b"")
    assert_nothing_left(dockyard)


def test_interactive_tty_refused_without_input_terminal(dockyard: Dockyard, busybox: str) -> None:
    proc = run_without_terminal(dockyard, "run", "--rm", "-it", busybox, "sh", "-c", "tty")
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, b"", NOT_A_TTY.encode())
    piped = dockyard.run("run", "--rm", "-it", busybox, "echo", "hi", input=b"x\n", check=False)
    assert (piped.returncode, piped.stdout, piped.stderr) == (1, "", NOT_A_TTY)
    assert_nothing_left(dockyard)


def test_exec_tty_without_input_terminal(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "box", busybox, "sleep", "60")
    proc = run_without_terminal(dockyard, "exec", "-t", "box", "sh", "-c", "echo hi; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, b"hi\r\n", b"")
    refused = run_without_terminal(dockyard, "exec", "-it", "box", "echo", "hi")
    assert (refused.returncode, refused.stderr) == (1, NOT_A_TTY.encode())
    dockyard.run("rm", "-f", "box")
    assert_nothing_left(dockyard)


def test_exec_missing_command_is_one_line(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "box", busybox, "sleep", "60")
    result = dockyard.run("exec", "box", "nosuchcmd", input=b"", check=False)
    assert result.returncode == 126
    assert result.stderr == (
        'OCI runtime exec failed: exec failed: unable to start container process: exec: '
        '"nosuchcmd": executable file not found in $PATH: unknown\n'
    )
    err = dockyard.run("exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (err.returncode, err.stdout, err.stderr) == (3, "out\n", "err\n")
    dockyard.run("rm", "-f", "box")


def test_failed_start_stays_created(dockyard: Dockyard, busybox: str) -> None:
    for name, command, code in (("missing", "nosuchcmd", 127), ("notexec", "/etc/passwd", 126)):
        result = dockyard.run("run", "--name", name, busybox, command, input=b"", check=False)
        assert result.returncode == code
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
        state = json.loads(dockyard.run("inspect", name).stdout)[0]["State"]
        assert (state["Status"], state["ExitCode"], state["Running"]) == ("created", code, False)
    detached = dockyard.run("run", "-d", "--name", "bg", busybox, "nosuchcmd", check=False)
    assert detached.returncode == 127
    listed = dockyard.run("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.split("\n")
    assert sorted(filter(None, listed)) == ["bg Created", "missing Created", "notexec Created"]
    assert dockyard.run("ps", "-aq", "-f", "status=exited").stdout == ""
    started = dockyard.run("start", "missing", check=False)
    assert started.returncode == 1 and started.stderr.count("Error") == 1
    attached = dockyard.run("start", "-a", "missing", input=b"", check=False)
    assert attached.returncode == 1 and attached.stderr.count("\n") == 1
    assert dockyard.run("wait", "missing", "notexec").stdout == "127\n126\n"
    dockyard.run("rm", "missing", "notexec", "bg")
    assert_nothing_left(dockyard)
