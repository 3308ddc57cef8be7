"""A dockyard killed (kill -9) while it holds a container paused for a commit must not
leave the container frozen: the next command that looks at it resumes it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import needs_containers

pytestmark = needs_containers


def freezer_state(container_id: str) -> str:
    """FROZEN / THAWED (cgroup v1 freezer, or v2's cgroup.freeze) of the container."""
    v1 = Path("/sys/fs/cgroup/freezer/dockyard", container_id, "freezer.state")
    if v1.exists():
        return v1.read_text().strip()
    v2 = Path("/sys/fs/cgroup/dockyard", container_id, "cgroup.freeze")
    if v2.exists():
        return "FROZEN" if v2.read_text().strip() == "1" else "THAWED"
    pytest.skip("the container's freezer cgroup is not visible here")


def wait_for(condition: str, check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition}")
        time.sleep(0.01)


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def test_commit_killed_while_the_container_is_paused(dockyard: Dockyard, busybox: str) -> None:
    script = "dd if=/dev/zero of=/big bs=1M count=400 2>/dev/null; touch /ready; exec sleep 1000"
    cid = dockyard.run("run", "-d", "--name", "held", busybox, "sh", "-c", script).stdout.strip()
    try:
        wait_for("the container's 400 MB",
                 lambda: dockyard.run("exec", "held", "ls", "/ready", check=False).returncode == 0)
        commit = subprocess.Popen([DOCKYARD, "commit", "held", "held/image:1"],
                                  env=dockyard.env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_for("the commit to pause the container",
                     lambda: freezer_state(cid) == "FROZEN" or commit.poll() is not None, 30)
            assert commit.poll() is None, "the commit ended before it could be killed mid-pause"
            wait_for("the packer", lambda: bool(children(commit.pid)) or commit.poll() is not None)
            packers = children(commit.pid)
            os.kill(commit.pid, signal.SIGKILL)
        finally:
            commit.wait()
        assert freezer_state(cid) == "FROZEN"  # what the killed commit left
        # Its packer child dies with it (it went on writing into staging).
        wait_for("the packer to die with the commit", lambda: all(map(gone, packers)), 5)

        ps = dockyard.run("ps", "--filter", "name=held", "--format", "{{.Status}}").stdout
        assert ps.startswith("Up")
        assert freezer_state(cid) == "THAWED"
        assert dockyard.run("exec", "held", "echo", "alive").stdout == "alive\n"
    finally:
        dockyard.run("rm", "-f", "held", check=False)  # SIGKILL ends it even frozen
