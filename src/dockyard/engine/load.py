"""``load``: images from a docker-save archive or an OCI layout tar into the store."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.engine.source import seekable_tar
from dockyard.errors import DockyardError, InvalidArchive, InvalidDocument, InvalidReference
from dockyard.image.config import decode_config
from dockyard.reference import Reference, parse_reference
from dockyard.store import images as records
from dockyard.store.ingest import StagedLayer, ingest_layer
from dockyard.store.staging import Staging
from dockyard.store.store import Store
from dockyard.transports.archive_entries import ArchiveImage, read_entries
from dockyard.transports.tar_index import TarIndex

Report = Callable[[str], None]


@dataclass(frozen=True)
class _Prepared:
    entry: ArchiveImage
    config: bytes
    diff_ids: list[Digest]
    tags: list[Reference]


def load_archive(store: Store, path: str | None, report: Report) -> list[Digest]:
    """Load every image of the archive at ``path`` (stdin for None or ``-``).

    All layers are staged and verified before anything is installed: a bad archive
    leaves the store exactly as it was.
    """
    with store.staging() as staging:
        index = TarIndex(seekable_tar(path, staging))
        prepared = [_prepare(index, entry) for entry in read_entries(index)]
        if not prepared:
            raise InvalidArchive("invalid image archive: it holds no image")
        staged = _stage_layers(store, staging, index, prepared)
        return _install(store, prepared, staged, report)


def _prepare(index: TarIndex, entry: ArchiveImage) -> _Prepared:
    raw = index.read(entry.config_member)
    if entry.config_digest is not None:
        entry.config_digest.verify(raw, "image config")
    config = decode_config(raw)
    diff_ids = config.parsed.diff_ids()
    if len(diff_ids) != len(entry.layers):
        raise InvalidDocument(
            f"image config lists {len(diff_ids)} layers but the archive gives {len(entry.layers)}"
        )
    try:
        tags = [parse_reference(tag).with_default_tag() for tag in entry.repo_tags]
    except InvalidReference as exc:
        raise InvalidArchive(f"invalid tag in archive: {exc}") from exc
    return _Prepared(entry, raw, diff_ids, tags)


def _stage_layers(
    store: Store, staging: Staging, index: TarIndex, prepared: list[_Prepared]
) -> dict[Digest, StagedLayer]:
    staged: dict[Digest, StagedLayer] = {}
    for image in prepared:
        for layer, diff_id in zip(image.entry.layers, image.diff_ids, strict=True):
            if diff_id in staged or store.has_layer(diff_id):
                continue
            with index.open(layer.member) as stream:
                try:
                    staged[diff_id] = ingest_layer(
                        staging,
                        stream,
                        layer.media_type,
                        expected_blob=layer.digest,
                        expected_diff_id=diff_id,
                        reopen=functools.partial(index.open, layer.member),
                    )
                except DockyardError as exc:
                    exc.with_context(f"loading layer {layer.member}")
                    raise
    return staged


def _install(
    store: Store,
    prepared: list[_Prepared],
    staged: dict[Digest, StagedLayer],
    report: Report,
) -> list[Digest]:
    loaded: list[Digest] = []
    messages: list[str] = []
    with store.commit() as conn:
        for layer in staged.values():
            store.install_layer(conn, layer)
        for image in prepared:
            layer_refs = [_layer_ref(conn, d, staged) for d in image.diff_ids]
            new = records.NewImage(
                config=image.config,
                created=decode_config(image.config).parsed.created,
                layers=layer_refs,
                size=sum(store.layer_size(d) for d in image.diff_ids),
                manifests=(image.entry.manifest,) if image.entry.manifest else (),
            )
            image_id, _ = records.insert_image(conn, new)
            loaded.append(image_id)
            for tag in image.tags:
                previous = records.set_tag(conn, tag, image_id)
                if previous is not None:
                    messages.append(
                        f"The image {tag.familiar} already exists, renaming the old one "
                        f"with ID {previous} to empty string"
                    )
                messages.append(f"Loaded image: {tag.familiar}")
            if not image.tags:
                messages.append(f"Loaded image ID: {image_id}")
    for message in messages:
        report(message)
    return loaded


def _layer_ref(
    conn: sqlite3.Connection, diff_id: Digest, staged: dict[Digest, StagedLayer]
) -> records.LayerRef:
    if diff_id in staged:
        return records.LayerRef(diff_id, staged[diff_id].blob_digest)
    blobs = records.layer_blobs(conn, diff_id)
    if not blobs:
        raise InvalidArchive(f"layer {diff_id} vanished from the store while loading; retry")
    return records.LayerRef(diff_id, blobs[0].digest)
