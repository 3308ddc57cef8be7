"""The early-writeback blob file: same bytes as a plain write, whatever the chunking."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dockyard.store.writeback import open_blob_for_writing


def test_blob_written_in_odd_chunks_is_exact(tmp_path: Path) -> None:
    data = os.urandom(20 << 20) + b"tail"
    target = tmp_path / "blob"
    with open_blob_for_writing(target) as out:
        view = memoryview(data)
        step = 3 << 20 | 17  # crosses the 8 MiB writeback boundary at odd offsets
        for start in range(0, len(data), step):
            assert out.write(view[start:start + step]) == len(view[start:start + step])
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
