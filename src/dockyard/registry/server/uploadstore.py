"""Upload sessions, kept entirely on disk so they survive restarts and can move
between worker processes: ``_uploads/<uuid>/startedat`` says the session exists,
``_uploads/<uuid>/data`` holds the bytes received so far.

One request at a time writes to or closes a session (an flock on ``lock``; a second
one is refused). The running hash is a per-process optimisation only: every writer
puts a fresh token in ``writer``, and a process reuses its hash only when the token
is still the one it wrote and the size is what it hashed; otherwise the file is
re-hashed when the upload is closed (distribution does the same when its saved hash
states are gone).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from dockyard.digest import CHUNK, Digest, Hasher
from dockyard.errors import DigestMismatch
from dockyard.registry.server import layout
from dockyard.registry.server.blobstore import BlobStore
from dockyard.registry.server.cache import ContentCache
from dockyard.registry.server.errors import UploadInvalid, UploadUnknown
from dockyard.registry.server.storage.driver import (
    FileWriter,
    PathNotFound,
    StorageDriver,
)
from dockyard.registry.server.storage.filesystem import FilesystemDriver
from dockyard.removal import remove_tree


class UploadWriter:
    """Appends to one session's data, hashing on the way when the hash is known.

    Holds the session's lock from creation to ``close`` / ``cancel``."""

    def __init__(
        self,
        store: UploadStore,
        key: tuple[str, str],
        out: FileWriter,
        hasher: Hasher | None,
        token: str,
        lock: _SessionLock,
    ) -> None:
        self._store = store
        self._key = key
        self._out = out
        self._hasher = hasher
        self._token = token
        self._lock = lock

    @property
    def size(self) -> int:
        return self._out.size

    def write(self, data: bytes) -> None:
        self._out.write(data)
        if self._hasher is not None:
            self._hasher.update(data)

    def close(self) -> None:
        try:
            self._out.close()
            self._store.remember_hash(*self._key, self._token, self._hasher)
        finally:
            self._lock.release()

    def cancel(self) -> None:
        """Truncate back to where this writer started."""
        try:
            self._out.cancel()
        finally:
            self._lock.release()


