"""Manifests dockyard writes for a push, serialised byte for byte as docker does."""

from __future__ import annotations

import json
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.image import mediatypes as mt


@dataclass(frozen=True)
class BlobRef:
    digest: Digest
    size: int
    media_type: str


def image_manifest(config: bytes, layers: list[BlobRef]) -> tuple[bytes, str]:
    """A Docker schema-2 manifest (an OCI one if a layer is zstd, which schema 2 lacks).

    Docker marshals with Go's ``json.MarshalIndent(m, "", "   ")``: three-space
    indent, fields in struct order (mediaType, size, digest), no trailing newline.
    """
    zstd = any(mt.layer_compression(layer.media_type) == "zstd" for layer in layers)
    if zstd:
        kind, config_type = mt.OCI_MANIFEST, mt.OCI_CONFIG
    else:
        kind, config_type = mt.DOCKER_MANIFEST, mt.DOCKER_CONFIG

    def layer_type(layer: BlobRef) -> str:
        return mt.layer_media_type(kind, mt.layer_compression(layer.media_type))

    document = {
        "schemaVersion": 2,
        "mediaType": kind,
        "config": _descriptor(config_type, len(config), Digest.of_bytes(config)),
        "layers": [_descriptor(layer_type(b), b.size, b.digest) for b in layers],
    }
    return json.dumps(document, indent=3).encode(), kind


def _descriptor(media_type: str, size: int, digest: Digest) -> dict[str, object]:
    return {"mediaType": media_type, "size": size, "digest": str(digest)}
