"""Shared by the container end-to-end tests: skip reasons and "nothing left behind"."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import DOCKYARD, Dockyard

from dockyard.runtime.console import set_winsize

needs_containers = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlayfs mounts, runc)"),
    pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed"),
]


def mounts_under(root: Path) -> list[str]:
    with open("/proc/mounts") as f:
        return [line for line in f if f" {root}/" in line]


def processes_of(root: Path) -> list[int]:
    """Processes (monitors, containers' runtimes) started with this store root."""
    marker = f"DOCKYARD_ROOT={root}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry))
    return found


def assert_nothing_left(dockyard: Dockyard, timeout: float = 5.0) -> None:
    """No container row, mount, monitor or container directory remains."""
    deadline = time.monotonic() + timeout
    while True:
        rows = dockyard.run("ps", "-aq").stdout.split()
        left = {
            "rows": rows,
            "mounts": mounts_under(dockyard.root),
            "processes": processes_of(dockyard.root),
            "dirs": sorted(p.name for p in (dockyard.root / "containers").iterdir()),
        }
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not any(left.values()), left


class Terminal:
    """``dockyard`` with a pty as its controlling terminal."""

    def __init__(
        self, dockyard: Dockyard, *args: str, size: tuple[int, int] | None = None
    ) -> None:
        self.master, slave = os.openpty()
        if size is not None:
            set_winsize(slave, *size)
        self.proc = subprocess.Popen(
            [DOCKYARD, *args], env=dockyard.env(), stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: bytes, timeout: float = 15.0) -> None:
        """Wait for ``text`` in what came after the last match (a prompt seen before
        does not count)."""
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
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int:
        code = self.proc.wait(timeout=20)
        os.close(self.master)
        return code
