"""The client's side of the attach socket: ``attach``, ``run -it``, ``start -ai``.

Relays the monitor's output frames to our stdout/stderr and our stdin to the
container until the container exits (its exit code) or the user detaches (None):
the detach keys, or Ctrl-C when it is not proxied.  On a terminal container our
terminal goes raw and its size follows SIGWINCH; without one, ``sig_proxy`` hands
the signals a user sends us on to the container, as docker does.  Signals reach
the loop through a pipe, so a frame is never interleaved with another one sent
from a signal handler.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import socket
import termios
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from dockyard.errors import MonitorLost
from dockyard.runtime import attach
from dockyard.runtime.console import DETACH_KEYS, DetachScanner, get_winsize

# The signals docker's sig-proxy forwards that a user is likely to send.
PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2)  # fmt: skip


@dataclass
class AttachOptions:
    """Our side of the session; ``stdin`` None leaves the container's input alone."""

    tty: bool
    stdin: int | None = 0
    stdout: int = 1
    stderr: int = 2
    detach_keys: bytes = DETACH_KEYS
    sig_proxy: bool = True
    redraw: bool = False  # jiggle the size first, so the program shows its screen again


def attach_session(sock: socket.socket, opts: AttachOptions) -> int | None:
    """Be attached until the container exits (its code) or we detach (None).

    Raises MonitorLost if the monitor goes away without telling the exit code.
    """
    with _signal_pipe(_watched_signals(opts)) as signals, _raw_terminal(opts):
        session = _Session(sock, opts, signals)
        if opts.tty:
            session.resize(redraw=opts.redraw)
        try:
            return session.run()
        except KeyboardInterrupt:  # Ctrl-C not proxied: it detaches, as in docker
            return None


def _watched_signals(opts: AttachOptions) -> tuple[signal.Signals, ...]:
    if opts.tty:
        return (signal.SIGWINCH,)
    return PROXIED if opts.sig_proxy else ()


class _Session:
    def __init__(self, sock: socket.socket, opts: AttachOptions, signals: int) -> None:
        self.sock, self.opts, self.signals = sock, opts, signals
        self.reader = attach.FrameReader()
        self.scanner = DetachScanner(opts.detach_keys)
        self.sel = selectors.DefaultSelector()
        self.sel.register(sock, selectors.EVENT_READ)
        self.sel.register(signals, selectors.EVENT_READ)
        # A file or /dev/null as stdin: epoll refuses it, but it is always readable.
        self.file_input = False
        if opts.stdin is not None:
            try:
                self.sel.register(opts.stdin, selectors.EVENT_READ)
            except PermissionError:
                self.file_input = True
        self.targets = {attach.STDOUT: opts.stdout, attach.STDERR: opts.stderr}

    def run(self) -> int | None:
        try:
            while True:
                for key, _ in self.sel.select(0 if self.file_input else None):
                    if key.fileobj is self.sock:
                        code = self._receive()
                        if code is not None:
                            return code
                    elif key.fd == self.signals:
                        self._forward_signals()
                    elif self._send_input():
                        return None  # detached: the container runs on
                if self.file_input and self._send_input():
                    return None
        finally:
            self.sel.close()

    def resize(self, *, redraw: bool = False) -> None:
        size = get_winsize(self.opts.stdout)
        if size is None and self.opts.stdin is not None:
            size = get_winsize(self.opts.stdin)
        if size is None:
            return
        rows, cols = size
        if redraw:  # docker's trick: a shell redraws its prompt only if the size changes
            self.sock.sendall(attach.resize_frame(rows + 1, cols + 1))
        self.sock.sendall(attach.resize_frame(rows, cols))

    def _receive(self) -> int | None:
        data = self.sock.recv(65536)
        if not data:
            raise MonitorLost("the container's monitor exited unexpectedly")
        for kind, payload in self.reader.feed(data):
            if kind == attach.EXIT:
                return attach.parse_int(payload)
            target = self.targets.get(kind)
            if target is not None:
                _write_all(target, payload)
        return None

    def _forward_signals(self) -> None:
        for signum in os.read(self.signals, 64):
            if signum == signal.SIGWINCH:
                self.resize()
            else:
                self.sock.sendall(attach.int_frame(attach.SIGNAL, signum))

    def _send_input(self) -> bool:
        """Forward a read of our stdin; True when the user typed the detach keys."""
        assert self.opts.stdin is not None
        data = os.read(self.opts.stdin, 65536)
        if not data:  # our input ended; the output goes on until the exit
            if self.file_input:
                self.file_input = False
            else:
                self.sel.unregister(self.opts.stdin)
            if not self.opts.tty:
                self.sock.sendall(attach.frame(attach.STDIN_EOF))
            return False
        forward, detached = self.scanner.feed(data)
        if forward:
            self.sock.sendall(attach.frame(attach.STDIN, forward))
        return detached


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:  # our reader went away (`| head`): stay attached, as docker
        if exc.errno != errno.EPIPE:
            raise


@contextlib.contextmanager
def _signal_pipe(signals: tuple[signal.Signals, ...]) -> Iterator[int]:
    """A pipe that yields the number of each of ``signals`` we receive, meanwhile."""
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(write_end, bytes([signum]))

    saved = {sig: signal.signal(sig, on_signal) for sig in signals}
    try:
        yield read_end
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        os.close(read_end)
        os.close(write_end)


@contextlib.contextmanager
def _raw_terminal(opts: AttachOptions) -> Iterator[None]:
    """Our terminal in raw mode for a terminal container (keys go to it as typed)."""
    fd = opts.stdin
    if not opts.tty or fd is None or not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
