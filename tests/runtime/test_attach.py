"""The monitor's attach socket with real containers: input, fan-out, signals, detaching."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

from dockyard.runtime import attach
from dockyard.runtime.attach_client import AttachOptions, attach_session
from dockyard.runtime.console import parse_detach_keys
from dockyard.runtime.launch import start_detached
from dockyard.runtime.monitor import MonitorConfig
from dockyard.runtime.state import EXITED, RUNNING, current_status, read_state

from .conftest import Container, MakeContainer, container_test

pytestmark = container_test

READ_LINES = "while read l; do echo got $l; done"


def config(container: Container, *, tty: bool = False, open_stdin: bool = False) -> MonitorConfig:
    return MonitorConfig(
        container_id=container.id,
        container_dir=str(container.dir),
        runtime_path=container.runtime.path,
        runtime_root=str(container.runtime.state_root),
        tty=tty,
        open_stdin=open_stdin,
    )


def connect(container: Container) -> socket.socket:
    sock = attach.connect(container.dir)
    assert sock is not None
    sock.settimeout(20)
    return sock


class Received:
    """What the monitor sent a client: output by kind, and the exit code."""

    def __init__(self) -> None:
        self.reader = attach.FrameReader()
        self.output = {attach.STDOUT: bytearray(), attach.STDERR: bytearray()}
        self.code: int | None = None

    def read(self, sock: socket.socket) -> Received:
        """Until the monitor closes the connection, or the socket's timeout passes."""
        with contextlib.suppress(TimeoutError):
            while data := sock.recv(65536):
                for kind, payload in self.reader.feed(data):
                    if kind == attach.EXIT:
                        self.code = attach.parse_int(payload)
                    else:
                        self.output[kind] += payload
        return self


def session(sock: socket.socket) -> tuple[dict[int, bytes], int | None]:
    received = Received().read(sock)
    return {kind: bytes(data) for kind, data in received.output.items()}, received.code


def test_input_output_and_end_of_input(make_container: MakeContainer) -> None:
    container = make_container("sh", "-c", READ_LINES + "; echo done >&2; exit 4")
    start_detached(config(container, open_stdin=True))
    with connect(container) as sock:
        sock.sendall(attach.frame(attach.STDIN, b"a\nb"))
        sock.sendall(attach.frame(attach.STDIN, b"\n") + attach.frame(attach.STDIN_EOF))
        output, code = session(sock)
    assert output == {attach.STDOUT: b"got a\ngot b\n", attach.STDERR: b"done\n"}
    assert code == 4 == read_state(container.dir).exit_code
    assert attach.connect(container.dir) is None  # the socket went with the monitor


def test_every_client_sees_the_output(make_container: MakeContainer) -> None:
    container = make_container("sh", "-c", "read x; echo $x; echo err >&2")
    start_detached(config(container, open_stdin=True))
    with connect(container) as first, connect(container) as second:
        first.sendall(attach.frame(attach.STDIN, b"hello\n"))
        results = [session(first), session(second)]
    expected: tuple[dict[int, bytes], int | None] = (
        {attach.STDOUT: b"hello\n", attach.STDERR: b"err\n"},
        0,
    )
    assert results == [expected, expected]


def test_a_client_that_does_not_read_holds_the_output(make_container: MakeContainer) -> None:
    container = make_container("sh", "-c", "read x; head -c 20000000 /dev/zero")
    start_detached(config(container, open_stdin=True))
    stuck, reader = connect(container), connect(container)
    reader.sendall(attach.frame(attach.STDIN, b"go\n"))
    reader.settimeout(1.0)
    received = Received().read(reader)
    held = len(received.output[attach.STDOUT])
    assert 0 < held < 20_000_000  # held up: docker's attach does not drop output either
    assert received.code is None and read_state(container.dir).status == RUNNING
    stuck.close()  # it detaches: the output flows again
    reader.settimeout(20)
    final = received.read(reader)
    reader.close()
    assert (len(final.output[attach.STDOUT]), final.code) == (20_000_000, 0)


def test_signals_reach_the_container(make_container: MakeContainer) -> None:
    script = 'trap "exit 9" TERM; while true; do echo tick; sleep 0.1; done'
    container = make_container("sh", "-c", script)
    start_detached(config(container))
    with connect(container) as sock:
        while b"tick" not in sock.recv(4096):  # attached (output is not replayed)
            pass
        sock.sendall(attach.int_frame(attach.SIGNAL, 15))
        _, code = session(sock)
    assert code == 9


def test_custom_detach_keys_on_a_terminal(make_container: MakeContainer) -> None:
    container = make_container("sh", tty=True)
    start_detached(config(container, tty=True))
    user_side, terminal = os.openpty()
    seen = bytearray()

    def typist() -> None:
        while b"# " not in seen:
            seen.extend(os.read(user_side, 4096))
        os.write(user_side, b"echo on-$((2*3))\r")
        while b"on-6" not in seen:
            seen.extend(os.read(user_side, 4096))
        os.write(user_side, b"\x10\x11\x01x")  # Ctrl-P Ctrl-Q is typed through

    thread = threading.Thread(target=typist)
    thread.start()
    opts = AttachOptions(tty=True, stdin=terminal, stdout=terminal, stderr=terminal,
                         detach_keys=parse_detach_keys("ctrl-a,x"), redraw=True)  # fmt: skip
    try:
        with connect(container) as sock:
            assert attach_session(sock, opts) is None
    finally:
        thread.join(10)
        os.close(terminal)
        os.close(user_side)
    assert current_status(container.dir).status == RUNNING
    container.runtime.kill(container.id, "KILL")
    deadline = time.monotonic() + 10
    while read_state(container.dir).status != EXITED and time.monotonic() < deadline:
        time.sleep(0.02)
    assert read_state(container.dir).exit_code == 137
