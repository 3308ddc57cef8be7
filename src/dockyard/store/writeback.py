"""A blob file that starts its own writeback as it grows, so its final fsync is short.

A pulled layer's blob is fsynced before the database may name it. Left to the end,
that fsync writes the whole blob while everything waits (about 0.28 s for a 93 MB
layer here, on the pull's critical path). Asking the kernel to start writing each
few MiB as they arrive (sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait)
overlaps that I/O with the download and the unpack.
"""

from __future__ import annotations

import ctypes
import io
from pathlib import Path
from typing import BinaryIO, cast

SYNC_FILE_RANGE_WRITE = 2
_KICK_EVERY = 8 << 20  # bytes

_libc = ctypes.CDLL(None, use_errno=True)
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]


class EarlyWritebackFile(io.RawIOBase):
    """A write-only file that asks for writeback of every ``_KICK_EVERY`` bytes written."""

    def __init__(self, path: Path, early: bool = True) -> None:
        super().__init__()
        self._file = open(path, "wb")  # noqa: SIM115 — closed by close()
        self._early = early and _sync_file_range is not None
        self._written = 0
        self._kicked = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        written = self._file.write(data)
        self._written += written
        if self._early and self._written - self._kicked >= _KICK_EVERY:
            self._kick()
        return written

    def _kick(self) -> None:
        self._file.flush()
        if _sync_file_range is not None:  # always true here; for the type checker
            # Advisory: a failure only means the final fsync does all the work.
            _sync_file_range(self._file.fileno(), self._kicked, self._written - self._kicked,
                             SYNC_FILE_RANGE_WRITE)
        self._kicked = self._written

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def open_blob_for_writing(path: Path, early: bool = True) -> BinaryIO:
    """``open(path, "wb")`` for a blob fsynced when complete; ``early=False`` for one
    that may well be deleted instead (its writeback would be wasted)."""
    return cast(BinaryIO, EarlyWritebackFile(path, early))
