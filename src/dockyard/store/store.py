"""The local store facade: opens the root and moves staged work into place atomically."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import BlobNotFound
from dockyard.layer.compression import open_decompressed
from dockyard.layer.tarsplit import TarSplitReader
from dockyard.store import db
from dockyard.store import images as image_records
from dockyard.store.blobs import BlobFiles
from dockyard.store.ingest import TAR_SPLIT, StagedLayer, discard
from dockyard.store.locks import file_lock
from dockyard.store.paths import StoreLayout, default_root
from dockyard.store.staging import Staging, remove_stale, remove_tree
from dockyard.store.streams import as_binary


class Store:
    """One store root: database, blobs, unpacked layers and staging areas.

    Writers stage their work under tmp/, then call ``commit()``: under the store's
    write lock the staged files are renamed into place and the database rows are
    committed last, so a crash leaves either nothing or a complete object.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.layout = StoreLayout(Path(root) if root else default_root())
        self.layout.create()
        self.conn = db.connect(self.layout.db)
        self.blobs = BlobFiles(self.layout)
        self._after_commit: list[Callable[[], None]] = []
        remove_stale(self.layout.tmp)

    def close(self) -> None:
        self.conn.close()

    def staging(self) -> Staging:
        return Staging(self.layout.tmp)

    @contextlib.contextmanager
    def commit(self) -> Iterator[sqlite3.Connection]:
        """Hold the store write lock and a database transaction for installing objects.

        Files that the transaction makes unreferenced are deleted after COMMIT but
        still under the lock: a crash can then leave only files no row points at
        (which the next install replaces), never a row that points at nothing, and
        no concurrent writer can install a file between our COMMIT and our delete.
        """
        with file_lock(self.layout.locks / "store.lock"):
            self._after_commit = []
            try:
                with db.transaction(self.conn) as conn:
                    yield conn
                for delete in self._after_commit:
                    delete()
            finally:
                self._after_commit = []

    def has_layer(self, diff_id: Digest) -> bool:
        row = self.conn.execute("SELECT 1 FROM layers WHERE diff_id=?", (str(diff_id),))
        return row.fetchone() is not None

    def blob_diff_id(self, blob: Digest) -> Digest | None:
        """The DiffID a stored layer blob unpacks to, if that blob is in the store."""
        row = self.conn.execute("SELECT diff_id FROM blobs WHERE digest=?", (str(blob),))
        found = row.fetchone()
        return Digest.parse(found[0]) if found else None

    def blob_info(self, blob: Digest) -> tuple[int, str, Digest] | None:
        """(size, media type, diff_id) of a stored layer blob, or None."""
        row = self.conn.execute(
            "SELECT size, media_type, diff_id FROM blobs WHERE digest=?", (str(blob),)
        ).fetchone()
        return (int(row[0]), str(row[1]), Digest.parse(row[2])) if row else None

    def add_layer_blob(
        self,
        conn: sqlite3.Connection,
        staged: Path,
        digest: Digest,
        media_type: str,
        diff_id: Digest,
    ) -> None:
        """Keep another blob (e.g. compressed for a push) of a stored layer; in ``commit()``."""
        size = staged.stat().st_size
        self.blobs.adopt(staged, digest)
        conn.execute(
            "INSERT OR IGNORE INTO blobs (digest, size, media_type, diff_id) VALUES (?,?,?,?)",
            (str(digest), size, media_type, str(diff_id)),
        )

    def layer_size(self, diff_id: Digest) -> int:
        row = self.conn.execute("SELECT size FROM layers WHERE diff_id=?", (str(diff_id),))
        found = row.fetchone()
        return int(found[0]) if found else 0

    def layer_tar_size(self, diff_id: Digest) -> int:
        row = self.conn.execute("SELECT tar_size FROM layers WHERE diff_id=?", (str(diff_id),))
        found = row.fetchone()
        return int(found[0]) if found else 0

    def layer_diff_dir(self, diff_id: Digest) -> Path:
        return self.layout.layer_dir(diff_id) / "diff"

    def open_layer_tar(self, diff_id: Digest) -> BinaryIO:
        """The layer's uncompressed tar: its blob file, rebuilt from tar-split, or decompressed.

        The bytes are what the DiffID was computed over; callers that hand them on
        verify the digest as they read (see ``save``).
        """
        if self.blobs.exists(diff_id):
            return self.blobs.open(diff_id)
        record = self.layout.layer_dir(diff_id) / TAR_SPLIT
        if record.exists():
            return as_binary(TarSplitReader(record, self.layer_diff_dir(diff_id)))
        row = self.conn.execute(
            "SELECT digest FROM blobs WHERE diff_id=? AND digest != diff_id LIMIT 1",
            (str(diff_id),),
        ).fetchone()
        if row is None:
            raise BlobNotFound(f"layer {diff_id} has no blob in the store")
        return open_decompressed(self.blobs.open(Digest.parse(row[0])))

    def install_layer(self, conn: sqlite3.Connection, staged: StagedLayer) -> None:
        """Move a staged layer and its blob into place; call inside ``commit()``."""
        target = self.layout.layer_dir(staged.diff_id)
        known = conn.execute(
            "SELECT 1 FROM layers WHERE diff_id=?", (str(staged.diff_id),)
        ).fetchone()
        if not known:
            if target.exists():
                # Left by a crash between rename and commit: complete, but replace it
                # with ours rather than trust a directory no row vouches for.
                self._trash(target)
            os.rename(staged.layer_path, target)
            conn.execute(
                "INSERT INTO layers (diff_id, size, tar_size, created) VALUES (?,?,?,?)",
                (str(staged.diff_id), staged.size, staged.tar_size, time.time()),
            )
        else:
            discard(staged.layer_path)
        if staged.blob_path is not None:
            self.blobs.adopt(staged.blob_path, staged.blob_digest)
        conn.execute(
            "INSERT OR IGNORE INTO blobs (digest, size, media_type, diff_id) VALUES (?,?,?,?)",
            (str(staged.blob_digest), staged.blob_size, staged.media_type, str(staged.diff_id)),
        )

    def collect_garbage(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Drop layers and blobs no image needs; call inside ``commit()``. Returns counts."""
        blobs = image_records.unreferenced_blobs(conn)
        layers = image_records.unreferenced_layers(conn)
        for blob in blobs:
            conn.execute("DELETE FROM blobs WHERE digest=?", (str(blob),))
        for layer in layers:
            conn.execute("DELETE FROM blobs WHERE diff_id=?", (str(layer),))
            conn.execute("DELETE FROM layers WHERE diff_id=?", (str(layer),))
        for blob in blobs:
            self._after_commit.append(functools.partial(self.blobs.remove, blob))
        for layer in layers:
            self._after_commit.append(functools.partial(self._trash, self.layout.layer_dir(layer)))
        return len(layers), len(blobs)

    def _trash(self, path: Path) -> None:
        remove_tree(path, self.layout.tmp)


def open_store(root: str | Path | None) -> Store:
    return Store(Path(root) if root else None)
