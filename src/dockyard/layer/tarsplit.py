"""Tar-split: rebuild a layer's exact tar from its unpacked directory.

Docker keeps no copy of an uncompressed layer tar: it records the bytes that are
not file content (headers, padding, the end marker) and reads file content back
from the unpacked layer, reproducing the tar byte for byte (its DiffID). The same
here: while a layer is unpacked, ``TarSplitRecorder`` collects the raw bytes and,
for each regular file, where its content was written. A record is only kept when
the content is still in place at the end (no later entry replaced or removed it).

The file format is a gzip stream of segments: ``R`` + u64 length + raw bytes, or
``F`` + u64 size + u16 path length + path (relative to the layer's diff/).
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from pathlib import Path

from dockyard.errors import InvalidArchive, StoreError

_RAW = b"R"
_FILE = b"F"
_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")
_FLUSH_AT = 1 << 20


class TarSplitRecorder:
    """Writes the tar's raw bytes and file-content references to ``target`` during an
    unpack; memory stays bounded however large the headers a layer carries."""

    def __init__(self, target: Path) -> None:
        self._target = target
        self._gzip = gzip.GzipFile(target, mode="wb", compresslevel=1, mtime=0)
        self._raw = bytearray()
        # Encoded segments wait here: one gzip write per entry cost more than the rest
        # of the recording for layers of many small files.
        self._segments = bytearray()
        self._files: set[str] = set()
        self.usable = True

    def raw(self, chunk: bytes | memoryview) -> None:
        self._raw += chunk
        if len(self._raw) >= _FLUSH_AT:
            self._flush_raw()

    def file(self, rel: str, size: int) -> None:
        """The next ``size`` bytes of the tar are the content now at ``rel``."""
        self._flush_raw()
        encoded = rel.encode("utf-8", "surrogateescape")
        if rel in self._files or len(encoded) > 0xFFFF:
            self.usable = False
        self._files.add(rel)
        segments = self._segments  # appended piece by piece: no temporary copies
        segments += _FILE
        segments += _U64.pack(size)
        segments += _U16.pack(len(encoded))
        segments += encoded
        if len(self._segments) >= _FLUSH_AT:
            self._write_segments()

    def removed(self, rel: str) -> None:
        """Something at ``rel`` was replaced: content recorded there or below is gone."""
        if not self._files:
            return
        prefix = rel + "/"
        if rel in self._files or any(f.startswith(prefix) for f in self._files):
            self.usable = False

    def _flush_raw(self) -> None:
        """End the current run of raw bytes as one segment."""
        if self._raw:
            segments = self._segments
            segments += _RAW
            segments += _U64.pack(len(self._raw))
            segments += self._raw
            self._raw.clear()
            if len(self._segments) >= _FLUSH_AT:
                self._write_segments()

    def _write_segments(self) -> None:
        self._gzip.write(self._segments)
        self._segments.clear()

    def finish(self) -> bool:
        """Complete the record; False (and no record left) when the content cannot be
        rebuilt from disk."""
        self._flush_raw()
        self._write_segments()
        self._gzip.close()
        if not self.usable:
            self._target.unlink(missing_ok=True)
        return self.usable

    def close(self) -> None:
        """Stop recording (after a failure); the staging area removes the file."""
        self._gzip.close()


class TarSplitReader(io.RawIOBase):
    """The original tar, rebuilt from a record and the unpacked ``diff`` directory."""

    def __init__(self, record: Path, diff: Path) -> None:
        super().__init__()
        self._record = gzip.GzipFile(record, "rb")
        self._diff = os.fspath(diff)
        self._fd = -1
        self._left = 0  # bytes left in the current segment
        self._raw = False

    def readable(self) -> bool:
        return True

    def _next_segment(self) -> bool:
        kind = self._record.read(1)
        if not kind:
            return False
        (size,) = _U64.unpack(self._exact(8))
        if kind == _RAW:
            self._raw, self._left = True, size
        elif kind == _FILE:
            (length,) = _U16.unpack(self._exact(2))
            rel = self._exact(length).decode("utf-8", "surrogateescape")
            self._open(rel)
            self._raw, self._left = False, size
        else:
            raise StoreError("corrupt tar-split record: unknown segment")
        return True

    def _exact(self, size: int) -> bytes:
        data = self._record.read(size)
        if len(data) != size:
            raise StoreError("corrupt tar-split record: truncated")
        return data

    def _open(self, rel: str) -> None:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise StoreError(f"corrupt tar-split record: bad path {rel!r}")
        if self._fd >= 0:
            os.close(self._fd)
        try:
            self._fd = os.open(f"{self._diff}/{rel}", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(f"layer content {rel!r} is missing: {exc.strerror}") from exc

    def read(self, size: int | None = -1) -> bytes:
        want = (1 << 20) if size is None or size < 0 else size
        while self._left == 0:
            if not self._next_segment():
                return b""
        amount = min(want, self._left)
        data = self._record.read(amount) if self._raw else os.read(self._fd, amount)
        if not data:
            raise InvalidArchive("layer content changed on disk: shorter than recorded")
        self._left -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._record.close()
        super().close()
