"""Manifests: bytes in ``blobs/``, membership in ``_manifests/revisions``.

A push stores the exact bytes, then links the revision, records the referrer, and
moves tags last, so a tag never points at something incomplete.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import msgspec

from dockyard.digest import Digest
from dockyard.errors import BlobNotFound, InvalidDocument
from dockyard.image.manifest import Document, decode_manifest
from dockyard.registry.server import layout
from dockyard.registry.server.blobstore import BlobStore
from dockyard.registry.server.errors import ManifestBlobUnknown, ManifestUnknown
from dockyard.registry.server.referrerstore import ReferrerStore
from dockyard.registry.server.storage.driver import PathNotFound
from dockyard.registry.server.tagstore import TagStore


@dataclass(frozen=True, slots=True)
class StoredManifest:
    digest: Digest
    raw: bytes
    media_type: str


class _MediaTypeProbe(msgspec.Struct):
    mediaType: str | None = None


def _media_type_of(raw: bytes) -> str:
    try:
        return decode_manifest(raw).media_type
    except InvalidDocument:
        # Something distribution accepted that we do not model (schema 1 ...).
        try:
            declared = msgspec.json.decode(raw, type=_MediaTypeProbe).mediaType
        except msgspec.DecodeError:
            declared = None
        return declared or "application/json"


class ManifestStore:
    def __init__(self, blobs: BlobStore, tags: TagStore, referrers: ReferrerStore) -> None:
        self.blobs = blobs
        self.tags = tags
        self.referrers = referrers
        self._media_types: dict[Digest, str] = {}

    def has(self, name: str, digest: Digest) -> bool:
        # distribution 2.1.0 linked manifests into _layers; 2.8 still looks there.
        return self.blobs.has_link(layout.revision_link(name, digest), digest) or (
            self.blobs.has_link(layout.layer_link(name, digest), digest)
        )

    def get(self, name: str, digest: Digest) -> StoredManifest:
        if not self.has(name, digest):
            self.tags.require_repository(name)
            raise ManifestUnknown(f"manifest unknown: {name}@{digest}")
        try:
            raw = self.blobs.read(digest)
        except BlobNotFound as exc:
            raise ManifestUnknown(f"manifest unknown: {name}@{digest}") from exc
        media_type = self._media_types.get(digest)
        if media_type is None:
            media_type = _media_type_of(raw)
            if len(self._media_types) > 100_000:
                self._media_types.clear()
            self._media_types[digest] = media_type
        return StoredManifest(digest, raw, media_type)

    def put(
        self, name: str, raw: bytes, content_type: str | None, digest: Digest, tags: list[str]
    ) -> Document:
        """Validate and store; ``digest`` must already be checked against ``raw``."""
        document = decode_manifest(raw, content_type)
        missing = self._missing_references(name, document)
        if missing:
            raise ManifestBlobUnknown(missing)
        self.blobs.put(raw, digest)
        self.blobs.write_link(layout.revision_link(name, digest), digest)
        self._media_types[digest] = document.media_type
        subject = document.parsed.subject
        if subject is not None:
            self.referrers.record(name, subject.parsed_digest, digest)
        for tag in tags:
            self.tags.set(name, tag, digest)
        return document

    def _missing_references(self, name: str, document: Document) -> list[str]:
        missing = []
        if document.is_index:
            for child in document.index.manifests:
                if not self.has(name, child.parsed_digest):
                    missing.append(child.digest)
            return missing
        manifest = document.manifest
        for descriptor in [manifest.config, *manifest.layers]:
            if descriptor.urls:
                continue  # foreign / non-distributable layer served from elsewhere
            if not self.blobs.exists_in_repo(name, descriptor.parsed_digest):
                missing.append(descriptor.digest)
        return missing

    def delete(self, name: str, digest: Digest) -> None:
        """Unlink the revision, untag every tag on it, drop its referrer record."""
        stored = self.get(name, digest)
        revision = layout.revision_link(name, digest)
        try:
            self.blobs.driver.delete(revision)
        except PathNotFound:
            self.blobs.driver.delete(layout.layer_link(name, digest))  # 2.1.0 legacy link
        self.blobs.cache.forget(revision)
        self.blobs.cache.forget(layout.layer_link(name, digest))
        for tag in self.tags.lookup(name, digest):
            with contextlib.suppress(ManifestUnknown):  # removed concurrently
                self.tags.delete(name, tag)
        try:
            subject = decode_manifest(stored.raw).parsed.subject
        except InvalidDocument:
            subject = None
        if subject is not None:
            self.referrers.drop(name, subject.parsed_digest, digest)
