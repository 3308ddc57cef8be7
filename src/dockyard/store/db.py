"""The SQLite metadata database: schema, connections and transactions.

WAL mode with a busy timeout lets many dockyard processes read and write at once;
every write runs in ``BEGIN IMMEDIATE`` so two writers never interleave.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import StoreError
from dockyard.store.locks import file_lock

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    diff_id   TEXT PRIMARY KEY,      -- sha256 of the uncompressed tar
    size      INTEGER NOT NULL,      -- bytes of file content once unpacked
    tar_size  INTEGER NOT NULL,      -- bytes of the uncompressed tar
    created   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (   -- layer blobs as stored under blobs/sha256
    digest     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    diff_id    TEXT NOT NULL REFERENCES layers(diff_id)
);
CREATE TABLE IF NOT EXISTS images (
    id        TEXT PRIMARY KEY,      -- config digest: the image ID
    config    BLOB NOT NULL,         -- the exact config bytes
    created   TEXT,                  -- from the config
    size      INTEGER NOT NULL,      -- sum of the layers' unpacked sizes
    parent    TEXT,                  -- image this one was committed from
    added     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    diff_id   TEXT NOT NULL REFERENCES layers(diff_id),
    blob      TEXT NOT NULL REFERENCES blobs(digest),
    PRIMARY KEY (image_id, position)
);
CREATE INDEX IF NOT EXISTS image_layers_diff ON image_layers(diff_id);
CREATE INDEX IF NOT EXISTS image_layers_blob ON image_layers(blob);
CREATE TABLE IF NOT EXISTS manifests (   -- manifests received or pushed for an image
    digest     TEXT NOT NULL,
    image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    media_type TEXT NOT NULL,
    raw        BLOB NOT NULL,
    PRIMARY KEY (digest, image_id)
);
CREATE TABLE IF NOT EXISTS tags (
    name      TEXT PRIMARY KEY,      -- normalised: docker.io/library/busybox:latest
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS repo_digests (
    name      TEXT NOT NULL,         -- normalised repository: docker.io/library/busybox
    digest    TEXT NOT NULL,         -- manifest digest
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (name, digest)
);
CREATE INDEX IF NOT EXISTS repo_digests_image ON repo_digests(image_id);
CREATE TABLE IF NOT EXISTS containers (
    id          TEXT PRIMARY KEY,    -- 64 hex
    name        TEXT NOT NULL UNIQUE, -- without docker's leading slash
    image_id    TEXT NOT NULL,       -- may outlive the image row (rmi -f)
    image_name  TEXT NOT NULL,       -- as the user gave it (Config.Image)
    created     TEXT NOT NULL,       -- RFC3339Nano
    config      TEXT NOT NULL,       -- JSON: docker's container Config
    host_config TEXT NOT NULL,       -- JSON: docker's HostConfig (Binds, Mounts, ...)
    path        TEXT NOT NULL,       -- the command (Path) ...
    args        TEXT NOT NULL        -- ... and its arguments (JSON list)
);
CREATE TABLE IF NOT EXISTS container_layers (  -- keeps a container's layers from GC
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    diff_id      TEXT NOT NULL,
    blob         TEXT NOT NULL,
    PRIMARY KEY (container_id, position)
);
CREATE INDEX IF NOT EXISTS container_layers_diff ON container_layers(diff_id);
CREATE INDEX IF NOT EXISTS containers_image ON containers(image_id);
CREATE TABLE IF NOT EXISTS volumes (   -- <root>/volumes/<name>/_data (schema 3)
    name       TEXT PRIMARY KEY,
    driver     TEXT NOT NULL DEFAULT 'local',
    created    TEXT NOT NULL,          -- RFC3339
    labels     TEXT NOT NULL,          -- JSON object
    options    TEXT NOT NULL,          -- JSON object (driver options, -o)
    anonymous  INTEGER NOT NULL        -- 1: removed by `rm -v` / `run --rm`
);
CREATE TABLE IF NOT EXISTS container_mounts (  -- a container's mount points (schema 3)
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    destination  TEXT NOT NULL,
    volume       TEXT REFERENCES volumes(name),  -- NULL for bind and tmpfs
    mount        TEXT NOT NULL,        -- JSON: volumes.model.MountPoint
    PRIMARY KEY (container_id, destination)
);
CREATE INDEX IF NOT EXISTS container_mounts_volume ON container_mounts(volume);
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open the database, creating the schema on first use."""
    try:
        conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=60000")
        if not _initialised(conn):
            # Processes that meet a new store at once would race to switch it to WAL, and
            # SQLite answers that race with "database is locked" without waiting: one at
            # a time, under an flock.
            with file_lock(path.with_name(path.name + ".init-lock")):
                _initialise(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except (sqlite3.Error, OSError) as exc:  # OSError: the init lock (read-only store)
        raise StoreError(f"cannot open the store database {path}: {exc}") from exc
    return conn


def _initialised(conn: sqlite3.Connection) -> bool:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    return bool(version >= SCHEMA_VERSION and mode == "wal")


def _initialise(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")  # persistent: set once per database
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        # executescript commits implicitly, so the script carries its own transaction.
        conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the database's write lock at its start."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot start a store transaction: {exc}") from exc
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot commit to the store: {exc}") from exc
