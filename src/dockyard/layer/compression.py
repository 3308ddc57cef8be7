"""Layer compression: detect it from magic bytes, decompress and compress streams.

gzip goes through ISA-L (isal), which is several times faster than zlib; zstd
through zstandard. bzip2 and xz are read (and written) only because
``docker import`` accepts ``.tar.bz2`` and ``.tar.xz``; registries never see them.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
from typing import BinaryIO, Literal, cast

import zstandard
from isal import igzip_threaded, isal_zlib

from dockyard.errors import ConfigError, InvalidArchive

Compression = Literal["none", "gzip", "zstd", "bzip2", "xz"]

_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_HEAD = 6  # the longest magic
_BLOCK = 1 << 20
# ISA-L level 1 compresses within ~2% of level 2 and runs clearly faster.
_GZIP_LEVEL = 1
_ZSTD_LEVEL = 3
# Errors that a corrupt or truncated compressed stream raises while being read.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    cast(type[BaseException], isal_zlib.error),
    zstandard.ZstdError,
    lzma.LZMAError,
)


def detect_compression(head: bytes) -> Compression:
    """The compression of a stream that starts with ``head`` (6 bytes suffice)."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "none"


def open_decompressed(stream: BinaryIO) -> BinaryIO:
    """A readable stream of the uncompressed bytes of ``stream``, whatever its compression.

    The bytes peeked at to detect the compression are handed on, never lost.
    Closing the result does not close ``stream``. Corrupt or truncated input
    raises ``InvalidArchive`` when it is read.
    """
    head = _read_head(stream)
    source = io.BufferedReader(_Prefixed(head, stream), buffer_size=_BLOCK)
    compression = detect_compression(head)
    if compression == "none":
        return source
    decoder: BinaryIO
    if compression == "gzip":
        # A worker thread inflates (without the GIL) while the caller writes files.
        decoder = cast(
            BinaryIO,
            igzip_threaded.open(source, "rb", block_size=_BLOCK),  # type: ignore[no-untyped-call]
        )
    elif compression == "zstd":
        decoder = cast(BinaryIO, _ZstdReader(source))
    elif compression == "bzip2":
        decoder = cast(BinaryIO, bz2.BZ2File(source, "rb"))
    else:
        decoder = cast(BinaryIO, lzma.LZMAFile(source, "rb"))  # noqa: SIM115
    return io.BufferedReader(_Decoded(decoder, compression), buffer_size=_BLOCK)


def open_compressor(dest: BinaryIO, compression: Compression, level: int | None = None) -> BinaryIO:
    """A writable stream that compresses into ``dest``.

    ``close()`` finishes the compressed stream but leaves ``dest`` open. Output is
    deterministic (no timestamps or file names in gzip headers), so the same tar
    always gives the same blob digest.
    """
    if compression == "none":
        return cast(BinaryIO, _Uncompressed(dest))
    if compression == "gzip":
        threads = min(4, len(os.sched_getaffinity(0)))
        writer = igzip_threaded.open(  # type: ignore[no-untyped-call]
            dest, "wb", compresslevel=_GZIP_LEVEL if level is None else level, threads=threads
        )
        return cast(BinaryIO, writer)
    if compression == "zstd":
        cctx = zstandard.ZstdCompressor(level=_ZSTD_LEVEL if level is None else level)
        return cast(BinaryIO, cctx.stream_writer(dest, closefd=False))
    if compression == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(dest, "wb", compresslevel=level or 9))
    if compression == "xz":
        return cast(BinaryIO, lzma.LZMAFile(dest, "wb", preset=level))
    raise ConfigError(f"unknown compression: {compression!r}")


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < _HEAD:
        chunk = stream.read(_HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``stream``; closing it leaves ``stream`` open."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        readinto = getattr(self._stream, "readinto", None)
        if readinto is not None:  # no intermediate copy
            return int(readinto(buffer) or 0)
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Decoded(io.RawIOBase):
    """A decompressor whose decoding errors surface as ``InvalidArchive``."""

    def __init__(self, decoder: BinaryIO, compression: Compression) -> None:
        self._decoder = decoder
        self._compression = compression

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._decoder.readinto(buffer)  # type: ignore[attr-defined,no-any-return]
        except _DECODE_ERRORS as exc:
            raise InvalidArchive(f"corrupt or truncated {self._compression} stream: {exc}") from exc
        except OSError as exc:
            if exc.errno is not None:  # a real I/O error of the source, not bad data
                raise
            raise InvalidArchive(f"corrupt {self._compression} stream: {exc}") from exc

    def close(self) -> None:
        if not self.closed:
            self._decoder.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """zstd frames one after another; unlike zstandard's stream_reader, a stream
    that ends inside a frame is an error, not a silent short read."""

    _INPUT = 128 << 10  # bounds the output of one decompress call

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._dctx = zstandard.ZstdDecompressor()
        self._frame = self._dctx.decompressobj()
        self._in_frame = False
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            data = self._source.read(self._INPUT)
            if not data:
                if self._in_frame:
                    raise InvalidArchive("truncated zstd stream: it ends inside a frame")
                return 0
            self._pending = memoryview(self._decompress(data))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._frame.eof:
                self._frame = self._dctx.decompressobj()
            out.append(self._frame.decompress(data))
            self._in_frame = not self._frame.eof
            data = self._frame.unused_data if self._frame.eof else b""
        return b"".join(out)


class _Uncompressed(io.RawIOBase):
    """Writes through to ``dest``; closing it leaves ``dest`` open."""

    def __init__(self, dest: BinaryIO) -> None:
        self._dest = dest

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
        self._dest.write(data)
        return len(data)

    def flush(self) -> None:
        self._dest.flush()
