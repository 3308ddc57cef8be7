"""What ``create`` decides about a container's mounts, before anything is written.

``plan_mounts`` validates every ``-v``, ``--mount`` and ``--volumes-from`` (bad input
fails here, while nothing exists yet), resolves ``--volumes-from`` against the
parent's recorded mount points (so chains work: u3 from u2 from u1), and names
the anonymous volumes.  ``MountPlan.record`` then writes the rows inside the
container's own transaction, and ``make_sources`` / ``make_volume_dirs`` make the
directories just before it.

Precedence, as docker's registerMountPoints: ``--volumes-from`` first, then ``-v``
and ``--mount`` (which replace an inherited destination, but clash with each
other), then anonymous volumes (``-v /dir`` and the image's ``Volumes``) where
nothing else is mounted yet.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.store import volumes as vrecords
from dockyard.store.containers import resolve_container
from dockyard.store.lite import StoreView
from dockyard.store.volumes import MountRow, VolumeRecord
from dockyard.volumes import local
from dockyard.volumes.model import MountPoint, check_volume_name
from dockyard.volumes.parse import (
    clean_path,
    mount_point,
    parse_volume_flag,
    parse_volumes_from,
    validate_mount,
)


@dataclass
class MountPlan:
    points: list[MountPoint] = field(default_factory=list)
    volumes: list[VolumeRecord] = field(default_factory=list)  # every volume mounted
    binds: list[str] = field(default_factory=list)  # HostConfig.Binds: -v with a source
    anonymous: list[str] = field(default_factory=list)  # Config.Volumes: -v /dir

    def needs_copy_up(self) -> bool:
        """Whether a volume may take the image's content at its destination."""
        return any(p.type == "volume" and p.copy_data for p in self.points)

    def make_sources(self) -> None:
        """Create the missing host directories of ``-v`` binds (docker creates them)."""
        for point in self.points:
            if point.type == "bind" and point.create_source:
                make_bind_source(point.source)

    @contextlib.contextmanager
    def volumes_ready(self, store: StoreView) -> Iterator[None]:
        """Hold the volumes lock with every volume's directory in place, for the container's
        transaction (``record``); the directories made here go again if it fails."""
        made: list[str] = []
        with local.volumes_lock(store):
            for name in dict.fromkeys(p.name for p in self.points if p.type == "volume"):
                if local.ensure_directory(store, name):
                    made.append(name)
            try:
                yield
            except BaseException:
                for name in made:
                    if vrecords.find_volume(store.conn, name) is None:
                        local.discard_directory(store, name)
                raise

    def record(self, conn: sqlite3.Connection, container_id: str) -> None:
        """Volume rows (unless they exist: a volume pruned since the plan is made again),
        then mount rows."""
        for volume in self.volumes:
            vrecords.insert_volume(conn, volume)
        rows = [
            MountRow(p.destination, p.name if p.type == "volume" else None, p.to_json())
            for p in self.points
        ]
        vrecords.insert_mounts(conn, container_id, rows)


def make_bind_source(source: str) -> None:
    """Create a missing ``-v`` source directory, as docker does; an existing file or
    directory (through symlinks) is used as it is."""
    if os.path.exists(source):
        return
    try:
        Path(source).mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:
        reason = "file exists" if isinstance(exc, FileExistsError) else exc.strerror
        raise ConfigError(
            f"error while creating mount source path '{source}': mkdir {source}: {reason}"
        ) from exc


def _inherited(store: StoreView, specs: Sequence[str]) -> dict[str, MountPoint]:
    """The mount points of every ``--volumes-from`` container, by destination."""
    points: dict[str, MountPoint] = {}
    for spec in specs:
        name, read_only = parse_volumes_from(spec)
        parent = resolve_container(store.conn, name)
        for row in vrecords.container_mounts(store.conn, parent.id):
            point = MountPoint.from_json(row.mount).inherited(read_only)
            points[point.destination] = point
    return points


def _add(explicit: dict[str, MountPoint], point: MountPoint) -> None:
    if point.destination in explicit:
        raise ConfigError(f"Duplicate mount point: {point.destination}")
    explicit[point.destination] = point


def _explicit(
    plan: MountPlan, binds: Sequence[str], mounts: Sequence[dict[str, Any]]
) -> dict[str, MountPoint]:
    explicit: dict[str, MountPoint] = {}
    for raw in dict.fromkeys(binds):  # docker's client keeps -v in a set
        point = parse_volume_flag(raw)
        if point.type == "volume" and not point.name:
            plan.anonymous.append(point.destination)
            continue
        plan.binds.append(raw)
        _add(explicit, point)
    for mount in mounts:
        validate_mount(mount, bind_source_must_exist=True)
        _add(explicit, mount_point(mount))
    return explicit


def plan_mounts(
    store: StoreView,
    binds: Sequence[str],
    mounts: Sequence[dict[str, Any]],
    volumes_from: Sequence[str],
    image_volumes: dict[str, Any] | None,
) -> MountPlan:
    """Validate and resolve the mount flags; ConfigError / ContainerNotFound on bad input."""
    plan = MountPlan()
    explicit = _explicit(plan, binds, mounts)
    points = {**_inherited(store, volumes_from), **explicit}
    for wanted in [*(image_volumes or {}), *plan.anonymous]:
        destination = clean_path(wanted)
        if destination not in points:
            points[destination] = MountPoint("volume", destination, copy_data=True)
    labels = {clean_path(m["Target"]): _volume_labels(m) for m in mounts}
    for destination, point in points.items():
        if point.type == "volume":
            points[destination] = _with_volume(store, plan, point, labels.get(destination))
    plan.points = list(points.values())
    return plan


def _volume_labels(mount: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    options = mount.get("VolumeOptions") or {}
    driver = options.get("DriverConfig") or {}
    return dict(options.get("Labels") or {}), dict(driver.get("Options") or {})


def _with_volume(
    store: StoreView,
    plan: MountPlan,
    point: MountPoint,
    extra: tuple[dict[str, str], dict[str, str]] | None,
) -> MountPoint:
    """Name an anonymous volume; note its record (a new one if it does not exist yet)."""
    named = bool(point.name)
    name = check_volume_name(point.name) if named else local.random_volume_name()
    if all(v.name != name for v in plan.volumes):
        labels, options = extra or ({}, {})
        new = VolumeRecord(name, local.created_now(), labels, options, anonymous=not named)
        plan.volumes.append(vrecords.find_volume(store.conn, name) or new)
    return replace(point, name=name, anonymous=not named)
