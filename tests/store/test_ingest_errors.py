"""ingest_layer's errors: the digest names wrong bytes, and right bytes keep their own error."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import DigestMismatch, UnsafeTarEntry
from dockyard.image import mediatypes as mt
from dockyard.store.ingest import ingest_layer
from dockyard.store.staging import Staging


def gzip_layer_with_bad_hardlink(at: int) -> bytes:
    """A gzip layer whose hard link to a missing target comes after ``at`` bytes of data."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        big = tarfile.TarInfo("big")
        big.size = at
        tar.addfile(big, io.BytesIO(os.urandom(at)))
        link = tarfile.TarInfo("link")
        link.type = tarfile.LNKTYPE
        link.linkname = "missing"
        tar.addfile(link)
        tail = tarfile.TarInfo("tail")
        tail.size = 4 << 20
        tar.addfile(tail, io.BytesIO(os.urandom(4 << 20)))
    return gzip.compress(raw.getvalue(), compresslevel=1)


def ingest_from_pipe(tmp_path: Path, blob: bytes, expected: Digest) -> None:
    """Feed the blob through a pipe as a download does: fast, from another thread."""
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), open(write_fd, "wb") as out:
            out.write(blob)  # the reader may stop early: its error is the one to see

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        with open(read_fd, "rb") as stream:
            ingest_layer(Staging(tmp_path / "tmp"), stream, mt.DOCKER_LAYER, expected_blob=expected)
    finally:
        feeder.join()


@pytest.mark.parametrize("at", [6 << 20, 14 << 20])
def test_right_bytes_with_a_bad_entry_report_the_entry(tmp_path: Path, at: int) -> None:
    blob = gzip_layer_with_bad_hardlink(at)
    with pytest.raises(UnsafeTarEntry, match="hard link 'link'"):
        ingest_from_pipe(tmp_path, blob, Digest.of_bytes(blob))


def test_wrong_bytes_report_the_digest(tmp_path: Path) -> None:
    blob = gzip_layer_with_bad_hardlink(1 << 20)
    with pytest.raises(DigestMismatch):
        ingest_from_pipe(tmp_path, blob, Digest.of_bytes(b"something else"))
