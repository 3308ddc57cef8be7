"""Compression detection, round trips and corrupt streams."""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import pytest

from dockyard.errors import InvalidArchive
from dockyard.layer.compression import (
    Compression,
    detect_compression,
    open_compressor,
    open_decompressed,
)

ALL: list[Compression] = ["none", "gzip", "zstd", "bzip2", "xz"]
PAYLOAD = os.urandom(1 << 16) + b"layer " * 300_000


class OneWay(io.RawIOBase):
    """A forward-only source that hands out a few bytes per read, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 3))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def compress(data: bytes, compression: Compression) -> bytes:
    out = io.BytesIO()
    writer = open_compressor(out, compression)
    writer.write(data)
    writer.close()
    assert not out.closed
    return out.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x1f\x8b\x08\x00\x00\x00", "gzip"),
        (b"\x28\xb5\x2f\xfd\x00\x00", "zstd"),
        (b"BZh91AY", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"etc/\x00\x00", "none"),
        (b"", "none"),
        (b"\x1f", "none"),
    ],
)
def test_detect(head: bytes, expected: Compression) -> None:
    assert detect_compression(head) == expected


@pytest.mark.parametrize("compression", ALL)
def test_round_trip_through_a_one_way_stream(compression: Compression) -> None:
    blob = compress(PAYLOAD, compression)
    assert detect_compression(blob[:6]) == compression
    source: BinaryIO = io.BufferedReader(OneWay(blob), buffer_size=7)
    with open_decompressed(source) as reader:
        assert reader.read() == PAYLOAD


@pytest.mark.parametrize("compression", ALL)
def test_empty_input(compression: Compression) -> None:
    blob = compress(b"", compression)
    with open_decompressed(io.BytesIO(blob)) as reader:
        assert reader.read() == b""


def test_short_uncompressed_input_is_kept_whole() -> None:
    with open_decompressed(io.BytesIO(b"abc")) as reader:
        assert reader.read() == b"abc"


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_output_is_deterministic(compression: Compression) -> None:
    assert compress(PAYLOAD, compression) == compress(PAYLOAD, compression)


def test_closing_the_decompressor_leaves_the_source_open() -> None:
    source = io.BytesIO(compress(PAYLOAD, "gzip"))
    open_decompressed(source).close()
    assert not source.closed


@pytest.mark.parametrize("compression", ["gzip", "zstd", "bzip2", "xz"])
def test_truncated_stream(compression: Compression) -> None:
    blob = compress(PAYLOAD, compression)
    with pytest.raises(InvalidArchive), open_decompressed(io.BytesIO(blob[: len(blob) // 2])) as r:
        while r.read(1 << 20):
            pass


@pytest.mark.parametrize("compression", ["gzip", "zstd", "bzip2", "xz"])
def test_corrupt_stream(compression: Compression) -> None:
    blob = bytearray(compress(PAYLOAD, compression))
    for at in range(40, len(blob) - 40, 997):
        blob[at] ^= 0x55
    with pytest.raises(InvalidArchive), open_decompressed(io.BytesIO(bytes(blob))) as r:
        while r.read(1 << 20):
            pass
