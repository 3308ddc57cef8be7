"""``save``: images to an archive that both ``docker load`` and OCI tools read.

The layout is Docker 25's: an OCI image layout (oci-layout, index.json, blobs/) with
docker's manifest.json beside it. Layers are written uncompressed, as docker does.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import msgspec

from dockyard.digest import Digest
from dockyard.errors import DigestMismatch, DockyardError, InvalidReference
from dockyard.image import mediatypes as mt
from dockyard.image.manifest import Descriptor, ImageManifest, encode
from dockyard.reference import Reference, parse_reference
from dockyard.store import images as records
from dockyard.store.store import Store
from dockyard.store.streams import HashingReader, as_binary
from dockyard.transports.archive_entries import IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION
from dockyard.transports.tar_writer import TarWriter


@dataclass
class _SavedImage:
    image_id: Digest
    tags: list[Reference] = field(default_factory=list)


def _select(store: Store, names: list[str]) -> list[_SavedImage]:
    """Resolve the arguments; a name with a tag saves that tag, a bare name all its tags."""
    chosen: dict[Digest, _SavedImage] = {}
    for name in names:
        image_id = records.resolve_image(store.conn, name)
        entry = chosen.setdefault(image_id, _SavedImage(image_id))
        try:
            ref: Reference | None = parse_reference(name)
        except InvalidReference:
            ref = None
        if ref is None or ref.digest is not None:
            continue
        for tag in records.tags_of(store.conn, image_id):
            wanted = tag.name == ref.name and (ref.tag is None or ref.tag == tag.tag)
            if wanted and tag not in entry.tags:
                entry.tags.append(tag)
    return list(chosen.values())


def save_images(store: Store, names: list[str], output: str | None) -> None:
    """Write the archive to ``output``, atomically (temp file + rename), or to stdout."""
    images = _select(store, names)
    if output is None:
        if sys.stdout.isatty():
            raise DockyardError(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect"
            )
        _write_archive(store, images, sys.stdout.buffer)
        return
    target = Path(output)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            _write_archive(store, images, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        raise DockyardError(f"failed to save to {output}: {exc.strerror}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _write_archive(store: Store, images: list[_SavedImage], out: BinaryIO) -> None:
    writer = TarWriter(out)
    writer.add_dir("blobs")
    writer.add_dir("blobs/sha256")
    written: set[Digest] = set()
    docker_manifest: list[dict[str, object]] = []
    index_manifests: list[Descriptor] = []
    for image in images:
        record = records.get_image(store.conn, image.image_id)
        layers = records.image_layers(store.conn, image.image_id)
        layer_descriptors = []
        for layer in layers:
            size = store.layer_tar_size(layer.diff_id)
            if layer.diff_id not in written:
                _write_layer(store, writer, layer, size)
                written.add(layer.diff_id)
            layer_descriptors.append(Descriptor(mt.OCI_LAYER, str(layer.diff_id), size))
        if image.image_id not in written:
            writer.add_bytes(_blob_name(image.image_id), record.config)
            written.add(image.image_id)
        manifest = encode(
            ImageManifest(
                schema_version=2,
                media_type=mt.OCI_MANIFEST,
                config=Descriptor(mt.OCI_CONFIG, str(image.image_id), len(record.config)),
                layers=layer_descriptors,
            )
        )
        manifest_digest = Digest.of_bytes(manifest)
        if manifest_digest not in written:
            writer.add_bytes(_blob_name(manifest_digest), manifest)
            written.add(manifest_digest)
        tags: list[Reference | None] = [*image.tags] or [None]
        for tag in tags:
            annotations = None
            if tag is not None:
                annotations = {IMAGE_NAME_ANNOTATION: str(tag), REF_NAME_ANNOTATION: tag.tag or ""}
            index_manifests.append(
                Descriptor(
                    mt.OCI_MANIFEST, str(manifest_digest), len(manifest), annotations=annotations
                )
            )
        docker_manifest.append(
            {
                "Config": _blob_name(image.image_id),
                "RepoTags": [t.familiar for t in image.tags] or None,
                "Layers": [_blob_name(layer.diff_id) for layer in layers],
            }
        )
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": index_manifests}
    writer.add_bytes("index.json", msgspec.json.encode(index))
    writer.add_bytes("manifest.json", json.dumps(docker_manifest).encode())
    writer.add_bytes("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    writer.close()


def _blob_name(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _write_layer(store: Store, writer: TarWriter, layer: records.LayerRef, size: int) -> None:
    """The layer as an uncompressed tar, verified against its DiffID as it is written."""
    name = _blob_name(layer.diff_id)
    if store.blobs.exists(layer.diff_id):
        # The tar itself is stored and was verified when it came in: copy it kernel-side.
        writer.add_file(name, str(store.blobs.path(layer.diff_id)), size)
        return
    with store.open_layer_tar(layer.diff_id) as tar:
        hashing = HashingReader(tar)
        writer.add_stream(name, as_binary(hashing), size)
    if hashing.hasher.digest() != layer.diff_id:
        raise DigestMismatch(str(layer.diff_id), str(hashing.hasher.digest()), "stored layer")
