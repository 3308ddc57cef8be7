"""Content-addressed blob files under ``<root>/blobs/sha256``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import BlobNotFound
from dockyard.store.paths import StoreLayout


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobFiles:
    """Blob files; a blob is visible only once complete (written elsewhere, then renamed)."""

    def __init__(self, layout: StoreLayout) -> None:
        self.layout = layout

    def path(self, digest: Digest) -> Path:
        return self.layout.blob(digest)

    def exists(self, digest: Digest) -> bool:
        return self.path(digest).exists()

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {digest} is missing from the store") from exc

    def adopt(self, staged: Path, digest: Digest) -> None:
        """Move a complete, fsynced staged file into place (a no-op if already there)."""
        target = self.path(digest)
        if target.exists():
            return
        os.replace(staged, target)

    def remove(self, digest: Digest) -> None:
        self.path(digest).unlink(missing_ok=True)
