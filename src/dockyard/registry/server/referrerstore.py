"""Referrers records: which manifests of a repository name a given subject.

Kept as links under ``_referrers/<alg>/<subject-hex>/`` when a manifest with a
``subject`` is pushed; a record whose manifest has since been deleted (by dockyard
or by distribution, which knows nothing of the records) is skipped when listed.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec

from dockyard.digest import Digest
from dockyard.errors import BlobNotFound, InvalidDigest, InvalidDocument
from dockyard.image import mediatypes as mt
from dockyard.image.manifest import Document, decode_manifest
from dockyard.registry.server import layout
from dockyard.registry.server.blobstore import BlobStore
from dockyard.registry.server.storage.driver import PathNotFound


def referrer_descriptor(document: Document, digest: Digest) -> dict[str, Any]:
    """The descriptor the referrers API lists for one referring manifest."""
    parsed = document.parsed
    descriptor: dict[str, Any] = {
        "mediaType": document.media_type,
        "digest": str(digest),
        "size": len(document.raw),
    }
    artifact_type = parsed.artifact_type
    if not artifact_type and not document.is_index:
        artifact_type = document.manifest.config.media_type
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    if parsed.annotations:
        descriptor["annotations"] = parsed.annotations
    return descriptor


class ReferrerStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.driver = blobs.driver
        self._descriptors: dict[Digest, dict[str, Any]] = {}

    def record(self, name: str, subject: Digest, referrer: Digest) -> None:
        self.blobs.write_link(layout.referrer_link(name, subject, referrer), referrer)

    def drop(self, name: str, subject: Digest, referrer: Digest) -> None:
        with contextlib.suppress(PathNotFound):
            self.driver.delete(layout.referrer_link(name, subject, referrer))

    def find(self, name: str, subject: Digest, artifact_type: str | None) -> list[dict[str, Any]]:
        base = layout.referrers(name, subject)
        result = []
        for algorithm in self._children(base):
            for hex_part in sorted(self._children(f"{base}/{algorithm}")):
                try:
                    digest = Digest.parse(f"{algorithm}:{hex_part}")
                except InvalidDigest:
                    continue
                descriptor = self._descriptor(name, digest)
                if descriptor is None:
                    continue
                if artifact_type is None or descriptor.get("artifactType") == artifact_type:
                    result.append(descriptor)
        return result

    def _children(self, path: str) -> list[str]:
        try:
            return self.driver.list(path)
        except PathNotFound:
            return []

    def _descriptor(self, name: str, digest: Digest) -> dict[str, Any] | None:
        if not self.blobs.has_link(layout.revision_link(name, digest), digest):
            return None  # deleted since it was recorded
        cached = self._descriptors.get(digest)
        if cached is not None:
            return cached
        try:
            document = decode_manifest(self.blobs.read(digest))
        except (InvalidDocument, BlobNotFound):
            return None
        descriptor = referrer_descriptor(document, digest)
        if len(self._descriptors) > 10_000:
            self._descriptors.clear()
        self._descriptors[digest] = descriptor
        return descriptor


def referrers_index(manifests: list[dict[str, Any]]) -> bytes:
    return msgspec.json.encode(
        {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}
    )
