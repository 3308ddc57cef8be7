"""A container's mount points: as runtime mounts (worked out at each start), as inspect shows them.

Bind sources are resolved here, once, on the host (``realpath``) and the runtime is
given the resolved path: what is mounted is what was checked.  Destinations are
left to the runtime, which resolves them inside the container's root (runc's
securejoin), so a symlink in the image cannot send a mount onto the host.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.runtime.mounts import Mount
from dockyard.store import volumes as vrecords
from dockyard.store.lite import StoreView
from dockyard.store.locks import file_lock
from dockyard.store.volumes import MountRow
from dockyard.volumes import local
from dockyard.volumes.model import MountPoint, sort_by_depth
from dockyard.volumes.parse import MountConfigError
from dockyard.volumes.plan import make_bind_source

_TMPFS_OPTIONS = ["noexec", "nosuid", "nodev", "rprivate"]  # docker's tmpfs defaults


def mount_points(store: StoreView, container_id: str) -> list[MountPoint]:
    rows = vrecords.container_mounts(store.conn, container_id)
    return [MountPoint.from_json(row.mount) for row in rows]


def _bind_source(point: MountPoint) -> str:
    if not os.path.lexists(point.source) and point.create_source:
        make_bind_source(point.source)  # docker re-creates a -v directory at each start
    resolved = os.path.realpath(point.source)
    if not os.path.exists(resolved):
        raise MountConfigError("bind", f"bind source path does not exist: {point.source}")
    return resolved


def runtime_mount(store: StoreView, point: MountPoint) -> Mount:
    read_only = [] if point.rw else ["ro"]
    if point.type == "tmpfs":
        options = list(_TMPFS_OPTIONS)
        if point.tmpfs_size:
            options.append(f"size={point.tmpfs_size}")
        if point.tmpfs_mode:
            options.append(f"mode={point.tmpfs_mode:o}")
        return Mount(point.destination, "tmpfs", "tmpfs", options + read_only)
    if point.type == "volume":
        data = local.mountpoint(store, point.name)
        if not data.is_dir():
            raise ConfigError(f"volume {point.name}: its directory {data} is missing")
        return Mount(point.destination, str(data), "bind", ["rbind", "rprivate", *read_only])
    propagation = point.propagation or "rprivate"
    return Mount(point.destination, _bind_source(point), "bind", ["rbind", propagation, *read_only])


def fill_volumes(store: StoreView, container_id: str, rootfs: Path) -> list[MountPoint]:
    """Copy-up, once: into each empty volume still marked ``copy_data``, then unmark it.

    ``create`` does it, as docker does (``engine.containers``); a start does what is
    still marked (containers made before create did it).
    """
    rows = vrecords.container_mounts(store.conn, container_id)
    points = [MountPoint.from_json(row.mount) for row in rows]
    pending = [p for p in points if p.type == "volume" and p.copy_data]
    if not pending:
        return points
    from dockyard.volumes.copyup import copy_up

    for point in pending:  # the lock: two containers starting on one empty volume
        with file_lock(store.layout.locks / f"volume-{point.name}.lock"):
            copy_up(rootfs, point.destination, local.mountpoint(store, point.name))
    with store.commit() as conn:
        for point in pending:
            done = replace(point, copy_data=False)
            vrecords.update_mount(
                conn, container_id, MountRow(done.destination, done.name, done.to_json())
            )
    return [replace(p, copy_data=False) if p in pending else p for p in points]


def runtime_mounts(store: StoreView, container_id: str, rootfs: Path) -> list[Mount]:
    """The spec mounts of the container's mount points, parents before children."""
    points = sort_by_depth(fill_volumes(store, container_id, rootfs))
    return [runtime_mount(store, point) for point in points]


def inspect_mounts(store: StoreView, container_id: str) -> list[dict[str, Any]]:
    """Container inspect's ``Mounts``."""
    volumes_root = store.layout.volumes
    return [p.inspect_view(volumes_root) for p in mount_points(store, container_id)]
