"""The storage driver interface, modelled on CNCF distribution's ``storagedriver``.

Paths are absolute, slash-separated driver paths such as
``/docker/registry/v2/blobs/sha256/ab/ab12…/data``; a driver maps them onto its
backend and must refuse any path that is not in canonical form (no ``.``/``..``,
no empty components), so nothing can resolve outside its root.

Methods are blocking. The HTTP layer calls the cheap ones (stat, small reads)
inline and pushes the ones that move many bytes or fsync onto a thread, so a
driver for object storage can be written with a blocking client library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from dockyard.errors import NotFound, StoreError


class PathNotFound(NotFound):
    """No object or directory at a driver path."""

    def __init__(self, path: str) -> None:
        super().__init__(f"path not found: {path}")
        self.path = path


class InvalidPath(StoreError):
    """A driver path that is not canonical or would leave the driver's root."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    size: int
    mtime_ns: int
    is_dir: bool
    identity: int = 0
    """Changes when the object is replaced (an inode number, a generation ...)."""


class FileWriter(Protocol):
    """An open object being written; nothing is guaranteed durable before commit()."""

    @property
    def size(self) -> int:
        """Bytes in the object so far, including what existed before an append."""
        ...

    def write(self, data: bytes | memoryview) -> int: ...

    def commit(self) -> None:
        """Make everything written durable (flush + fsync) and close."""
        ...

    def cancel(self) -> None:
        """Drop what this writer added (an append is truncated back) and close."""
        ...

    def close(self) -> None:
        """Close, keeping what was written (not necessarily durable)."""
        ...


class StorageDriver(Protocol):
    def get_content(self, path: str) -> bytes:
        """The whole object; raises PathNotFound."""
        ...

    def put_content(self, path: str, content: bytes) -> None:
        """Replace the object atomically: readers see the old or the new bytes."""
        ...

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A stream positioned at offset; the caller closes it."""
        ...

    def writer(self, path: str, append: bool = False) -> FileWriter: ...

    def stat(self, path: str) -> FileInfo:
        """Size and modification time; raises PathNotFound."""
        ...

    def list(self, path: str) -> list[str]:
        """Names of the direct children of a directory; raises PathNotFound."""
        ...

    def move(self, source: str, dest: str) -> None:
        """Atomically rename source to dest, replacing dest if it exists."""
        ...

    def delete(self, path: str) -> None:
        """Remove an object or a directory tree; raises PathNotFound."""
        ...

    def local_path(self, path: str) -> Path | None:
        """A local file for sendfile, or None when the backend has no local files."""
        ...
