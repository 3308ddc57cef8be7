"""Tags: ``_manifests/tags/<tag>/current/link`` plus distribution's history index."""

from __future__ import annotations

from dockyard.digest import Digest
from dockyard.errors import InvalidDigest
from dockyard.registry.server import layout
from dockyard.registry.server.blobstore import BlobStore
from dockyard.registry.server.errors import ManifestUnknown, RepositoryUnknown
from dockyard.registry.server.storage.driver import PathNotFound


class TagStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.driver = blobs.driver
        self.cache = blobs.cache

    def resolve(self, name: str, tag: str) -> Digest:
        """The digest a tag points at; raises ManifestUnknown or RepositoryUnknown."""
        try:
            return layout.parse_link(self.cache.read(layout.tag_current_link(name, tag)))
        except (PathNotFound, InvalidDigest) as exc:
            self.require_repository(name)
            raise ManifestUnknown(f"manifest unknown: {name}:{tag}") from exc

    def set(self, name: str, tag: str, digest: Digest) -> None:
        # The index entry first: the current link is what makes the tag visible.
        self.blobs.write_link(layout.tag_index_link(name, tag, digest), digest)
        self.blobs.write_link(layout.tag_current_link(name, tag), digest)

    def delete(self, name: str, tag: str) -> None:
        path = layout.tag_dir(name, tag)
        try:
            self.driver.stat(layout.tag_current_link(name, tag))
            self.driver.delete(path)
        except PathNotFound as exc:
            self.require_repository(name)
            raise ManifestUnknown(f"manifest unknown: {name}:{tag}") from exc
        self.cache.forget(layout.tag_current_link(name, tag))

    def names(self, name: str) -> list[str]:
        """All tags, in byte order; raises RepositoryUnknown."""
        try:
            names = self.driver.list(layout.tags(name))
        except PathNotFound:
            self.require_repository(name)
            return []
        return sorted(tag for tag in names if layout.TAG_RE.match(tag))

    def lookup(self, name: str, digest: Digest) -> list[str]:
        """Tags currently pointing at ``digest``."""
        found = []
        for tag in self.names(name):
            try:
                if layout.parse_link(self.cache.read(layout.tag_current_link(name, tag))) == digest:
                    found.append(tag)
            except (PathNotFound, InvalidDigest):
                continue
        return found

    def require_repository(self, name: str) -> None:
        try:
            self.driver.stat(layout.repository(name))
        except PathNotFound as exc:
            raise RepositoryUnknown(f"repository name not known to registry: {name}") from exc
