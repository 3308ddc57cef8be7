"""Writing a tar file member by member, copying big members kernel-side where possible."""

from __future__ import annotations

import io
import os
import tarfile
import time
from typing import BinaryIO

from dockyard.digest import CHUNK
from dockyard.errors import InvalidArchive

BLOCK = 512


class TarWriter:
    """Appends members to a binary file; ``close()`` writes the end-of-archive blocks."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._mtime = int(time.time())

    def _header(self, name: str, size: int, kind: bytes = tarfile.REGTYPE) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.type = kind
        info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        info.mtime = self._mtime
        self._out.write(info.tobuf(format=tarfile.PAX_FORMAT))

    def _pad(self, size: int) -> None:
        remainder = size % BLOCK
        if remainder:
            self._out.write(b"\0" * (BLOCK - remainder))

    def add_dir(self, name: str) -> None:
        self._header(name.rstrip("/") + "/", 0, tarfile.DIRTYPE)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._header(name, len(data))
        self._out.write(data)
        self._pad(len(data))

    def add_file(self, name: str, path: str, size: int) -> None:
        """A member copied from a file of exactly ``size`` bytes (copy_file_range when possible)."""
        self._header(name, size)
        self._out.flush()
        with open(path, "rb") as source:
            copied = _copy_range(source, self._out, size)
        if copied != size:
            raise InvalidArchive(f"{path} changed size while saving ({copied} != {size})")
        self._pad(size)

    def add_stream(self, name: str, stream: BinaryIO, size: int) -> None:
        """A member read from a stream that must yield exactly ``size`` bytes."""
        self._header(name, size)
        written = 0
        while chunk := stream.read(min(CHUNK, size - written) or 1):
            if written + len(chunk) > size:
                raise InvalidArchive(f"{name}: more data than its recorded size {size}")
            self._out.write(chunk)
            written += len(chunk)
            if written == size:
                break
        if written != size:
            raise InvalidArchive(f"{name}: {written} bytes instead of its recorded size {size}")
        self._pad(size)

    def close(self) -> None:
        self._out.write(b"\0" * (BLOCK * 2))
        self._out.flush()


def _copy_range(source: BinaryIO, out: BinaryIO, size: int) -> int:
    try:
        out_fd = out.fileno()
    except (OSError, io.UnsupportedOperation):
        out_fd = -1
    copied = 0
    if out_fd >= 0:
        try:
            while copied < size:
                n = os.copy_file_range(source.fileno(), out_fd, size - copied)
                if n == 0:
                    break
                copied += n
            return copied
        except OSError:
            # Not supported between these files (e.g. a pipe): fall back to sendfile/read.
            pass
        try:
            while copied < size:
                n = os.sendfile(out_fd, source.fileno(), copied, size - copied)
                if n == 0:
                    break
                copied += n
            return copied
        except OSError:
            source.seek(copied)
    while copied < size:
        chunk = source.read(min(CHUNK, size - copied))
        if not chunk:
            break
        out.write(chunk)
        copied += len(chunk)
    return copied
