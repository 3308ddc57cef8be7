"""Fixtures shared by every test: the real CLI on a private store root, test images."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.busybox_rootfs import busybox_rootfs_tar

DOCKYARD = str(Path(sys.executable).parent / "dockyard")
CACHE = Path(os.environ.get("DOCKYARD_TEST_CACHE", Path(__file__).parent.parent / ".cache"))


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Dockyard:
    """Runs the real ``dockyard`` console script against one store root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKYARD_ROOT": str(self.root)}

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> Result:
        proc = subprocess.run(
            [DOCKYARD, *args],
            env=self.env(),
            input=input,
            capture_output=True,
            timeout=300,
            check=False,
        )
        result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
        if check and proc.returncode != 0:
            raise AssertionError(
                f"dockyard {' '.join(args)} exited {proc.returncode}: {result.stderr}"
            )
        return result

    def fails(self, *args: str, input: bytes | None = None) -> Result:
        result = self.run(*args, input=input, check=False)
        assert result.returncode != 0, f"dockyard {' '.join(args)} should have failed"
        return result

    def snapshot(self) -> dict[str, str]:
        """Every file of the store and every database row, to compare before and after."""
        state: dict[str, str] = {}
        for path in sorted(self.root.rglob("*")):
            rel = str(path.relative_to(self.root))
            if rel.startswith(("tmp", "locks")) or rel.startswith("dockyard.db"):
                continue
            if path.is_file() and not path.is_symlink():
                state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                state[rel] = "dir" if path.is_dir() else "other"
        db = self.root / "dockyard.db"
        if db.exists():
            conn = sqlite3.connect(db)
            for line in conn.iterdump():
                state[f"db:{line}"] = ""
            conn.close()
        return state


@pytest.fixture
def dockyard(tmp_path: Path) -> Dockyard:
    return Dockyard(tmp_path / "store")


@pytest.fixture(scope="session")
def busybox_tar() -> Path:
    if not Path("/bin/busybox").exists():
        pytest.skip("busybox-static is not installed (/bin/busybox)")
    CACHE.mkdir(parents=True, exist_ok=True)
    return busybox_rootfs_tar(CACHE / "busybox-rootfs.tar")


@pytest.fixture
def busybox(dockyard: Dockyard, busybox_tar: Path) -> Iterator[str]:
    """The busybox image imported into the test's store, tagged ``busybox:latest``."""
    dockyard.run("import", str(busybox_tar), "busybox")
    yield "busybox"
