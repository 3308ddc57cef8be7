"""Terminals: the runtime's console socket, window sizes, and the detach keys.

With ``process.terminal`` the runtime creates the container's pty and sends its
master fd over a unix socket (``--console-socket``) with SCM_RIGHTS.  The monitor
holds the master: it logs the output and relays it to attach clients.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import struct
import tempfile
import termios
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import ConfigError, OCIRuntimeFailed

DETACH_KEYS = b"\x10\x11"  # Ctrl-P Ctrl-Q, docker's default


@contextlib.contextmanager
def console_socket() -> Iterator[tuple[Path, socket.socket]]:
    """A listening unix socket for ``--console-socket`` in a short private directory.

    Short on purpose: a socket path is limited to 108 bytes, which a container
    directory under a long root can exceed.
    """
    directory = tempfile.mkdtemp(prefix="dockyard-console-")
    path = Path(directory) / "sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(1)
        yield path, listener
    finally:
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)


def receive_pty_master(listener: socket.socket) -> int:
    """Accept the runtime's connection and take the pty master fd it sends.

    Call after the runtime has exited successfully: its connection is then queued.
    """
    listener.setblocking(False)
    try:
        conn, _ = listener.accept()
    except BlockingIOError as exc:
        raise OCIRuntimeFailed([], 0, "the runtime sent no terminal") from exc
    with conn:
        conn.setblocking(True)
        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    if not fds:
        raise OCIRuntimeFailed([], 0, "the runtime sent no terminal")
    os.set_inheritable(fds[0], False)
    return fds[0]


def get_winsize(fd: int) -> tuple[int, int] | None:
    """(rows, columns) of a terminal, or None if ``fd`` is not one."""
    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols, _, _ = struct.unpack("HHHH", packed)
    return rows, cols


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def parse_detach_keys(spec: str) -> bytes:
    """Docker's ``--detach-keys`` syntax: comma-separated ``ctrl-<x>`` or single characters.

    ``<x>`` is a letter or one of ``@[\\]^_`` (the control characters have no other
    spelling); an empty spec disables detaching.
    """
    keys = bytearray()
    for key in spec.split(",") if spec else []:
        lowered = key.lower()
        if len(key) == 1:
            keys.append(ord(key))
        elif lowered.startswith("ctrl-") and len(key) == 6:
            letter = lowered[5]
            if "a" <= letter <= "z":
                keys.append(ord(letter) - ord("a") + 1)
            elif letter in "@[\\]^_":
                keys.append(ord(letter) - ord("@"))
            else:
                raise ConfigError(f"Unknown character: '{key}'")
        else:
            raise ConfigError(f"Unknown sequence: '{key}'")
    return bytes(keys)


class DetachScanner:
    """Finds the detach sequence in input, holding back a partial match."""

    def __init__(self, keys: bytes = DETACH_KEYS) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, detach?) for the next chunk of input."""
        out = bytearray()
        if not self.keys:
            return data, False
        for value in data:
            byte = bytes([value])
            if not self.keys.startswith(self._held + byte):
                out += self._held  # a broken match is ordinary input after all
                self._held = b""
            if self.keys.startswith(self._held + byte):
                self._held += byte
                if self._held == self.keys:
                    self._held = b""
                    return bytes(out), True
            else:
                out += byte
        return bytes(out), False
