"""``system df``: space used by images, layers, containers and volumes."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.digest import Digest
from dockyard.engine.container_list import list_containers, row_item
from dockyard.store import containers as crecords
from dockyard.store import images as records
from dockyard.store import volumes as vrecords
from dockyard.store.store import Store
from dockyard.volumes.listing import VolumeSpace, volumes_space


@dataclass(frozen=True)
class ImageUsage:
    id: Digest
    names: list[str]
    created: str | None
    size: int
    shared_size: int  # bytes in layers other images also use
    unique_size: int
    containers: int


@dataclass(frozen=True)
class ContainerUsage:
    item: dict[str, Any]  # the ``ps --format`` fields
    running: bool
    size: int  # bytes in the container's writable layer (docker's SizeRw)
    local_volumes: int


@dataclass(frozen=True)
class DiskUsage:
    images: list[ImageUsage]
    layers_size: int  # every distinct layer once: what the disk really holds
    layers_count: int
    containers: list[ContainerUsage]
    volumes: int
    volumes_size: int
    volumes_active: int = 0  # used by at least one container
    volumes_reclaimable: int = 0  # bytes of the unused ones
    volume_rows: list[VolumeSpace] = field(default_factory=list)

    @property
    def images_reclaimable(self) -> int:
        """docker's figure: every layer's bytes but what in-use images hold alone.

        A layer an in-use image shares with others counts as reclaimable, as docker
        counts it (its ``SummarizeDiskUsage``), even though removing every unused
        image would not free it.
        """
        used = sum(i.size - i.shared_size for i in self.images if i.containers)
        return max(self.layers_size - used, 0)


def disk_usage(store: Store) -> DiskUsage:
    conn = store.conn
    all_images = records.all_images(conn)
    layers_of = {image.id: records.image_layers(conn, image.id) for image in all_images}
    users = Counter(layer.diff_id for layers in layers_of.values() for layer in set(layers))
    usages = []
    for image in all_images:
        distinct = {layer.diff_id for layer in layers_of[image.id]}
        shared = sum(store.layer_size(d) for d in distinct if users[d] > 1)
        unique = sum(store.layer_size(d) for d in distinct if users[d] == 1)
        names = [ref.familiar for ref in records.tags_of(conn, image.id)]
        users_of_image = len(crecords.containers_of_image(conn, image.id))
        usages.append(
            ImageUsage(image.id, names, image.created, image.size, shared, unique, users_of_image)
        )
    row = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM layers").fetchone()
    volumes = volumes_space(store)
    return DiskUsage(
        usages,
        int(row[1]),
        int(row[0]),
        _containers(store),
        len(volumes),
        sum(v.size for v in volumes),
        volumes_active=sum(1 for v in volumes if v.links),
        volumes_reclaimable=sum(v.size for v in volumes if not v.links),
        volume_rows=volumes,
    )


def _tree_size(top: Path) -> int:
    """Bytes of the regular files under ``top`` (not following symlinks)."""
    total = 0
    for folder, _, files in os.walk(top):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                continue  # the container changed it meanwhile
    return total


def _containers(store: Store) -> list[ContainerUsage]:
    found = []
    for row in list_containers(store, show_all=True):
        upper = store.layout.containers / row.record.id / "upper"
        volumes = [m for m in vrecords.container_mounts(store.conn, row.record.id) if m.volume]
        found.append(
            ContainerUsage(
                row_item(store, row, no_trunc=False),
                row.state.running,
                _tree_size(upper),
                len(volumes),
            )
        )
    return found
