"""Manifests, indexes and descriptors, decoded with strict validation.

Documents are always kept with their raw bytes: a digest is over what was received,
never over a re-serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from dockyard.digest import Digest
from dockyard.errors import InvalidDigest, InvalidDocument, UnsupportedMediaType
from dockyard.image import mediatypes as mt


class Platform(
    msgspec.Struct,
    omit_defaults=True,
    rename={"os_version": "os.version", "os_features": "os.features"},
):
    architecture: str
    os: str
    os_version: str | None = None
    os_features: list[str] | None = None
    variant: str | None = None
    features: list[str] | None = None

    def matches(self, os: str, architecture: str, variant: str | None = None) -> bool:
        if self.os != os or self.architecture != architecture:
            return False
        return variant is None or self.variant in (None, variant)


class Descriptor(msgspec.Struct, omit_defaults=True, rename="camel"):
    media_type: str
    digest: str
    size: int
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    platform: Platform | None = None
    artifact_type: str | None = None
    data: str | None = None

    def __post_init__(self) -> None:
        try:
            Digest.parse(self.digest)
        except InvalidDigest as exc:
            raise msgspec.ValidationError(str(exc)) from exc
        if self.size < 0:
            raise msgspec.ValidationError(f"negative size for {self.digest}")

    @property
    def parsed_digest(self) -> Digest:
        return Digest.parse(self.digest)


class ImageManifest(msgspec.Struct, omit_defaults=True, rename="camel"):
    schema_version: int
    config: Descriptor
    layers: list[Descriptor]
    media_type: str | None = None
    artifact_type: str | None = None
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None


class ImageIndex(msgspec.Struct, omit_defaults=True, rename="camel"):
    schema_version: int
    manifests: list[Descriptor]
    media_type: str | None = None
    artifact_type: str | None = None
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None


class _Probe(msgspec.Struct):
    schemaVersion: int | None = None
    mediaType: str | None = None
    # Raw fields only tell whether a key is present; empty means absent.
    manifests: msgspec.Raw = msgspec.Raw(b"")
    layers: msgspec.Raw = msgspec.Raw(b"")
    fsLayers: msgspec.Raw = msgspec.Raw(b"")


@dataclass(frozen=True)
class Document:
    """A decoded manifest or index together with the exact bytes it came from."""

    raw: bytes
    media_type: str
    parsed: ImageManifest | ImageIndex

    @property
    def digest(self) -> Digest:
        return Digest.of_bytes(self.raw)

    @property
    def is_index(self) -> bool:
        return isinstance(self.parsed, ImageIndex)

    @property
    def manifest(self) -> ImageManifest:
        if not isinstance(self.parsed, ImageManifest):
            raise InvalidDocument("expected an image manifest, got an index")
        return self.parsed

    @property
    def index(self) -> ImageIndex:
        if not isinstance(self.parsed, ImageIndex):
            raise InvalidDocument("expected an index, got an image manifest")
        return self.parsed

    def references(self) -> list[Descriptor]:
        """Every descriptor this document points at (config, layers, children, subject)."""
        if isinstance(self.parsed, ImageManifest):
            refs = [self.parsed.config, *self.parsed.layers]
        else:
            refs = list(self.parsed.manifests)
        if self.parsed.subject is not None:
            refs.append(self.parsed.subject)
        return refs


def _detect_media_type(probe: _Probe, content_type: str | None) -> str:
    declared = probe.mediaType
    if content_type:
        content_type = content_type.split(";")[0].strip()
    if declared in mt.SCHEMA1 or content_type in mt.SCHEMA1 or len(probe.fsLayers) > 0:
        raise UnsupportedMediaType(
            "schema 1 manifests are not supported: this image uses the deprecated "
            "Docker Image Format v1 (application/vnd.docker.distribution.manifest.v1+json)"
        )
    if declared:
        if content_type and content_type in mt.MANIFESTS and content_type != declared:
            raise InvalidDocument(
                f"manifest mediaType {declared} does not match Content-Type {content_type}"
            )
        return declared
    if content_type and content_type in mt.MANIFESTS:
        return content_type
    if len(probe.manifests) > 0:
        return mt.OCI_INDEX
    if len(probe.layers) > 0:
        return mt.OCI_MANIFEST
    raise InvalidDocument("cannot tell the manifest's media type: no mediaType field")


def decode_manifest(raw: bytes, content_type: str | None = None) -> Document:
    """Decode an OCI / Docker schema-2 manifest or index; refuse anything malformed."""
    try:
        probe = msgspec.json.decode(raw, type=_Probe)
    except msgspec.DecodeError as exc:
        raise InvalidDocument(f"malformed manifest: {exc}") from exc
    media_type = _detect_media_type(probe, content_type)
    if media_type not in mt.MANIFESTS:
        raise UnsupportedMediaType(f"unsupported manifest media type: {media_type}")
    kind: type[ImageManifest] | type[ImageIndex] = (
        ImageIndex if media_type in mt.INDEXES else ImageManifest
    )
    try:
        parsed = msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError as exc:
        raise InvalidDocument(f"malformed manifest: {exc}") from exc
    if parsed.schema_version != 2:
        raise InvalidDocument(f"unsupported schemaVersion {parsed.schema_version}, expected 2")
    if isinstance(parsed, ImageIndex) and len(probe.layers) > 0:
        raise InvalidDocument("an index must not have layers")
    if isinstance(parsed, ImageManifest) and len(probe.manifests) > 0:
        raise InvalidDocument("an image manifest must not have manifests")
    return Document(raw, media_type, parsed)


def encode(document: ImageManifest | ImageIndex) -> bytes:
    """Serialise a document we created ourselves (never used to re-hash received bytes)."""
    return msgspec.json.encode(document)
