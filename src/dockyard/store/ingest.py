"""Turn a layer blob into a staged, unpacked layer directory (and the blob to keep).

One pass over the bytes: the blob is hashed while it is decompressed, hashed again
(the DiffID) and unpacked. A compressed blob is kept as it came (a push sends it
unchanged). An uncompressed one is not kept at all: a tar-split record lets the
exact tar be rebuilt from the unpacked files, as docker does, which halves the disk
writes of ``load`` and ``import``; only when the record cannot serve (an archive
that overwrites its own files) is the tar itself kept.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import DigestMismatch, DockyardError, StoreError
from dockyard.image import mediatypes as mt
from dockyard.layer.compression import detect_compression, open_decompressed
from dockyard.layer.shared import SharedLayer
from dockyard.layer.tarsplit import TarSplitRecorder
from dockyard.layer.unpack import UnpackStats, unpack_layer
from dockyard.store.blobs import fsync_file
from dockyard.store.staging import Staging
from dockyard.store.streams import HashingReader, PrefixedReader, as_binary
from dockyard.store.writeback import open_blob_for_writing

LAYER_META = "meta.json"
TAR_SPLIT = "tar-split.gz"
_HEAD = 8


class TarNotKept(StoreError):
    """A shared-writes ingest whose tar-split record cannot serve: pack it again, kept."""


@dataclass(frozen=True)
class StagedLayer:
    """A verified layer waiting in staging to be moved into the store."""

    diff_id: Digest
    size: int  # unpacked file bytes
    tar_size: int  # bytes of the uncompressed tar
    blob_digest: Digest
    blob_size: int
    media_type: str
    blob_path: Path | None  # None: the blob is the tar, rebuilt from the tar-split record
    layer_path: Path  # holds diff/, meta.json and maybe the tar-split record


def ingest_layer(
    staging: Staging,
    stream: BinaryIO,
    media_type: str,
    expected_blob: Digest | None = None,
    expected_diff_id: Digest | None = None,
    reopen: Callable[[], BinaryIO] | None = None,
    shared: SharedLayer | None = None,
    plain_tar: bool = False,
) -> StagedLayer:
    """Stage one layer from its blob stream, verifying the digests it is announced with.

    ``reopen`` gives the same bytes again (a file, an archive member): then an
    uncompressed tar is not copied aside while unpacking, only re-read in the rare
    case that its tar-split record cannot serve. With ``shared``, the tar's packer
    shares the writes of the layer (``layer.shared``), whose ``diff`` is in a
    directory from ``new_layer_dir``; otherwise a new one is made. Such a tar is
    commit's own and no copy of it is kept: ``TarNotKept`` if its record cannot
    serve. ``plain_tar``: the stream is known to be an uncompressed tar (commit's,
    whatever its first name looks like: ``BZh9/`` is no bzip2 stream).
    """
    head = _read_head(stream)
    source = as_binary(PrefixedReader(head, stream))
    uncompressed = plain_tar or detect_compression(head) == "none"
    blob_path = staging.new_path("blob-")
    layer_path = shared.diff.parent if shared is not None else new_layer_dir(staging)
    with ExitStack() as stack:
        # Early writeback only for a blob that stays: an uncompressed one is usually
        # dropped for its tar-split record, best before it ever reaches the disk.
        sink = (None if uncompressed and (reopen or shared)
                else stack.enter_context(open_blob_for_writing(blob_path, early=not uncompressed)))
        blob = HashingReader(source, sink=sink)
        stack.callback(blob.close)
        recorder = TarSplitRecorder(layer_path / TAR_SPLIT) if uncompressed else None
        if recorder is not None:
            stack.callback(recorder.close)
        decoded = None if uncompressed else open_decompressed(as_binary(blob))
        if decoded is not None:
            stack.callback(decoded.close)  # joins its reader thread
        tar = blob if decoded is None else HashingReader(decoded)
        stack.callback(tar.close)
        try:
            stats = unpack_layer(
                as_binary(tar), layer_path / "diff", recorder, shared=shared
            )
            tar.drain()
        except DockyardError as exc:
            if decoded is not None:
                decoded.close()  # its reader thread must stop reading the blob first
            # Wrong bytes from a registry usually fail as a bad tar first; the digest
            # names the real fault.
            if expected_blob is not None and (wrong := _blob_mismatch(blob, expected_blob)):
                raise wrong from exc
            raise
        blob.drain()
        rebuildable = recorder is not None and recorder.finish()
    blob_digest = blob.hasher.digest()
    if expected_blob is not None and blob_digest != expected_blob:
        raise DigestMismatch(str(expected_blob), str(blob_digest), "layer blob")
    kept: Path | None = blob_path
    if rebuildable:
        blob_path.unlink(missing_ok=True)  # deleted while still in the page cache
        kept = None
    elif sink is None and reopen is not None:
        _copy_verified(reopen, blob_path, blob_digest)
    elif sink is None:
        raise TarNotKept("a later entry replaced a file of the layer: its tar was not kept")
    return _finish(
        layer_path,
        stats,
        tar.hasher.digest(),
        tar.hasher.size,
        blob_digest,
        blob.hasher.size,
        media_type,
        kept,
        expected_diff_id,
    )


def _blob_mismatch(blob: HashingReader, expected: Digest) -> DigestMismatch | None:
    """After a failed unpack: read the rest of the blob; the mismatch if it is not ``expected``."""
    blob.stop_copying()  # the blob is not kept: no point writing the rest of it
    try:
        blob.drain()
    except (DockyardError, OSError):
        return None  # the stream itself failed: that error stands
    actual = blob.hasher.digest()
    return None if actual == expected else DigestMismatch(str(expected), str(actual), "layer blob")


def _copy_verified(reopen: Callable[[], BinaryIO], target: Path, digest: Digest) -> None:
    """Copy the source again into ``target``; it must still be the bytes just unpacked."""
    with reopen() as again, open(target, "wb") as out:
        copy = HashingReader(again, sink=out)
        copy.drain()
    if copy.hasher.digest() != digest:
        raise DigestMismatch(str(digest), str(copy.hasher.digest()), "layer (re-read)")


def ingest_blob_file(
    staging: Staging,
    blob_path: Path,
    blob_digest: Digest,
    media_type: str,
    expected_diff_id: Digest | None = None,
) -> StagedLayer:
    """Stage a layer from a complete blob file already in staging (e.g. just downloaded).

    The caller verified ``blob_digest`` while writing the file; the file becomes the blob.
    """
    layer_path = new_layer_dir(staging)
    with ExitStack() as stack:
        blob = stack.enter_context(open(blob_path, "rb"))
        tar = HashingReader(open_decompressed(blob))
        stats = unpack_layer(as_binary(tar), layer_path / "diff")
        tar.drain()
    return _finish(
        layer_path,
        stats,
        tar.hasher.digest(),
        tar.hasher.size,
        blob_digest,
        blob_path.stat().st_size,
        media_type,
        blob_path,
        expected_diff_id,
    )


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < _HEAD and (chunk := stream.read(_HEAD - len(head))):
        head += chunk
    return head


def new_layer_dir(staging: Staging) -> Path:
    """A staged layer directory with an empty ``diff/``."""
    layer_path = staging.new_path("layer-")
    (layer_path / "diff").mkdir(parents=True)
    return layer_path


def _finish(
    layer_path: Path,
    stats: UnpackStats,
    diff_id: Digest,
    tar_size: int,
    blob_digest: Digest,
    blob_size: int,
    media_type: str,
    blob_path: Path | None,
    expected_diff_id: Digest | None,
) -> StagedLayer:
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise DigestMismatch(str(expected_diff_id), str(diff_id), "layer diff_id")
    if blob_path is not None:
        media_type = _actual_media_type(blob_path, media_type)
        fsync_file(blob_path)
    else:
        media_type = mt.layer_media_type(mt.OCI_MANIFEST, "none")
    meta = {"diff_id": str(diff_id), "size": stats.size, "tar_size": tar_size}
    (layer_path / LAYER_META).write_text(json.dumps(meta))
    return StagedLayer(
        diff_id, stats.size, tar_size, blob_digest, blob_size, media_type, blob_path, layer_path
    )


def _actual_media_type(blob_path: Path, announced: str) -> str:
    """The announced media type if the blob's compression agrees, else the OCI one that does.

    Docker archives call every layer a plain tar even when it is gzipped.
    """
    with open(blob_path, "rb") as blob:
        compression = detect_compression(blob.read(_HEAD))
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
