"""``system df``: space used by images, layers, containers and volumes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dockyard.digest import Digest
from dockyard.store import images as records
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
class DiskUsage:
    images: list[ImageUsage]
    layers_size: int  # every distinct layer once: what the disk really holds
    layers_count: int
    containers: int
    containers_size: int
    volumes: int
    volumes_size: int
    volumes_active: int = 0  # used by at least one container
    volumes_reclaimable: int = 0  # bytes of the unused ones
    volume_rows: list[VolumeSpace] = field(default_factory=list)


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
        usages.append(ImageUsage(image.id, names, image.created, image.size, shared, unique, 0))
    row = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM layers").fetchone()
    volumes = volumes_space(store)
    return DiskUsage(
        usages,
        int(row[1]),
        int(row[0]),
        0,
        0,
        len(volumes),
        sum(v.size for v in volumes),
        volumes_active=sum(1 for v in volumes if v.links),
        volumes_reclaimable=sum(v.size for v in volumes if not v.links),
        volume_rows=volumes,
    )
