"""``commit``: a container's writable layer becomes one new layer on top of its image.

The upper directory is packed as an OCI layer tar (whiteouts and opaque markers)
straight into the layer ingester through a pipe: one read of the changed files,
one write of the new layer, no temporary tar.  The new image shares every base
layer (the same rows and unpacked directories); its config is the base config
with the container's Config and the ``-c`` changes, plus a history entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from dockyard.digest import Digest
from dockyard.engine.pack_child import packed_by_child
from dockyard.errors import ImageNotFound
from dockyard.image import mediatypes as mt
from dockyard.layer.pack import write_upper_tar
from dockyard.layer.shared import SharedLayer
from dockyard.reference import parse_tagged
from dockyard.runtime.state import current_status, rfc3339_nano
from dockyard.store import containers as crecords
from dockyard.store import images as records
from dockyard.store.containers import ContainerRecord
from dockyard.store.ingest import (
    StagedLayer,
    TarNotKept,
    discard,
    ingest_layer,
    new_layer_dir,
)
from dockyard.store.staging import Staging
from dockyard.store.store import Store

if TYPE_CHECKING:
    from dockyard.image.config import ContainerConfig, History, ImageConfig

# msgspec, the image config model and the -c parser are imported after the packer is
# forked (``_NewImage``): their 20 ms then overlap its first files.

_T = TypeVar("_T")

# Container Config keys an image config keeps (docker's merge on commit).
_KEPT = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
         "Labels", "StopSignal", "OnBuild")  # fmt: skip


class _NewImage:
    """The parent's own work for the new image config, done while the packer starts."""

    def __init__(self, store: Store, record: ContainerRecord, changes: list[str]) -> None:
        from dockyard.engine.changes import apply_changes
        from dockyard.image.config import decode_config

        try:
            raw = records.get_image(store.conn, record.image_id).config
        except ImageNotFound:
            raise ImageNotFound(
                f"the image of container {record.short_id} was removed; it cannot be committed"
            ) from None
        self.base: ImageConfig = decode_config(raw).parsed
        self.config: ContainerConfig = apply_changes(_kept_config(record), changes)


def _kept_config(record: ContainerRecord) -> ContainerConfig:
    import msgspec

    from dockyard.image.config import ContainerConfig

    kept = {k: v for k, v in record.config.items() if k in _KEPT and v not in (None, {}, [])}
    return msgspec.convert(kept, ContainerConfig, from_attributes=False)


def _frozen(store: Store, record: ContainerRecord) -> contextlib.AbstractContextManager[None]:
    """``container_ops.frozen``, imported only for a container that runs: committing a
    stopped one (the walkthrough's) needs none of the runtime's modules."""
    if not current_status(store.layout.containers / record.id).running:
        return contextlib.nullcontext()
    from dockyard.engine.container_ops import frozen

    return frozen(store, record)


def _pack_upper(staging: Staging, upper: str, prepare: Callable[[], _T]) -> tuple[StagedLayer, _T]:
    """Stream ``write_upper_tar`` (in a child process) into ``ingest_layer``; the packer
    writes some of the small files into the new layer itself (``layer.shared``).
    ``prepare`` runs in the parent as soon as the packer is started."""
    upper_path = Path(upper)
    upper_path.mkdir(exist_ok=True)
    layer_path = new_layer_dir(staging)
    share = SharedLayer(layer_path / "diff")
    what = "the container's changes"
    try:
        with packed_by_child(lambda out: write_upper_tar(upper_path, out, share=share),
                             what) as stream:  # fmt: skip
            prepared = prepare()
            staged = ingest_layer(staging, stream, mt.DOCKER_LAYER, shared=share,
                                  plain_tar=True)  # fmt: skip
            return staged, prepared
    except TarNotKept:
        # A file named `.wh.X` next to `X` (the tar whites out a file it gave): rare
        # enough to pack again, keeping the tar this time.
        discard(layer_path)
    finally:
        share.close()
    with packed_by_child(lambda out: write_upper_tar(upper_path, out), what) as stream:
        return ingest_layer(staging, stream, mt.DOCKER_LAYER, plain_tar=True), prepared


# An empty tar as docker writes it (1024 zero bytes) and as tar pads it (10240).
_EMPTY_TARS = frozenset(Digest.of_bytes(bytes(size)) for size in (1024, 10240))


def _base_history(base: ImageConfig) -> list[History]:
    """The base image's history; one empty entry per layer if it has none."""
    from dockyard.image.config import History

    if base.history is not None:
        return list(base.history)
    return [History() for _ in base.rootfs.diff_ids]


def commit_container(
    store: Store,
    name: str,
    repository: str | None = None,
    *,
    message: str | None = None,
    author: str | None = None,
    changes: list[str] | None = None,
    pause: bool = True,
) -> Digest:
    """Commit the container's changes as a new image; returns the image ID."""
    record = crecords.resolve_container(store.conn, name)
    ref = parse_tagged(repository) if repository else None
    base_layers = crecords.container_layers(store.conn, record.id)
    upper = str(store.layout.containers / record.id / "upper")
    with store.staging() as staging:
        with _frozen(store, record) if pause else contextlib.nullcontext():
            staged, new = _pack_upper(
                staging, upper, lambda: _NewImage(store, record, changes or [])
            )
        import msgspec

        from dockyard.image.config import DOCKER_VERSION, History, RootFS

        base = new.base
        created = rfc3339_nano()
        # Nothing changed: like docker, a history entry but no layer.
        empty = staged.diff_id in _EMPTY_TARS
        entry = History(
            created=created,
            created_by=" ".join(record.config.get("Cmd") or []),
            author=author or None,
            comment=message or None,
            empty_layer=empty,
        )
        new_layers = [] if empty else [records.LayerRef(staged.diff_id, staged.blob_digest)]
        image = msgspec.structs.replace(
            base,
            created=created,
            author=author or None,
            comment=message or None,
            config=new.config,
            history=[*_base_history(base), entry],
            rootfs=RootFS(
                "layers", [*base.rootfs.diff_ids, *(str(layer.diff_id) for layer in new_layers)]
            ),
            docker_version=DOCKER_VERSION,
        )
        raw = msgspec.json.encode(image)
        with store.commit() as conn:
            if new_layers:
                store.install_layer(conn, staged)
            base_size = sum(store.layer_size(layer.diff_id) for layer in base_layers)
            image_id, _ = records.insert_image(
                conn,
                records.NewImage(
                    config=raw,
                    created=created,
                    layers=[*base_layers, *new_layers],
                    size=base_size + (staged.size if new_layers else 0),
                    parent=str(record.image_id),
                ),
            )
            if ref is not None:
                records.set_tag(conn, ref, image_id)
    return image_id
