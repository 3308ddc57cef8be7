"""``run -it`` on a real pseudo-terminal: prompt, output, Ctrl-D exits, Ctrl-P Ctrl-Q detaches."""

from __future__ import annotations

import os
import select
import subprocess
import time

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers

pytestmark = needs_containers


class Terminal:
    """``dockyard`` with a pty as its controlling terminal."""

    def __init__(self, dockyard: Dockyard, *args: str) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [DOCKYARD, *args], env=dockyard.env(), stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: bytes, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"never saw {text!r}; got {self.seen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # EIO: the other side closed
                    pytest.fail(f"terminal closed before {text!r}; got {self.seen!r}")

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int:
        code = self.proc.wait(timeout=20)
        os.close(self.master)
        return code


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
