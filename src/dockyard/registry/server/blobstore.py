"""Blobs: shared content under ``blobs/`` plus per-repository ``_layers`` links.

A blob is visible in a repository only when both its data and its link exist; the
data is always complete before the link is written, so a reader never sees a
partial blob.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.digest import Digest
from dockyard.errors import BlobNotFound, InvalidDigest
from dockyard.registry.server import layout
from dockyard.registry.server.cache import ContentCache
from dockyard.registry.server.storage.driver import FileInfo, PathNotFound, StorageDriver


class BlobStore:
    def __init__(self, driver: StorageDriver, cache: ContentCache) -> None:
        self.driver = driver
        self.cache = cache

    def stat(self, digest: Digest) -> FileInfo:
        """The blob's data, whichever repositories link it."""
        try:
            return self.driver.stat(layout.blob_data(digest))
        except PathNotFound as exc:
            raise BlobNotFound(f"blob unknown: {digest}") from exc

    def has_link(self, link_path: str, digest: Digest) -> bool:
        try:
            return layout.parse_link(self.cache.read(link_path)) == digest
        except (PathNotFound, InvalidDigest):
            return False

    def stat_in_repo(self, name: str, digest: Digest) -> FileInfo:
        """The blob as seen by ``name``: linked there and its data present."""
        if not self.has_link(layout.layer_link(name, digest), digest):
            raise BlobNotFound(f"blob unknown to repository {name}: {digest}")
        return self.stat(digest)

    def exists_in_repo(self, name: str, digest: Digest) -> bool:
        try:
            self.stat_in_repo(name, digest)
        except BlobNotFound:
            return False
        return True

    def write_link(self, link_path: str, digest: Digest) -> None:
        """Idempotent: an identical link is left alone (no rewrite, no fsync)."""
        if not self.has_link(link_path, digest):
            self.driver.put_content(link_path, layout.link_content(digest))

    def link(self, name: str, digest: Digest) -> None:
        self.write_link(layout.layer_link(name, digest), digest)

    def unlink(self, name: str, digest: Digest) -> None:
        """Remove the blob from ``name`` (distribution deletes just the link file)."""
        self.stat_in_repo(name, digest)
        path = layout.layer_link(name, digest)
        self.driver.delete(path)
        self.cache.forget(path)

    def mount(self, name: str, source: str, digest: Digest) -> FileInfo:
        """Link a blob of ``source`` into ``name``; raises BlobNotFound."""
        info = self.stat_in_repo(source, digest)
        self.link(name, digest)
        return info

    def put(self, content: bytes, digest: Digest) -> None:
        """Store bytes (a manifest) unless the same content is already there."""
        path = layout.blob_data(digest)
        try:
            if self.driver.stat(path).size == len(content):
                return
        except PathNotFound:
            pass
        self.driver.put_content(path, content)

    def adopt(self, source_path: str, digest: Digest) -> None:
        """Move a finished, verified upload into place as the blob's data."""
        path = layout.blob_data(digest)
        try:
            self.driver.stat(path)
        except PathNotFound:
            self.driver.move(source_path, path)
        # An identical blob was already there: keep it (readers may hold it open).

    def read(self, digest: Digest) -> bytes:
        try:
            return self.cache.read(layout.blob_data(digest))
        except PathNotFound as exc:
            raise BlobNotFound(f"blob unknown: {digest}") from exc

    def local_path(self, digest: Digest) -> Path | None:
        return self.driver.local_path(layout.blob_data(digest))
