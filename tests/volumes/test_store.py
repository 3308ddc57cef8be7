"""Volume rows, mount rows and the local driver's directories (no root needed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import ConfigError, Conflict, VolumeNotFound
from dockyard.store import containers as crecords
from dockyard.store import db
from dockyard.store import volumes as vrecords
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import LiteStore
from dockyard.store.volumes import MountRow
from dockyard.volumes import local
from dockyard.volumes.listing import list_volumes, parse_filters, prune_volumes, volume_view

CID = "cd" * 32


@pytest.fixture
def store(tmp_path: Path) -> LiteStore:
    return LiteStore(tmp_path / "root")


def _use(store: LiteStore, name: str, cid: str = CID) -> None:
    record = ContainerRecord(
        cid,
        f"c{cid[:4]}",
        Digest.of_bytes(b"i"),
        "busybox",
        "2024-01-01T00:00:00Z",
        {},
        {},
        "sh",
        [],
    )
    with store.commit() as conn:
        crecords.insert_container(conn, record, [])
        vrecords.insert_mounts(conn, cid, [MountRow("/d", name, {"type": "volume"})])


def test_create_inspect_and_idempotent_create(store: LiteStore) -> None:
    record = local.create_volume(store, "data", {"a": "b"}, {"type": "tmpfs"})
    assert local.mountpoint(store, "data").is_dir()
    view = volume_view(store, record)
    assert view["Name"] == "data" and view["Driver"] == "local" and view["Scope"] == "local"
    assert view["Mountpoint"] == str(store.layout.volumes / "data" / "_data")
    assert (view["Labels"], view["Options"]) == ({"a": "b"}, {"type": "tmpfs"})
    assert view["CreatedAt"].endswith("Z")
    assert local.create_volume(store, "data") == record  # docker returns the existing one
    anonymous = local.create_volume(store, None)
    assert len(anonymous.name) == 64 and volume_view(store, anonymous)["Labels"] is None


def test_bad_name_creates_nothing(store: LiteStore) -> None:
    with pytest.raises(ConfigError, match="includes invalid characters"):
        local.create_volume(store, "../escape")
    assert list(store.layout.volumes.iterdir()) == []
    assert vrecords.all_volumes(store.conn) == []


def test_volume_in_use_is_kept(store: LiteStore) -> None:
    local.create_volume(store, "data")
    _use(store, "data")
    with pytest.raises(Conflict) as caught:
        local.remove_volume(store, "data", force=True)
    assert str(caught.value) == f"remove data: volume is in use - [{CID}]"
    with pytest.raises(sqlite3.IntegrityError), store.commit() as conn:
        vrecords.delete_volume(conn, "data")  # the foreign key backs the check up
    assert [u.name for u in list_volumes(store, parse_filters(["dangling=false"]))] == ["data"]
    assert list_volumes(store, parse_filters(["dangling=true"])) == []
    with store.commit() as conn:
        crecords.delete_container(conn, CID)  # its mount rows go with it
    assert vrecords.volume_users(store.conn, "data") == []
    local.remove_volume(store, "data")
    assert not (store.layout.volumes / "data").exists()


def test_remove_missing(store: LiteStore) -> None:
    with pytest.raises(VolumeNotFound, match="get nope: no such volume"):
        local.remove_volume(store, "nope")
    local.remove_volume(store, "nope", force=True)


def test_filters_and_prune(store: LiteStore) -> None:
    for name in ("web-data", "db-data", "other"):
        local.create_volume(store, name, {"app": name.split("-")[0]})
    _use(store, "db-data")
    names = [u.name for u in list_volumes(store, parse_filters(["name=data"]))]
    assert names == ["db-data", "web-data"]
    assert [u.name for u in list_volumes(store, parse_filters(["label=app=web"]))] == ["web-data"]
    assert len(list_volumes(store, parse_filters(["label=app"]))) == 3
    with pytest.raises(ConfigError):
        parse_filters(["colour=red"])
    (local.mountpoint(store, "other") / "f").write_bytes(b"x" * 10)
    removed, reclaimed = prune_volumes(store, {})
    assert (sorted(removed), reclaimed) == (["other", "web-data"], 10)
    assert [v.name for v in vrecords.all_volumes(store.conn)] == ["db-data"]


def test_schema_2_store_gains_the_volume_tables(tmp_path: Path) -> None:
    path = tmp_path / "dockyard.db"
    conn = db.connect(path)
    conn.executescript("DROP TABLE container_mounts; DROP TABLE volumes; PRAGMA user_version=2;")
    conn.close()
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION == 3
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"volumes", "container_mounts"} <= tables
