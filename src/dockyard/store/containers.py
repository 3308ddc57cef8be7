"""Container records in the metadata database.

A row holds what ``create`` decided (docker's Config and HostConfig as JSON, the
command, the image) and ``container_layers`` the image's layers, so that the
container keeps them even when its image is removed (``rmi -f``).  What changes
while a container lives (running, pid, exit code) is not here: the monitor writes
it to ``<root>/containers/<id>/state.json`` (see ``runtime.state``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any, NamedTuple

from dockyard.digest import Digest
from dockyard.errors import Conflict, ContainerNotFound
from dockyard.store.images import LayerRef

_HEX_PREFIX_RE = re.compile(r"^[a-f0-9]{1,64}\Z")
_COLUMNS = "id, name, image_id, image_name, created, config, host_config, path, args"


class ContainerRecord(NamedTuple):
    id: str  # 64 hex
    name: str  # without the leading slash
    image_id: Digest
    image_name: str
    created: str
    config: dict[str, Any]  # docker's container Config
    host_config: dict[str, Any]
    path: str
    args: list[str]

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def command(self) -> list[str]:
        return [self.path, *self.args] if self.path else []


def _record(row: tuple[Any, ...]) -> ContainerRecord:
    id_, name, image_id, image_name, created, config, host_config, path, args = row
    return ContainerRecord(
        id_,
        name,
        Digest.parse(image_id),
        image_name,
        created,
        json.loads(config),
        json.loads(host_config),
        path,
        json.loads(args),
    )


def name_conflict(name: str, other_id: str) -> Conflict:
    return Conflict(
        f'Conflict. The container name "/{name}" is already in use by container '
        f'"{other_id}". You have to remove (or rename) that container to be able to '
        "reuse that name."
    )


def insert_container(
    conn: sqlite3.Connection, record: ContainerRecord, layers: list[LayerRef]
) -> None:
    """Record a new container (in the caller's transaction); Conflict if the name is taken."""
    owner = conn.execute("SELECT id FROM containers WHERE name=?", (record.name,)).fetchone()
    if owner is not None:
        raise name_conflict(record.name, owner[0])
    conn.execute(
        f"INSERT INTO containers ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            record.id,
            record.name,
            str(record.image_id),
            record.image_name,
            record.created,
            json.dumps(record.config),
            json.dumps(record.host_config),
            record.path,
            json.dumps(record.args),
        ),
    )
    conn.executemany(
        "INSERT INTO container_layers (container_id, position, diff_id, blob) VALUES (?,?,?,?)",
        [(record.id, i, str(ref.diff_id), str(ref.blob)) for i, ref in enumerate(layers)],
    )


def get_container(conn: sqlite3.Connection, container_id: str) -> ContainerRecord:
    row = conn.execute(f"SELECT {_COLUMNS} FROM containers WHERE id=?", (container_id,)).fetchone()
    if row is None:
        raise ContainerNotFound(f"No such container: {container_id}")
    return _record(row)


def find_container(conn: sqlite3.Connection, text: str) -> ContainerRecord | None:
    """By full id, name (with or without ``/``) or unique id prefix, in docker's order."""
    name = text[1:] if text.startswith("/") else text
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM containers WHERE id=? OR name=? "
        "ORDER BY id=? DESC LIMIT 1",
        (text, name, text),
    ).fetchone()
    if row is not None:
        return _record(row)
    if not _HEX_PREFIX_RE.match(text):
        return None
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM containers WHERE id >= ? AND id < ? LIMIT 2",
        (text, f"{text}g"),
    ).fetchall()
    if len(rows) > 1:
        raise Conflict(f"multiple IDs found with provided prefix: {text}")
    return _record(rows[0]) if rows else None


def resolve_container(conn: sqlite3.Connection, text: str) -> ContainerRecord:
    found = find_container(conn, text)
    if found is None:
        raise ContainerNotFound(f"No such container: {text}")
    return found


def all_containers(conn: sqlite3.Connection) -> list[ContainerRecord]:
    """Every container, newest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM containers ORDER BY created DESC").fetchall()
    return [_record(r) for r in rows]


def container_layers(conn: sqlite3.Connection, container_id: str) -> list[LayerRef]:
    """The image layers under the container, bottom first."""
    rows = conn.execute(
        "SELECT diff_id, blob FROM container_layers WHERE container_id=? ORDER BY position",
        (container_id,),
    ).fetchall()
    return [LayerRef(Digest.parse(d), Digest.parse(b)) for d, b in rows]


def containers_of_image(conn: sqlite3.Connection, image_id: Digest) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM containers WHERE image_id=? ORDER BY created DESC", (str(image_id),)
    ).fetchall()
    return [r[0] for r in rows]


def rename_container(conn: sqlite3.Connection, container_id: str, new_name: str) -> None:
    owner = conn.execute("SELECT id FROM containers WHERE name=?", (new_name,)).fetchone()
    if owner is not None:
        raise name_conflict(new_name, owner[0])
    conn.execute("UPDATE containers SET name=? WHERE id=?", (new_name, container_id))


def delete_container(conn: sqlite3.Connection, container_id: str) -> None:
    """Delete the row; its layer references go with it (ON DELETE CASCADE)."""
    conn.execute("DELETE FROM containers WHERE id=?", (container_id,))


def name_taken(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM containers WHERE name=?", (name,)).fetchone() is not None
