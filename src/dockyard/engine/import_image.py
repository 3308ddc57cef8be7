"""``import``: a root filesystem tarball becomes a one-layer image."""

from __future__ import annotations

import functools
import sys

from dockyard.digest import Digest
from dockyard.engine.changes import apply_changes
from dockyard.engine.source import open_input
from dockyard.image import mediatypes as mt
from dockyard.image.config import (
    DOCKER_VERSION,
    ContainerConfig,
    History,
    ImageConfig,
    RootFS,
    encode_config,
)
from dockyard.reference import parse_tagged
from dockyard.runtime.state import rfc3339_nano
from dockyard.store import images as records
from dockyard.store.ingest import ingest_layer
from dockyard.store.store import Store
from dockyard.transports.archive_entries import host_platform_pair


def import_image(
    store: Store,
    source: str,
    repository: str | None = None,
    changes: list[str] | None = None,
    message: str | None = None,
) -> Digest:
    """Import ``source`` (a path, or ``-`` for stdin; tar, tar.gz or tar.zst)."""
    ref = parse_tagged(repository) if repository else None
    container_config = apply_changes(ContainerConfig(), changes or [])
    comment = message or f"Imported from {source}"
    with store.staging() as staging:
        stream = open_input(source)
        try:
            reopen = None if stream is sys.stdin.buffer else functools.partial(open_input, source)
            staged = ingest_layer(staging, stream, mt.DOCKER_LAYER, reopen=reopen)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        created = rfc3339_nano()
        os_name, arch = host_platform_pair()
        config = ImageConfig(
            architecture=arch,
            os=os_name,
            rootfs=RootFS(type="layers", diff_ids=[str(staged.diff_id)]),
            created=created,
            config=container_config,
            history=[History(created=created, comment=comment)],
            comment=comment,
            docker_version=DOCKER_VERSION,
        )
        raw = encode_config(config)
        with store.commit() as conn:
            store.install_layer(conn, staged)
            image_id, _ = records.insert_image(
                conn,
                records.NewImage(
                    config=raw,
                    created=created,
                    layers=[records.LayerRef(staged.diff_id, staged.blob_digest)],
                    size=staged.size,
                ),
            )
            if ref is not None:
                records.set_tag(conn, ref, image_id)
    return image_id
