"""Stream plumbing: a reader that hashes (and optionally copies) what passes through it."""

from __future__ import annotations

import io
from typing import BinaryIO, cast

from dockyard.digest import CHUNK, ThreadedHasher


class HashingReader(io.RawIOBase):
    """Reads from ``source``, hashing every byte and writing it to ``sink`` if given."""

    def __init__(self, source: BinaryIO, sink: BinaryIO | None = None) -> None:
        super().__init__()
        self._source = source
        self._sink = sink
        self.hasher = ThreadedHasher()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._pass(data)
        return n

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self._pass(data)
        return data

    def _pass(self, data: bytes) -> None:
        if data:
            self.hasher.update(data)
            if self._sink is not None:
                self._sink.write(data)

    def close(self) -> None:
        self.hasher.close()
        super().close()

    def stop_copying(self) -> None:
        """Keep hashing what passes, but write no more of it to the sink."""
        self._sink = None

    def drain(self) -> None:
        """Read to the end so the hash covers the whole stream (tar padding included)."""
        while self.read(CHUNK):
            pass


class LimitedReader(io.RawIOBase):
    """Reads at most ``limit`` bytes of ``source``; a short source is an error at the end."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        super().__init__()
        self._source = source
        self.remaining = limit

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._source.read(size)
        self.remaining -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class PrefixedReader(io.RawIOBase):
    """Gives back bytes already read from a stream (``head``), then the rest of it."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(-1 if size is None else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def as_binary(reader: io.RawIOBase) -> BinaryIO:
    """View one of these readers as the BinaryIO the tar and compression code take."""
    return cast(BinaryIO, reader)
