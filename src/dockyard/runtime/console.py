"""Terminals: the runtime's console socket, window sizes, and the interactive relay.

With ``process.terminal`` the runtime creates the container's pty and sends its
master fd over a unix socket (``--console-socket``) with SCM_RIGHTS.  Whoever holds
the master is the container's terminal: the monitor (logging it) or, for
``run -it``, the CLI, which relays it to the user's terminal in raw mode.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import socket
import struct
import tempfile
import termios
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from dockyard.errors import OCIRuntimeFailed

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


def copy_winsize(source: int, target: int) -> None:
    size = get_winsize(source)
    if size is not None:
        set_winsize(target, *size)


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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def relay(
    master: int,
    *,
    stdin: int = 0,
    stdout: int = 1,
    detach_keys: bytes = DETACH_KEYS,
    on_output: Callable[[bytes], None] | None = None,
) -> bool:
    """Be the container's terminal until it closes (False) or the user detaches (True).

    The local terminal (if ``stdin`` is one) is put in raw mode and restored;
    SIGWINCH copies its size to the container's pty.  ``on_output`` sees every
    byte of output (the caller's log).
    """
    import selectors

    old_attrs = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    old_handler = signal.getsignal(signal.SIGWINCH)

    def on_winch(_signum: int, _frame: FrameType | None) -> None:
        copy_winsize(stdin, master)

    scanner = DetachScanner(detach_keys)
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    sel.register(stdin, selectors.EVENT_READ)
    try:
        if old_attrs is not None:
            tty.setraw(stdin)
            copy_winsize(stdin, master)
            signal.signal(signal.SIGWINCH, on_winch)
        while True:
            for key, _ in sel.select():
                if key.fd == master:
                    try:
                        data = os.read(master, 65536)
                    except OSError as exc:  # EIO: every slave fd closed
                        if exc.errno != errno.EIO:
                            raise
                        data = b""
                    if not data:
                        return False
                    _write_all(stdout, data)
                    if on_output is not None:
                        on_output(data)
                else:
                    data = os.read(stdin, 65536)
                    if not data:  # our input ended: keep showing output
                        sel.unregister(stdin)
                        continue
                    forward, detached = scanner.feed(data)
                    if forward:
                        _write_all(master, forward)
                    if detached:
                        return True
    finally:
        sel.close()
        if old_attrs is not None:
            signal.signal(signal.SIGWINCH, old_handler)
            termios.tcsetattr(stdin, termios.TCSADRAIN, old_attrs)
