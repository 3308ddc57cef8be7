"""The part of the store that containers need, without the image machinery.

``Store`` imports the layer packers, compressors and ingesters (about 40 ms);
``run`` needs only the database, the layout, the write lock and the layer
directories.  ``StoreView`` is that part as a protocol (``Store`` satisfies it);
``LiteStore`` opens it cheaply for the commands on the container hot path.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from dockyard.digest import Digest
from dockyard.store import db
from dockyard.store.locks import file_lock
from dockyard.store.paths import StoreLayout, default_root


class StoreView(Protocol):
    @property
    def conn(self) -> sqlite3.Connection: ...

    @property
    def layout(self) -> StoreLayout: ...

    def commit(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def layer_diff_dir(self, diff_id: Digest) -> Path: ...


class LiteStore:
    """Database, layout and write lock of one store root (same rules as ``Store``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.layout = StoreLayout(Path(root) if root else default_root())
        self.layout.create()
        self.conn = db.connect(self.layout.db)

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def commit(self) -> Iterator[sqlite3.Connection]:
        with file_lock(self.layout.locks / "store.lock"), db.transaction(self.conn) as conn:
            yield conn

    def layer_diff_dir(self, diff_id: Digest) -> Path:
        return self.layout.layer_dir(diff_id) / "diff"

