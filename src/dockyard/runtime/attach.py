"""The attach socket: how clients join a running container's stdio through its monitor.

Like conmon, the monitor listens on ``<container_dir>/attach`` (a unix stream
socket) for any number of clients.  Both directions carry frames with docker's
stdcopy header — one byte of kind, three zero bytes, a big-endian u32 payload
length — followed by the payload:

    kind           direction         payload
    0 STDIN        client -> monitor bytes for the container's stdin (or pty)
    1 STDOUT       monitor -> client container output (all of it for a tty)
    2 STDERR       monitor -> client container error output
    4 RESIZE       client -> monitor u16 rows, u16 columns (TIOCSWINSZ on the pty)
    5 STDIN_EOF    client -> monitor the client's input ended: close the stdin pipe
    6 SIGNAL       client -> monitor u32 signal number for the container's init
    7 EXIT         monitor -> client i32 exit code; the monitor then closes

A client that sees end-of-stream without EXIT has lost the monitor (killed).  A
client detaches by just closing its end.  Output is not replayed: a client sees
what the container writes after it connected (``logs`` has the past).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import AttachProtocolError

SOCKET_NAME = "attach"
STDIN, STDOUT, STDERR, RESIZE, STDIN_EOF, SIGNAL, EXIT = 0, 1, 2, 4, 5, 6, 7
STREAM_KINDS = {"stdout": STDOUT, "stderr": STDERR}
HEADER = struct.Struct(">B3xI")
MAX_PAYLOAD = 1 << 20  # a peer announcing more is broken, not slow


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def resize_frame(rows: int, cols: int) -> bytes:
    return frame(RESIZE, struct.pack(">HH", rows, cols))


def int_frame(kind: int, value: int) -> bytes:
    """SIGNAL or EXIT."""
    return frame(kind, struct.pack(">i", value))


def parse_resize(payload: bytes) -> tuple[int, int]:
    if len(payload) != 4:
        raise AttachProtocolError(f"a resize frame of {len(payload)} bytes")
    rows, cols = struct.unpack(">HH", payload)
    return rows, cols


def parse_int(payload: bytes) -> int:
    if len(payload) != 4:
        raise AttachProtocolError(f"an integer frame of {len(payload)} bytes")
    (value,) = struct.unpack(">i", payload)
    return int(value)


class FrameReader:
    """Reassembles frames from the chunks a stream socket delivers."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            kind, size = HEADER.unpack_from(self._buffer)
            if size > MAX_PAYLOAD:
                raise AttachProtocolError(f"a frame of {size} bytes")
            end = HEADER.size + size
            if len(self._buffer) < end:
                break
            frames.append((kind, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return frames


def socket_path(container_dir: Path) -> Path:
    return container_dir / SOCKET_NAME


@contextlib.contextmanager
def _short_address(container_dir: Path) -> Iterator[str]:
    """An address for the socket that fits in sun_path (108 bytes) whatever the root.

    Through the directory's descriptor, as conmon does: a container directory
    under a deep store root is longer than a socket address may be.
    """
    dir_fd = os.open(container_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{dir_fd}/{SOCKET_NAME}"
    finally:
        os.close(dir_fd)


def listen(container_dir: Path) -> socket.socket:
    """The monitor's listening socket (a stale file from a dead monitor is replaced)."""
    socket_path(container_dir).unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    with _short_address(container_dir) as address:
        listener.bind(address)
    listener.listen(16)
    return listener


def connect(container_dir: Path) -> socket.socket | None:
    """A connection to the container's monitor, or None if it is not listening."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        with _short_address(container_dir) as address:
            sock.connect(address)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    return sock
