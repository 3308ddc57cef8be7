"""The ``local`` volume driver: ``<root>/volumes/<name>/_data`` plus a row per volume.

A volume's directory is made in tmp/ and renamed into place before its row is
committed, and removed (renamed out of sight first) after its row is deleted, so
the database never names a volume without a directory.  A directory without a row
(a crash in between) is adopted by the next ``create`` of that name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import Conflict, VolumeNotFound
from dockyard.store import volumes as vrecords
from dockyard.store.lite import StoreView
from dockyard.store.locks import file_lock
from dockyard.store.staging import remove_tree
from dockyard.store.volumes import VolumeRecord
from dockyard.volumes.model import check_volume_name, volume_data_dir


def created_now() -> str:
    """docker's volume CreatedAt: RFC 3339 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def random_volume_name() -> str:
    """An anonymous volume's name: 64 hex characters, as docker's stringid."""
    return os.urandom(32).hex()


def mountpoint(store: StoreView, name: str) -> Path:
    return volume_data_dir(store.layout.volumes, name)


def ensure_directory(store: StoreView, name: str) -> bool:
    """Make ``volumes/<name>/_data`` unless it exists; True if this call made it."""
    target = store.layout.volumes / name
    if (target / "_data").is_dir():
        return False
    staged = store.layout.tmp / f"volume-{name}-{os.urandom(4).hex()}"
    (staged / "_data").mkdir(mode=0o755, parents=True)
    staged.chmod(0o701)  # docker: the volume's own directory is not listable by others
    try:
        os.rename(staged, target)
    except OSError:  # another process won the race (or a stale empty dir is there)
        shutil.rmtree(staged, ignore_errors=True)
        (target / "_data").mkdir(mode=0o755, parents=True, exist_ok=True)
        return False
    return True


@contextlib.contextmanager
def volumes_lock(store: StoreView) -> Iterator[None]:
    """Held while volume directories and rows change together (create, rm, prune, and a
    container's create), so a volume is never recorded without its directory."""
    with file_lock(store.layout.locks / "volumes.lock"):
        yield


def discard_directory(store: StoreView, name: str) -> None:
    """Remove a volume's directory, renamed out of sight first."""
    remove_tree(store.layout.volumes / name, store.layout.tmp)


def create_volume(
    store: StoreView,
    name: str | None,
    labels: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
) -> VolumeRecord:
    """``volume create``: an existing volume of that name is returned as it is (docker)."""
    name = check_volume_name(name) if name else random_volume_name()
    existing = vrecords.find_volume(store.conn, name)
    if existing is not None:
        return existing
    record = VolumeRecord(name, created_now(), dict(labels or {}), dict(options or {}))
    with volumes_lock(store):
        made = ensure_directory(store, name)
        try:
            with store.commit() as conn:
                if not vrecords.insert_volume(conn, record):
                    return vrecords.get_volume(conn, name)
        except BaseException:
            if made:
                discard_directory(store, name)
            raise
    return record


def in_use_error(name: str, users: list[str]) -> Conflict:
    return Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")


def remove_volume(store: StoreView, name: str, force: bool = False) -> None:
    """``volume rm``: refused while any container (running or not) mounts it.

    ``force`` only forgives a missing volume, as docker's ``volume rm -f``.
    """
    with volumes_lock(store):
        with store.commit() as conn:
            if vrecords.find_volume(conn, name) is None:
                if force:
                    return
                raise VolumeNotFound(f"get {name}: no such volume")
            users = vrecords.volume_users(conn, name)
            if users:
                raise in_use_error(name, users)
            vrecords.delete_volume(conn, name)
        discard_directory(store, name)


def remove_unused(store: StoreView, names: list[str]) -> list[str]:
    """Remove those of ``names`` no container uses now; the names removed."""
    removed = []
    with volumes_lock(store):
        for name in names:
            with store.commit() as conn:
                if vrecords.find_volume(conn, name) is None or vrecords.volume_users(conn, name):
                    continue
                vrecords.delete_volume(conn, name)
            discard_directory(store, name)
            removed.append(name)
    return removed


def directory_size(path: Path) -> int:
    """Bytes of the files under ``path``, a hard-linked file once (docker's directory.Size)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total
