"""``run -it`` on a real pseudo-terminal: prompt, output, Ctrl-D exits, Ctrl-P Ctrl-Q detaches."""

from __future__ import annotations

import pytest
from tests.conftest import Dockyard
from tests.e2e.container_helpers import Terminal, assert_nothing_left, needs_containers

pytestmark = needs_containers


def test_interactive_shell(dockyard: Dockyard, busybox: str) -> None:
    term = Terminal(dockyard, "run", "-it", "--rm", busybox, "sh")
    term.expect(b"# ")
    term.send(b"echo answer-$((6*7))\r")
    term.expect(b"answer-42")
    term.expect(b"# ")  # busybox drops a Ctrl-D typed while a command still runs
    term.send(b"\x04")  # Ctrl-D: the shell exits, and so does run
    assert term.close() == 0
    assert_nothing_left(dockyard)


@pytest.mark.parametrize("remove", [[], ["--rm"]])
def test_detach_keys(dockyard: Dockyard, busybox: str, remove: list[str]) -> None:
    # With --rm too: detached from, the container runs on; it goes when it exits.
    term = Terminal(dockyard, "run", "-it", *remove, "--name", "held", busybox, "sh")
    term.expect(b"# ")
    term.send(b"\x10\x11")  # Ctrl-P Ctrl-Q
    assert term.close() == 0
    assert "Up " in dockyard.run("ps", "--filter", "name=held").stdout
    assert dockyard.run("exec", "held", "echo", "still-here").stdout == "still-here\n"
    dockyard.run("rm", "-f", "held")
    assert_nothing_left(dockyard)
