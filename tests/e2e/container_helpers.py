"""Shared by the container end-to-end tests: skip reasons and "nothing left behind"."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from tests.conftest import Dockyard

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
