"""Detached containers under the monitor: logs, state, a dead monitor, exec, terminals."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.errors import ContainerCommandNotFound
from dockyard.runtime.console import set_winsize
from dockyard.runtime.exec import ExecOptions, exec_in_container
from dockyard.runtime.launch import run_attached, start_detached
from dockyard.runtime.logs import log_path, read_logs
from dockyard.runtime.monitor import MonitorConfig
from dockyard.runtime.state import (
    CREATED,
    EXITED,
    RUNNING,
    current_status,
    process_start_time,
    read_state,
)

from .conftest import Container, MakeContainer, container_test

pytestmark = container_test


def monitor_config(container: Container, *, tty: bool = False) -> MonitorConfig:
    return MonitorConfig(
        container_id=container.id,
        container_dir=str(container.dir),
        runtime_path=container.runtime.path,
        runtime_root=str(container.runtime.state_root),
        tty=tty,
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_detached_run_logs_and_exit_code(make_container: MakeContainer) -> None:
    container = make_container("sh", "-c", "echo out; echo err >&2; sleep 0.2; exit 7")
    state = start_detached(monitor_config(container))
    assert state.status == RUNNING and state.pid > 0 and state.started_at.endswith("Z")
    wait_for(lambda: read_state(container.dir).status == EXITED)
    final = current_status(container.dir)
    assert (final.status, final.exit_code, final.pid) == (EXITED, 7, 0)
    assert final.finished_at >= final.started_at
    lines = log_path(container.dir, container.id).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert sorted((e["stream"], e["log"]) for e in entries) == [
        ("stderr", "err\n"),
        ("stdout", "out\n"),
    ]
    assert all(set(e) == {"log", "stream", "time"} and e["time"].endswith("Z") for e in entries)
    assert container.id not in container.runtime.list_ids()  # removed from runc after exit


def test_detached_missing_command_fails_with_127(make_container: MakeContainer) -> None:
    container = make_container("no-such-command")
    with pytest.raises(ContainerCommandNotFound):
        start_detached(monitor_config(container))
    state = read_state(container.dir)  # as docker: still created, with the failure's code
    assert (state.status, state.exit_code, state.monitor_pid) == (CREATED, 127, 0)
    assert current_status(container.dir).status == CREATED


def test_killed_monitor_is_reported_exited(make_container: MakeContainer) -> None:
    container = make_container("sleep", "30")
    state = start_detached(monitor_config(container))
    os.kill(state.monitor_pid, signal.SIGKILL)
    wait_for(lambda: process_start_time(state.monitor_pid) is None)
    status = current_status(container.dir)
    assert status.status == EXITED and status.exit_code == 137
    assert "monitor died" in status.error
    assert container.id not in container.runtime.list_ids()  # the orphan was killed
    assert read_state(container.dir).status == EXITED  # and that was recorded


def test_follow_logs_until_exit(make_container: MakeContainer) -> None:
    container = make_container("sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.1; done")
    start_detached(monitor_config(container))
    texts = [
        entry.text
        for entry in read_logs(
            log_path(container.dir, container.id),
            follow=True,
            is_running=lambda: current_status(container.dir).running,
            poll_interval=0.02,
        )
    ]
    assert texts == ["line1\n", "line2\n", "line3\n"]


def test_exec_into_a_running_container(make_container: MakeContainer, tmp_path: Path) -> None:
    container = make_container("sleep", "30", env=["FROM_RUN=1"])
    start_detached(monitor_config(container))
    out = tmp_path / "exec-out"
    with open(out, "wb") as f:
        code = exec_in_container(
            container.runtime,
            container.id,
            container.dir,
            ExecOptions(
                ["sh", "-c", "echo hi $FROM_RUN $EXTRA $(id -u) $(pwd)"],
                env=["EXTRA=2"],
                user="nobody",
                workdir="/tmp",
            ),
            stdout=f.fileno(),
        )
    assert code == 0
    assert out.read_text() == "hi 1 2 65534 /tmp\n"
    assert (
        exec_in_container(
            container.runtime, container.id, container.dir, ExecOptions(["sh", "-c", "exit 4"])
        )
        == 4
    )
    with pytest.raises(ContainerCommandNotFound):
        exec_in_container(container.runtime, container.id, container.dir, ExecOptions(["nope"]))
    container.runtime.kill(container.id, "KILL")
    wait_for(lambda: read_state(container.dir).status == EXITED)
    assert read_state(container.dir).exit_code == 137


def _drive_terminal(user_side: int, script: bytes, until: bytes, seen: bytearray) -> None:
    """Type ``script`` once the prompt shows; collect output until ``until`` or EOF."""
    sent = False
    while until not in seen:
        try:
            data = os.read(user_side, 4096)
        except OSError:
            return
        if not data:
            return
        seen += data
        if not sent and b"# " in seen:
            os.write(user_side, script)
            sent = True


def test_interactive_terminal_relays_and_returns_exit_code(make_container: MakeContainer) -> None:
    container = make_container("sh", tty=True)
    user_side, terminal = os.openpty()  # our "user's terminal": we type on user_side
    set_winsize(terminal, 33, 101)
    seen = bytearray()

    def typist_script() -> None:
        _drive_terminal(user_side, b"stty size; echo $TERM\r", b"xterm", seen)
        set_winsize(terminal, 44, 120)  # the user resizes the window
        os.kill(os.getpid(), signal.SIGWINCH)
        time.sleep(0.1)
        os.write(user_side, b"stty size; exit 5\r")
        _drive_terminal(user_side, b"", b"44 120", seen)

    typist = threading.Thread(target=typist_script)
    typist.start()
    try:
        code = run_attached(monitor_config(container, tty=True), stdin=terminal, stdout=terminal)
    finally:
        typist.join(5)
        os.close(user_side)
        os.close(terminal)
    assert code == 5
    assert b"33 101" in seen and b"xterm" in seen and b"44 120" in seen
    assert read_state(container.dir).exit_code == 5
    logged = "".join(e.text for e in read_logs(log_path(container.dir, container.id)))
    assert "xterm" in logged


def test_detach_keys_leave_the_container_running(make_container: MakeContainer) -> None:
    container = make_container("sh", tty=True)
    user_side, terminal = os.openpty()
    seen = bytearray()
    typist = threading.Thread(
        target=_drive_terminal, args=(user_side, b"echo before\r\x10\x11", b"\x00", seen)
    )
    typist.start()
    try:
        code = run_attached(monitor_config(container, tty=True), stdin=terminal, stdout=terminal)
    finally:
        os.close(terminal)
        os.close(user_side)
        typist.join(5)
    assert code is None
    assert current_status(container.dir).status == RUNNING
    container.runtime.kill(container.id, "KILL")
    wait_for(lambda: read_state(container.dir).status == EXITED)
