"""Turn a layer blob stream into a staged blob file and a staged, unpacked layer directory.

One pass over the bytes: the compressed stream is hashed and copied to the blob file
while it is decompressed, hashed again (the DiffID) and unpacked.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import DigestMismatch
from dockyard.image import mediatypes as mt
from dockyard.layer.compression import detect_compression, open_decompressed
from dockyard.layer.unpack import unpack_layer
from dockyard.store.blobs import fsync_file
from dockyard.store.staging import Staging
from dockyard.store.streams import HashingReader, as_binary

LAYER_META = "meta.json"


@dataclass(frozen=True)
class StagedLayer:
    """A verified layer waiting in staging to be moved into the store."""

    diff_id: Digest
    size: int  # unpacked file bytes
    tar_size: int  # bytes of the uncompressed tar
    blob_digest: Digest
    blob_size: int
    media_type: str
    blob_path: Path
    layer_path: Path  # holds diff/ and meta.json


def ingest_layer(
    staging: Staging,
    stream: BinaryIO,
    media_type: str,
    expected_blob: Digest | None = None,
    expected_diff_id: Digest | None = None,
) -> StagedLayer:
    """Stage one layer from its blob stream, verifying the digests it is announced with."""
    blob_path = staging.new_path("blob-")
    layer_path = staging.new_path("layer-")
    (layer_path / "diff").mkdir(parents=True)
    with open(blob_path, "wb") as blob_file:
        compressed = HashingReader(stream, sink=blob_file)
        if expected_blob is not None and expected_blob.algorithm != "sha256":
            compressed.hasher = type(compressed.hasher)(expected_blob.algorithm)
        uncompressed = HashingReader(open_decompressed(as_binary(compressed)))
        stats = unpack_layer(as_binary(uncompressed), layer_path / "diff")
        uncompressed.drain()
        compressed.drain()
    blob_digest = compressed.hasher.digest()
    diff_id = uncompressed.hasher.digest()
    if expected_blob is not None and blob_digest != expected_blob:
        raise DigestMismatch(str(expected_blob), str(blob_digest), "layer blob")
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise DigestMismatch(str(expected_diff_id), str(diff_id), "layer diff_id")
    media_type = _actual_media_type(blob_path, media_type)
    fsync_file(blob_path)
    meta = {"diff_id": str(diff_id), "size": stats.size, "tar_size": uncompressed.hasher.size}
    (layer_path / LAYER_META).write_text(json.dumps(meta))
    return StagedLayer(
        diff_id=diff_id,
        size=stats.size,
        tar_size=uncompressed.hasher.size,
        blob_digest=blob_digest,
        blob_size=compressed.hasher.size,
        media_type=media_type,
        blob_path=blob_path,
        layer_path=layer_path,
    )


def ingest_blob_file(
    staging: Staging,
    blob_path: Path,
    blob_digest: Digest,
    media_type: str,
    expected_diff_id: Digest | None = None,
) -> StagedLayer:
    """Stage a layer from a complete blob file already in staging (e.g. just downloaded).

    The caller has verified ``blob_digest`` while writing the file; here it is
    decompressed, its DiffID computed and it is unpacked. The file becomes the blob.
    """
    layer_path = staging.new_path("layer-")
    (layer_path / "diff").mkdir(parents=True)
    with open(blob_path, "rb") as blob:
        uncompressed = HashingReader(open_decompressed(blob))
        stats = unpack_layer(as_binary(uncompressed), layer_path / "diff")
        uncompressed.drain()
    diff_id = uncompressed.hasher.digest()
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise DigestMismatch(str(expected_diff_id), str(diff_id), "layer diff_id")
    media_type = _actual_media_type(blob_path, media_type)
    fsync_file(blob_path)
    meta = {"diff_id": str(diff_id), "size": stats.size, "tar_size": uncompressed.hasher.size}
    (layer_path / LAYER_META).write_text(json.dumps(meta))
    return StagedLayer(
        diff_id=diff_id,
        size=stats.size,
        tar_size=uncompressed.hasher.size,
        blob_digest=blob_digest,
        blob_size=blob_path.stat().st_size,
        media_type=media_type,
        blob_path=blob_path,
        layer_path=layer_path,
    )


def _actual_media_type(blob_path: Path, announced: str) -> str:
    """The announced media type if the blob's compression agrees, else the OCI one that does.

    Docker archives call every layer a plain tar even when it is gzipped.
    """
    with open(blob_path, "rb") as blob:
        head = blob.read(8)
    compression = detect_compression(head)
    if mt.layer_compression(announced) == compression:
        return announced
    return mt.layer_media_type(mt.OCI_MANIFEST, compression)


def read_layer_meta(layer_path: Path) -> tuple[Digest, int] | None:
    """The (diff_id, size) a complete layer directory records, or None if it has none."""
    try:
        meta = json.loads((layer_path / LAYER_META).read_text())
        return Digest.parse(meta["diff_id"]), int(meta["size"])
    except (OSError, ValueError, KeyError):
        return None


def discard(path: Path) -> None:
    """Remove a staged file or directory tree."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
