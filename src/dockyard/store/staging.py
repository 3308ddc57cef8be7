"""Staging areas under ``<root>/tmp``: work in progress that nothing references yet.

Each staging directory is held by an flock for the life of the process that made
it, so a later process can tell a crashed one's leftovers (lock free) from work
still under way (lock held) and remove only the former.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from types import TracebackType

from dockyard.store.locks import try_lock

_LOCK_NAME = ".lock"
_HIDDEN_GRACE_SECONDS = 3600


class Staging:
    """A private scratch directory; removed on exit whether the work succeeded or not."""

    def __init__(self, tmp_root: Path) -> None:
        name = f"{os.getpid()}-{uuid.uuid4().hex}"
        # Made under a hidden name and renamed once locked, so that remove_stale never
        # sees a visible staging directory that is not locked yet.
        hidden = tmp_root / f".{name}"
        hidden.mkdir(parents=True)
        fd = try_lock(hidden / _LOCK_NAME)
        assert fd is not None, "a fresh staging directory cannot be locked by anyone else"
        self._lock_fd = fd
        self.path = tmp_root / name
        hidden.rename(self.path)

    def new_path(self, name: str = "") -> Path:
        """A fresh path inside the staging directory (not created)."""
        return self.path / f"{name}{uuid.uuid4().hex}"

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock_fd)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def remove_stale(tmp_root: Path) -> None:
    """Delete staging directories whose owner is gone (crashed or killed)."""
    if not tmp_root.is_dir():
        return
    now = time.time()
    for entry in tmp_root.iterdir():
        try:
            _remove_if_stale(entry, now)
        except FileNotFoundError:
            continue  # another process removed it first


def _remove_if_stale(entry: Path, now: float) -> None:
    lock_path = entry / _LOCK_NAME
    if entry.name.startswith("."):
        # Still being set up, or a crash during set-up (or trash): only the latter grow old.
        if now - entry.lstat().st_mtime > _HIDDEN_GRACE_SECONDS:
            shutil.rmtree(entry, ignore_errors=True)
        return
    if not lock_path.exists():
        shutil.rmtree(entry, ignore_errors=True)
        return
    fd = try_lock(lock_path)
    if fd is None:
        return  # its owner is alive
    try:
        shutil.rmtree(entry, ignore_errors=True)
    finally:
        os.close(fd)


def remove_tree(path: Path, tmp_root: Path) -> None:
    """Remove a directory tree by first renaming it into ``tmp_root`` (atomic), so nobody
    ever sees it half deleted; a crash leaves only hidden trash that ``remove_stale`` clears."""
    trash = tmp_root / f".trash-{os.getpid()}-{time.time_ns()}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)
