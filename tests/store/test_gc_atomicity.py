"""Garbage collection deletes files only once the rows are gone for good."""

from __future__ import annotations

import pytest
from tests.conftest import Dockyard

from dockyard.store import images as records
from dockyard.store.store import Store


class Interrupted(Exception):
    """Stands for a crash between collecting garbage and COMMIT."""


def test_rolled_back_removal_keeps_every_file(dockyard: Dockyard, busybox: str) -> None:
    before = dockyard.snapshot()
    store = Store(dockyard.root)
    image_id = records.resolve_image(store.conn, busybox)
    with pytest.raises(Interrupted), store.commit() as conn:
        records.delete_image(conn, image_id)
        store.collect_garbage(conn)
        raise Interrupted
    store.close()
    assert dockyard.snapshot() == before
    dockyard.run("save", "-o", str(dockyard.root.parent / "still.tar"), busybox)


def test_committed_removal_deletes_files(dockyard: Dockyard, busybox: str) -> None:
    layers_dir = dockyard.root / "layers"
    assert [p for p in layers_dir.iterdir() if p.name != "l"]
    dockyard.run("rmi", busybox)
    assert [p for p in layers_dir.iterdir() if p.name != "l"] == []
    assert list((dockyard.root / "tmp").iterdir()) == []
