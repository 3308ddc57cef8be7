"""Volume records and containers' mount points in the metadata database.

``volumes`` holds one row per local volume (its data is ``<root>/volumes/<name>/_data``);
``container_mounts`` one row per mount point of a container.  A mount point of a
volume references its row, so a volume in use cannot lose its row (the foreign key
backs up the "volume is in use" check), and a container's rows go with it
(ON DELETE CASCADE).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import VolumeNotFound

_COLUMNS = "name, driver, created, labels, options, anonymous"


@dataclass(frozen=True)
class VolumeRecord:
    name: str
    created: str  # RFC 3339, as docker's CreatedAt
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    driver: str = "local"


def _record(row: tuple[str, str, str, str, str, int]) -> VolumeRecord:
    name, driver, created, labels, options, anonymous = row
    return VolumeRecord(
        name=name,
        created=created,
        labels=json.loads(labels),
        options=json.loads(options),
        anonymous=bool(anonymous),
        driver=driver,
    )


def insert_volume(conn: sqlite3.Connection, record: VolumeRecord) -> bool:
    """Record a volume unless one of that name exists; True if this call added it."""
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO volumes ({_COLUMNS}) VALUES (?,?,?,?,?,?)",
        (
            record.name,
            record.driver,
            record.created,
            json.dumps(record.labels),
            json.dumps(record.options),
            int(record.anonymous),
        ),
    )
    return cursor.rowcount == 1


def find_volume(conn: sqlite3.Connection, name: str) -> VolumeRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM volumes WHERE name=?", (name,)).fetchone()
    return _record(row) if row else None


def get_volume(conn: sqlite3.Connection, name: str) -> VolumeRecord:
    found = find_volume(conn, name)
    if found is None:
        raise VolumeNotFound(f"get {name}: no such volume")
    return found


def all_volumes(conn: sqlite3.Connection) -> list[VolumeRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM volumes ORDER BY name").fetchall()
    return [_record(r) for r in rows]


def delete_volume(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM volumes WHERE name=?", (name,))


def volume_users(conn: sqlite3.Connection, name: str) -> list[str]:
    """IDs of the containers that mount the volume (running or not), oldest first."""
    rows = conn.execute(
        "SELECT DISTINCT m.container_id FROM container_mounts m "
        "JOIN containers c ON c.id = m.container_id WHERE m.volume=? ORDER BY c.created",
        (name,),
    ).fetchall()
    return [r[0] for r in rows]


def link_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Volume name -> number of containers using it (only volumes in use appear)."""
    rows = conn.execute(
        "SELECT volume, COUNT(DISTINCT container_id) FROM container_mounts "
        "WHERE volume IS NOT NULL GROUP BY volume"
    ).fetchall()
    return {name: count for name, count in rows}


@dataclass(frozen=True)
class MountRow:
    """A mount point as stored: ``mount`` is ``volumes.model.MountPoint`` as JSON."""

    destination: str
    volume: str | None  # the volume's name, for a volume mount
    mount: dict[str, Any]


def insert_mounts(conn: sqlite3.Connection, container_id: str, rows: list[MountRow]) -> None:
    """Record a new container's mount points (in the caller's transaction)."""
    conn.executemany(
        "INSERT INTO container_mounts (container_id, destination, volume, mount) VALUES (?,?,?,?)",
        [(container_id, r.destination, r.volume, json.dumps(r.mount)) for r in rows],
    )


def container_mounts(conn: sqlite3.Connection, container_id: str) -> list[MountRow]:
    """The container's mount points, in the order they were given."""
    rows = conn.execute(
        "SELECT destination, volume, mount FROM container_mounts WHERE container_id=? "
        "ORDER BY rowid",
        (container_id,),
    ).fetchall()
    return [MountRow(d, v, json.loads(m)) for d, v, m in rows]


def update_mount(conn: sqlite3.Connection, container_id: str, row: MountRow) -> None:
    conn.execute(
        "UPDATE container_mounts SET mount=? WHERE container_id=? AND destination=?",
        (json.dumps(row.mount), container_id, row.destination),
    )


def anonymous_volumes_of(conn: sqlite3.Connection, container_id: str) -> list[str]:
    """The volumes this container's own mounts left unnamed (``-v /dir``, or inherited so
    with ``--volumes-from``): not one it named, however that volume was first made.
    (Rows written before mounts recorded it: the volume's own record decides.)"""
    rows = conn.execute(
        "SELECT v.name, m.mount, v.anonymous FROM container_mounts m "
        "JOIN volumes v ON v.name = m.volume WHERE m.container_id=?",
        (container_id,),
    ).fetchall()
    return [name for name, mount, anonymous in rows
            if json.loads(mount).get("anonymous", bool(anonymous))]  # fmt: skip
