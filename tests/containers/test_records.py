"""Container records, names and the pure helpers of ps / logs (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.engine.container_list import ellipsis, go_quote, parse_filters, status_text
from dockyard.engine.container_logs import parse_since, parse_tail
from dockyard.engine.names import check_name, random_name
from dockyard.errors import ConfigError, Conflict, ContainerNotFound
from dockyard.runtime.state import ContainerState
from dockyard.store import containers as crecords
from dockyard.store import images as records
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import LiteStore

IMAGE = Digest.of_bytes(b"image")
LAYER = records.LayerRef(Digest.of_bytes(b"diff"), Digest.of_bytes(b"blob"))


def _record(cid: str, name: str, created: str = "2024-01-01T00:00:00Z") -> ContainerRecord:
    return ContainerRecord(cid, name, IMAGE, "busybox", created, {"Cmd": ["sh"]}, {}, "sh", [])


@pytest.fixture
def store(tmp_path: Path) -> LiteStore:
    return LiteStore(tmp_path / "root")


def test_insert_find_and_delete(store: LiteStore) -> None:
    cid = "ab" * 32
    with store.commit() as conn:
        crecords.insert_container(conn, _record(cid, "web"), [LAYER])
    assert crecords.resolve_container(store.conn, "web").id == cid
    assert crecords.resolve_container(store.conn, "/web").id == cid
    assert crecords.resolve_container(store.conn, "abab").id == cid
    assert crecords.container_layers(store.conn, cid) == [LAYER]
    assert crecords.containers_of_image(store.conn, IMAGE) == [cid]
    with store.commit() as conn:
        crecords.delete_container(conn, cid)
    with pytest.raises(ContainerNotFound):
        crecords.resolve_container(store.conn, "web")
    assert crecords.container_layers(store.conn, cid) == []


def test_name_conflict_message(store: LiteStore) -> None:
    with store.commit() as conn:
        crecords.insert_container(conn, _record("a" * 64, "web"), [])
    with pytest.raises(Conflict) as err, store.commit() as conn:
        crecords.insert_container(conn, _record("b" * 64, "web"), [])
    assert str(err.value) == (
        f'Conflict. The container name "/web" is already in use by container "{"a" * 64}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )


def test_ambiguous_prefix(store: LiteStore) -> None:
    with store.commit() as conn:
        crecords.insert_container(conn, _record("a" * 63 + "1", "one"), [])
        crecords.insert_container(conn, _record("a" * 63 + "2", "two"), [])
    with pytest.raises(Conflict):
        crecords.resolve_container(store.conn, "aaaa")


def test_container_layers_survive_image_gc(store: LiteStore) -> None:
    """A container keeps its layers even when no image uses them any more (rmi -f)."""
    with store.commit() as conn:
        conn.execute("INSERT INTO layers VALUES (?, 1, 1, 0)", (str(LAYER.diff_id),))
        crecords.insert_container(conn, _record("c" * 64, "keep"), [LAYER])
    assert records.unreferenced_layers(store.conn) == []
    with store.commit() as conn:
        crecords.delete_container(conn, "c" * 64)
    assert records.unreferenced_layers(store.conn) == [LAYER.diff_id]


def test_random_names() -> None:
    for _ in range(200):
        left, _, right = random_name().partition("_")
        assert left and right and random_name() != "boring_wozniak"
    assert random_name(retry=1)[-1].isdigit()
    assert check_name("/web-1") == "web-1"
    with pytest.raises(ConfigError):
        check_name("bad name")


def test_ps_shapes() -> None:
    assert go_quote(ellipsis("/bin/sh -c 'while true; do date; done'", 20)) == (
        '"/bin/sh -c \'while t…"'
    )
    assert ellipsis("true", 20) == "true"
    now = 1_700_000_000.0
    assert status_text(ContainerState(), now) == "Created"
    running = ContainerState(status="running", started_at="2023-11-14T22:13:15Z")
    assert status_text(running, now) == "Up 5 seconds"
    exited = ContainerState(status="exited", exit_code=0, finished_at="2023-11-14T22:13:17Z")
    assert status_text(exited, now) == "Exited (0) 3 seconds ago"
    assert parse_filters(["status=exited", "name=web"]) == {"status": ["exited"], "name": ["web"]}
    with pytest.raises(ConfigError):
        parse_filters(["status=sleeping"])


def test_logs_options() -> None:
    assert parse_since("1h30m", now=10_000.0) == 10_000.0 - 5400
    assert parse_since("1700000000") == 1_700_000_000.0
    assert parse_since("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_tail("all") is None and parse_tail("3") == 3
    with pytest.raises(ConfigError):
        parse_tail("many")
