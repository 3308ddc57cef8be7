"""``attach`` end to end through the monitor's attach socket (real runc, real ptys).

A terminal session, detach keys and re-attach; piped stdin to a non-terminal
container; two clients at once; a stopped container; signals proxied; a monitor
killed under an attached client.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import Terminal, assert_nothing_left, needs_containers

pytestmark = needs_containers

READ_LINES = "while read l; do echo got $l; done"


@pytest.fixture(autouse=True)
def remove_leftovers(dockyard: Dockyard) -> Iterator[None]:
    """A failed test must not leave its containers (and their monitors) running."""
    yield
    left = dockyard.run("ps", "-aq", check=False).stdout.split()
    if left:
        dockyard.run("rm", "-f", *left, check=False)


def running(dockyard: Dockyard, name: str) -> bool:
    return "Up " in dockyard.run("ps", "--filter", f"name={name}").stdout


def test_terminal_attach_detach_reattach_and_exit(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-dit", "--name", "term", busybox, "sh")
    term = Terminal(dockyard, "attach", "term", size=(30, 90))
    term.expect(b"# ")  # redrawn: attach nudges the window size, as docker does
    term.send(b"echo hi-$((20+1)); stty size\r")
    term.expect(b"hi-21")
    term.expect(b"30 90")  # our window size reached the container's pty
    term.send(b"\x10\x11")  # Ctrl-P Ctrl-Q
    assert term.close() == 0
    assert running(dockyard, "term")

    again = Terminal(dockyard, "attach", "term", size=(30, 90))
    again.expect(b"# ")
    again.send(b"exit 3\r")
    assert again.close() == 3
    assert "Exited (3)" in dockyard.run("ps", "-a", "--filter", "name=term").stdout
    assert "hi-21" in dockyard.run("logs", "term").stdout  # the monitor logged it all the while
    dockyard.run("rm", "term")
    assert_nothing_left(dockyard)


def test_piped_stdin_to_an_interactive_container(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "-i", "--name", "lines", busybox, "sh", "-c", READ_LINES)
    result = dockyard.run("attach", "lines", input=b"one\ntwo\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "got one\ngot two\n", "")
    assert "Exited (0)" in dockyard.run("ps", "-a").stdout  # our EOF was the container's
    dockyard.run("rm", "lines")
    assert_nothing_left(dockyard)


def test_two_clients_see_the_same_output(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-dit", "--name", "two", busybox, "sh")
    first = Terminal(dockyard, "attach", "two", size=(30, 90))
    first.expect(b"# ")
    second = Terminal(dockyard, "attach", "two", size=(30, 90))
    second.expect(b"# ")
    first.send(b"echo A-$((1+1))\r")
    first.expect(b"A-2")  # each is attached once it has seen its own command run
    second.send(b"echo B-$((2+2))\r")
    second.expect(b"B-4")
    first.send(b"echo both-$((3+3))\r")
    first.expect(b"both-6")
    second.expect(b"both-6")
    first.send(b"exit 0\r")
    assert (first.close(), second.close()) == (0, 0)
    dockyard.run("rm", "two")
    assert_nothing_left(dockyard)


def test_attach_to_a_stopped_container(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("create", "--name", "stopped", busybox, "true")
    result = dockyard.fails("attach", "stopped")
    assert result.returncode == 1
    assert result.stderr == "Error: You cannot attach to a stopped container, start it first\n"
    dockyard.run("start", "stopped")
    dockyard.run("wait", "stopped")
    assert dockyard.fails("attach", "stopped").returncode == 1
    dockyard.run("rm", "stopped")
    assert_nothing_left(dockyard)


def test_signals_are_proxied_without_a_terminal(dockyard: Dockyard, busybox: str) -> None:
    script = 'trap "echo caught; exit 9" TERM; while true; do echo tick; sleep 0.1; done'
    dockyard.run("run", "-d", "--name", "sp", busybox, "sh", "-c", script)
    proc = subprocess.Popen([DOCKYARD, "attach", "sp"], env=dockyard.env(), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"tick\n"  # attached
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 9 and out.endswith(b"caught\n")
    dockyard.run("rm", "sp")
    assert_nothing_left(dockyard)


def test_monitor_killed_while_attached(dockyard: Dockyard, busybox: str) -> None:
    container_id = dockyard.run("run", "-dit", "--name", "killed", busybox, "sh").stdout.strip()
    term = Terminal(dockyard, "attach", "killed", size=(30, 90))
    term.expect(b"# ")
    term.send(b"echo ready-$((4+4))\r")
    term.expect(b"ready-8")
    state = json.loads((dockyard.root / "containers" / container_id / "state.json").read_text())
    os.kill(state["monitor_pid"], signal.SIGKILL)
    term.expect(b"Error: the container's monitor exited unexpectedly")
    assert term.close() == 1
    assert "Exited (137)" in dockyard.run("ps", "-a", "--filter", "name=killed").stdout
    dockyard.run("rm", "killed")
    assert_nothing_left(dockyard)