class _SessionLock:
    """An exclusive, non-blocking flock on the session's lock file (where storage is local)."""

    def __init__(self, path: Path | None) -> None:
        self._fd = -1
        if path is None:
            return  # no local files: the backend must serialise writers itself
        try:  # never makes the session's directory: a cancelled session stays gone
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except (FileNotFoundError, NotADirectoryError):
            raise UploadUnknown("blob upload unknown to registry") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UploadInvalid("another request is writing to this upload") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class UploadStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore) -> None:
        self.driver = driver
        self.blobs = blobs
        self._hashes: dict[tuple[str, str], tuple[str, Hasher]] = {}

    def create(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.driver.writer(layout.upload_data(name, upload_id)).close()
        self.driver.put_content(layout.upload_started_at(name, upload_id), started.encode())
        return upload_id

    def size(self, name: str, upload_id: str) -> int:
        """Bytes received so far; raises UploadUnknown."""
        try:
            self.driver.stat(layout.upload_started_at(name, upload_id))
        except PathNotFound as exc:
            raise UploadUnknown(f"upload unknown: {upload_id}") from exc
        try:
            return self.driver.stat(layout.upload_data(name, upload_id)).size
        except PathNotFound:
            return 0

    def _lock(self, name: str, upload_id: str) -> _SessionLock:
        """The session's lock, held; UploadUnknown if it is gone (also if it went while
        we took a lock on its removed file: the session is checked again under it)."""
        self.size(name, upload_id)  # UploadUnknown before anything is created
        lock = _SessionLock(self.driver.local_path(layout.upload_lock(name, upload_id)))
        try:
            self.size(name, upload_id)
        except BaseException:
            lock.release()
            raise
        return lock

    def open_writer(self, name: str, upload_id: str) -> UploadWriter:
        """A writer at the end of the data; raises UploadInvalid while another is open."""
        lock = self._lock(name, upload_id)
        try:
            size = self.size(name, upload_id)
            hasher = self._take_hash(name, upload_id, size)
            token = uuid.uuid4().hex
            self.driver.put_content(layout.upload_writer_token(name, upload_id), token.encode())
            out = self.driver.writer(layout.upload_data(name, upload_id), append=True)
        except BaseException:
            lock.release()
            raise
        return UploadWriter(self, (name, upload_id), out, hasher, token, lock)

    def remember_hash(self, name: str, upload_id: str, token: str, hasher: Hasher | None) -> None:
        if hasher is None:
            return
        try:
            info = self.driver.stat(layout.upload_data(name, upload_id))
        except PathNotFound:
            return
        if info.size == hasher.size:
            self._hashes[(name, upload_id)] = (token, hasher)

    def _take_hash(self, name: str, upload_id: str, size: int) -> Hasher | None:
        """The remembered hash, if nobody has written since and the size is what it hashed."""
        entry = self._hashes.pop((name, upload_id), None)
        if size == 0:
            return Hasher()
        if entry is None or entry[1].size != size:
            return None
        try:
            current = self.driver.get_content(layout.upload_writer_token(name, upload_id))
        except PathNotFound:
            return None
        return entry[1] if current.decode() == entry[0] else None

    def _digest_of_data(self, name: str, upload_id: str, algorithm: str) -> tuple[Digest, int]:
        size = self.size(name, upload_id)
        hasher = self._take_hash(name, upload_id, size)
        if hasher is not None and hasher.algorithm == algorithm:
            return hasher.digest(), size
        hasher = Hasher(algorithm)
        with self.driver.reader(layout.upload_data(name, upload_id)) as stream:
            while chunk := stream.read(CHUNK):
                hasher.update(chunk)
        return hasher.digest(), hasher.size

    def finish(self, name: str, upload_id: str, expected: Digest) -> int:
        """Verify, move the data into blobs/, link it into ``name``; returns the size.

        Blocking (may hash and fsync a large file): call it from a thread.
        On a digest mismatch the session is dropped and nothing is kept.
        """
        lock = self._lock(name, upload_id)
        try:
            actual, size = self._digest_of_data(name, upload_id, expected.algorithm)
            if actual != expected:
                self._remove(name, upload_id)
                raise DigestMismatch(str(expected), str(actual), "blob")
            data = layout.upload_data(name, upload_id)
            self.driver.writer(data, append=True).commit()  # fsync before it becomes visible
            self.blobs.adopt(data, expected)
            self.blobs.link(name, expected)
            self._remove(name, upload_id)
        finally:
            lock.release()
        return size

    def cancel(self, name: str, upload_id: str) -> None:
        """Drop the session; UploadInvalid while another request writes to it (its
        writer would make its directory again, without ``startedat``)."""
        lock = self._lock(name, upload_id)
        try:
            self._remove(name, upload_id)
        finally:
            lock.release()

    def _remove(self, name: str, upload_id: str) -> None:
        """Delete the session's files; the caller holds its lock.

        Locally the directory is first renamed out of the way: a request that comes to
        take the lock meanwhile must not make a new lock file in it while it is being
        deleted (ENOTEMPTY, and a session directory left without ``startedat``)."""
        self._hashes.pop((name, upload_id), None)
        path = layout.upload_dir(name, upload_id)
        local = self.driver.local_path(path)
        if local is None:
            try:
                self.driver.delete(path)
            except PathNotFound as exc:
                raise UploadUnknown(f"upload unknown: {upload_id}") from exc
            return
        doomed = local.with_name(f".deleted-{upload_id}-{uuid.uuid4().hex}")
        try:
            os.rename(local, doomed)
        except FileNotFoundError as exc:
            raise UploadUnknown(f"upload unknown: {upload_id}") from exc
        remove_tree(doomed)

    def started_at(self, name: str, upload_id: str) -> float:
        path = layout.upload_started_at(name, upload_id)
        try:
            text = self.driver.get_content(path).decode().strip()
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            return self.driver.stat(path).mtime_ns / 1e9


def _repositories_with_uploads(driver: StorageDriver, path: str, prefix: str) -> list[str]:
    """Repository names under ``path`` that have an ``_uploads`` directory."""
    found: list[str] = []
    try:
        children = sorted(driver.list(path))
    except PathNotFound:
        return found
    for child in children:
        if child == "_uploads" and prefix:
            found.append(prefix)
        elif not child.startswith("_") and driver.stat(f"{path}/{child}").is_dir:
            found += _repositories_with_uploads(
                driver, f"{path}/{child}", f"{prefix}/{child}" if prefix else child
            )
    return found


def purge_uploads(uploads: UploadStore, older_than: float, dry_run: bool = False) -> int:
    """Delete sessions started more than ``older_than`` seconds ago; returns how many.
    ``dry_run`` (uploadpurging.dryrun) only counts them."""
    driver = uploads.driver
    cutoff = time.time() - older_than
    purged = 0
    for name in _repositories_with_uploads(driver, layout.REPOSITORIES, ""):
        try:
            upload_ids = driver.list(layout.uploads(name))
        except PathNotFound:
            continue
        if not dry_run:
            _remove_cancelled(driver, name)
        for upload_id in upload_ids:
            if not layout.UPLOAD_ID_RE.match(upload_id):
                continue  # not ours or not a session: leave it alone
            try:
                if uploads.started_at(name, upload_id) < cutoff:
                    if not dry_run:
                        uploads.cancel(name, upload_id)
                    purged += 1
            except (PathNotFound, UploadUnknown, UploadInvalid):
                continue  # gone meanwhile, or being written to: not stale
    return purged


def _remove_cancelled(driver: StorageDriver, name: str) -> None:
    """What cancels killed before they were done left (``.deleted-*``, hidden from
    listings): nothing uses it any more."""
    local = driver.local_path(layout.uploads(name))
    if local is None:
        return
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(local):
            if entry.startswith(".deleted-"):
                remove_tree(local / entry)


def purge_stale_uploads(root: Path, older_than: float) -> int:
    """``storage.maintenance.uploadpurging``: purge a filesystem store's stale uploads."""
    driver = FilesystemDriver(root)
    return purge_uploads(UploadStore(driver, BlobStore(driver, ContentCache(driver))), older_than)
