"""The container's stdio as its monitor serves it: output to the log and every attach
client, the clients' input to the container.

All non-blocking on the monitor's one selector (a registration's ``data`` is the
callback for its events), so neither a container that stops reading its stdin nor
a client that stops reading its output can stop the monitor from watching for the
exit, taking signals or serving other clients.  Input waits in a buffer until the
container takes it.  Output is never dropped: as in docker, a client that falls
far behind holds the container's output (it blocks writing) until it catches up
or detaches.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import socket
from collections.abc import Callable
from pathlib import Path

from dockyard.errors import AttachProtocolError
from dockyard.runtime import attach
from dockyard.runtime.console import set_winsize
from dockyard.runtime.logs import LogWriter

MAX_BEHIND = 1 << 20  # unsent bytes for one client at which reading output pauses
FLUSH_TIMEOUT = 2.0  # seconds for a client to take its last output and the exit code


class _Client:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.reader = attach.FrameReader()
        self.pending = bytearray()
        conn.setblocking(False)

    def flush(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self.pending:
                del self.pending[: self.conn.send(self.pending)]


class StdioHub:
    def __init__(
        self,
        sel: selectors.BaseSelector,
        listener: socket.socket,
        log: LogWriter,
        *,
        outputs: dict[int, str],
        input_fd: int,
        master: int,
        pidfd: int,
    ) -> None:
        """``outputs`` maps fds to stream names; ``input_fd`` -1 is no stdin, ``master``
        -1 no terminal; ``pidfd`` (the container's init) is signalled for clients."""
        self.sel, self.listener, self.log = sel, listener, log
        self.outputs, self.live = outputs, set(outputs)  # live: not at end of output yet
        self.master, self.pidfd = master, pidfd
        self.clients: list[_Client] = []
        self.input_fd, self.pending_input, self.input_ended = input_fd, bytearray(), False
        self.paused = False
        if input_fd >= 0:
            os.set_blocking(input_fd, False)
        listener.setblocking(False)
        sel.register(listener, selectors.EVENT_READ, self._on_connect)
        for fd in outputs:
            sel.register(fd, selectors.EVENT_READ, self._output_callback(fd))

    def add(self, conn: socket.socket) -> None:
        client = _Client(conn)
        self.clients.append(client)
        self.sel.register(conn, selectors.EVENT_READ, self._client_callback(client))

    def drain(self) -> None:
        """After the exit: pass on what was written just before it, then close the outputs."""
        self.paused = True  # so that nothing registers the outputs again
        for fd in self.outputs:
            os.set_blocking(fd, False)
            while self._pump(fd):
                pass
            if fd in self.sel.get_map():
                self.sel.unregister(fd)
            os.close(fd)
        self.live.clear()

    def close(self, exit_code: int, container_dir: Path) -> None:
        """Tell every client the exit code (late connections too), then stop listening."""
        attach.socket_path(container_dir).unlink(missing_ok=True)
        with contextlib.suppress(BlockingIOError):
            while True:
                self.add(self.listener.accept()[0])
        self.sel.unregister(self.listener)
        self.listener.close()
        for client in list(self.clients):
            client.pending += attach.int_frame(attach.EXIT, exit_code)
            self._drop(client, flush=True)
        self._close_input()

    # -- output ------------------------------------------------------------------------

    def _output_callback(self, fd: int) -> Callable[[int], None]:
        def on_output(_events: int) -> None:
            if self._pump(fd) is None:
                self.live.discard(fd)
                self.sel.unregister(fd)  # end of output; the exit follows

        return on_output

    def _pump(self, fd: int) -> bool | None:
        """Pass on one read of ``fd``: True if done, False if nothing was there, None at end."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the pty's last slave closed
                raise
            data = b""
        if not data:
            return None
        stream = self.outputs[fd]
        self.log.write(stream, data)
        message = attach.frame(attach.STREAM_KINDS[stream], data)
        for client in list(self.clients):
            client.pending += message
            self._flush(client)
        if not self.paused and any(len(c.pending) > MAX_BEHIND for c in self.clients):
            self.paused = True
            for live in self.live:
                self.sel.unregister(live)
        return True

    def _resume(self) -> None:
        caught_up = all(len(c.pending) <= MAX_BEHIND // 2 for c in self.clients)
        if self.paused and self.live and caught_up:
            self.paused = False
            for fd in self.live:
                self.sel.register(fd, selectors.EVENT_READ, self._output_callback(fd))

    # -- clients -----------------------------------------------------------------------

    def _on_connect(self, _events: int) -> None:
        with contextlib.suppress(BlockingIOError, ConnectionAbortedError):
            self.add(self.listener.accept()[0])

    def _client_callback(self, client: _Client) -> Callable[[int], None]:
        def on_event(events: int) -> None:
            try:
                if events & selectors.EVENT_WRITE:
                    self._flush(client)
                if events & selectors.EVENT_READ:
                    self._receive(client)
            except (OSError, AttachProtocolError):  # gone, or talking nonsense
                self._drop(client)

        return on_event

    def _flush(self, client: _Client) -> None:
        try:
            client.flush()
        except OSError:
            self._drop(client)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.pending else 0)
        self.sel.modify(client.conn, events, self._client_callback(client))
        self._resume()

    def _receive(self, client: _Client) -> None:
        data = client.conn.recv(65536)
        if not data:  # detached
            self._drop(client)
            return
        for kind, payload in client.reader.feed(data):
            self._handle(kind, payload)

    def _handle(self, kind: int, payload: bytes) -> None:
        if kind == attach.STDIN and not self.input_ended:
            self.pending_input += payload
            self._write_input()
        elif kind == attach.STDIN_EOF and self.master < 0:
            self.input_ended = True  # the container sees EOF after what is buffered
            self._write_input()
        elif kind == attach.RESIZE and self.master >= 0:
            set_winsize(self.master, *attach.parse_resize(payload))
        elif kind == attach.SIGNAL:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, attach.parse_int(payload))

    def _drop(self, client: _Client, *, flush: bool = False) -> None:
        if client not in self.clients:
            return
        self.clients.remove(client)
        self.sel.unregister(client.conn)
        if flush and client.pending:
            client.conn.settimeout(FLUSH_TIMEOUT)
            with contextlib.suppress(OSError):
                client.conn.sendall(client.pending)
        client.conn.close()
        self._resume()

    # -- input -------------------------------------------------------------------------

    def _write_input(self, _events: int = 0) -> None:
        """Write what the container's stdin takes now; watch it while some is left."""
        if self.input_fd < 0:
            return
        try:
            while self.pending_input:
                del self.pending_input[: os.write(self.input_fd, self.pending_input)]
        except BlockingIOError:
            pass
        except OSError:  # EPIPE: the container closed its stdin
            self._close_input()
            return
        watched = self.input_fd in self.sel.get_map()
        if self.pending_input and not watched:
            self.sel.register(self.input_fd, selectors.EVENT_WRITE, self._write_input)
        elif watched and not self.pending_input:
            self.sel.unregister(self.input_fd)
        if self.input_ended and not self.pending_input:
            self._close_input()

    def _close_input(self) -> None:
        if self.input_fd < 0:
            return
        if self.input_fd in self.sel.get_map():
            self.sel.unregister(self.input_fd)
        os.close(self.input_fd)
        self.input_fd = -1
