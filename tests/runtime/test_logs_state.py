"""json-file logs, state.json, error classification and runtime detection (no root)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from dockyard.errors import (
    ConfigError,
    ContainerCommandNotExecutable,
    ContainerCommandNotFound,
    OCIRuntimeFailed,
    StoreError,
)
from dockyard.runtime import detect
from dockyard.runtime.console import DetachScanner
from dockyard.runtime.logs import MAX_ENTRY, LogWriter, parse_time, read_logs
from dockyard.runtime.runc import parse_signal, runtime_error
from dockyard.runtime.state import (
    EXITED,
    ContainerState,
    current_status,
    process_start_time,
    read_state,
    rfc3339_nano,
    write_state,
)


def entries(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_log_writer_splits_lines_per_stream(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = LogWriter(path)
    log.write("stdout", b"one\ntw")
    log.write("stderr", b"err\n")
    log.write("stdout", b"o\nunfinished")
    log.close()
    assert [(e["stream"], e["log"]) for e in entries(path)] == [
        ("stdout", "one\n"),
        ("stderr", "err\n"),
        ("stdout", "two\n"),
        ("stdout", "unfinished"),
    ]


def test_long_lines_are_cut_at_16k(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = LogWriter(path)
    log.write("stdout", b"x" * (MAX_ENTRY + 10) + b"\n")
    log.close()
    assert [len(e["log"]) for e in entries(path)] == [MAX_ENTRY, 11]


def test_read_logs_tail_since_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    lines = [
        {"log": f"line{i}\n", "stream": "stdout", "time": f"2024-05-01T10:00:0{i}.5Z"}
        for i in range(5)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"log":"tor')
    assert [e.text for e in read_logs(path, tail=2)] == ["line3\n", "line4\n"]
    since = parse_time("2024-05-01T10:00:03Z")
    assert [e.text for e in read_logs(path, since=since)] == ["line3\n", "line4\n"]
    assert (
        next(iter(read_logs(path, timestamps=True))).text
        == "2024-05-01T10:00:00.500000000Z line0\n"
    )
    assert list(read_logs(tmp_path / "missing")) == []


def test_follow_stops_when_not_running(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = LogWriter(path)
    log.write("stdout", b"a\n")
    calls = []

    def is_running() -> bool:
        calls.append(1)
        if len(calls) == 1:
            log.write("stdout", b"b\n")
            return True
        return False

    texts = [e.text for e in read_logs(path, follow=True, is_running=is_running, poll_interval=0)]
    log.close()
    assert texts == ["a\n", "b\n"]


def test_rfc3339_nano_is_gos() -> None:
    assert rfc3339_nano(1_700_000_000_123_400_000) == "2023-11-14T22:13:20.1234Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert parse_time("2023-11-14T22:13:20.1234Z") == pytest.approx(1_700_000_000.1234)


def test_state_round_trip_and_created_default(tmp_path: Path) -> None:
    assert read_state(tmp_path).status == "created"
    state = ContainerState(status=EXITED, container_id="x", exit_code=3)
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
    assert current_status(tmp_path) == state


@pytest.mark.parametrize("left", [b"", b'{"status": "runn', b"\0\0\0\0", b"[]"])
def test_a_state_file_cut_short_by_a_power_loss_is_an_exited_container(
    tmp_path: Path, left: bytes
) -> None:
    """``run --rm`` does not sync its state file: after a power loss it may be empty or
    partial. That container ended with the machine."""
    write_state(tmp_path, ContainerState(status="running", monitor_pid=1), durable=False)
    (tmp_path / "state.json").write_bytes(left)
    os.utime(tmp_path / "state.json", (1_000_000_000, 1_000_000_000))  # before this boot
    status = current_status(tmp_path)
    assert (status.status, status.exit_code) == (EXITED, 137)
    assert status.error.startswith("container state lost")


def test_a_dead_monitor_means_exited(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # pid is now dead: stand-in for a killed monitor
    write_state(tmp_path, ContainerState(status="running", monitor_pid=pid, monitor_start=1))
    status = current_status(tmp_path)
    assert (status.status, status.exit_code) == (EXITED, 137)
    assert read_state(tmp_path).status == EXITED


def test_a_reused_pid_is_not_the_monitor(tmp_path: Path) -> None:
    own_start = process_start_time(os.getpid())
    assert own_start is not None
    write_state(
        tmp_path,
        ContainerState(status="running", monitor_pid=os.getpid(), monitor_start=own_start + 1),
    )
    assert current_status(tmp_path).status == EXITED
    write_state(
        tmp_path, ContainerState(status="running", monitor_pid=os.getpid(), monitor_start=own_start)
    )
    assert current_status(tmp_path).status == "running"


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        (
            'runc run failed: unable to start container process: exec: "x": '
            "executable file not found in $PATH",
            ContainerCommandNotFound,
        ),
        (
            'exec failed: unable to start container process: exec: "/x": stat /x: '
            "no such file or directory",
            ContainerCommandNotFound,
        ),
        (
            'unable to start container process: exec: "/etc/passwd": permission denied',
            ContainerCommandNotExecutable,
        ),
        ("unable to apply caps: operation not permitted", OCIRuntimeFailed),
    ],
)
def test_runtime_errors_map_to_dockers_codes(message: str, cls: type[OCIRuntimeFailed]) -> None:
    error = runtime_error(["runc"], 1, message)
    assert type(error) is cls
    if cls is not OCIRuntimeFailed:
        assert (
            error.exit_code
            == {ContainerCommandNotFound: 127, ContainerCommandNotExecutable: 126}[cls]
        )


def test_parse_signal() -> None:
    assert parse_signal("KILL") == parse_signal("SIGKILL") == parse_signal("9") == 9
    with pytest.raises(OCIRuntimeFailed):
        parse_signal("NOPE")


def test_detach_scanner() -> None:
    scanner = DetachScanner()
    assert scanner.feed(b"ab\x10") == (b"ab", False)
    assert scanner.feed(b"c") == (b"\x10c", False)
    assert scanner.feed(b"\x10\x10\x11rest") == (b"\x10", True)


def _fake_runtime(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_no_working_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_runtime(bin_dir, "brokenrt", 'echo "cgroups in hybrid mode not supported" >&2; exit 1')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(detect, "CANDIDATES", ("missingrt", "brokenrt"))
    with pytest.raises(ConfigError, match="brokenrt: exit status 1"):
        detect.default_runtime(tmp_path / "root")


def test_working_runtime_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_runtime(bin_dir, "goodrt", "exit 0")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(detect, "CANDIDATES", ("goodrt",))
    runtime = detect.default_runtime(tmp_path / "root")
    assert runtime.name == "goodrt"
    (bin_dir / "goodrt").write_text("#!/bin/sh\nexit 1\n")  # no second probe: cached
    assert detect.default_runtime(tmp_path / "root") == runtime


def test_unknown_runtime_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        detect.get_runtime(tmp_path, "no-such-runtime-here")


def test_a_state_file_broken_since_the_boot_is_no_power_loss(tmp_path: Path) -> None:
    """A corrupt state file written this boot says nothing of the container: it may
    run. Taking it for exited would let ``rm`` (no -f) remove a running container."""
    (tmp_path / "state.json").write_bytes(b'{"status": "runn')
    with pytest.raises(StoreError, match="unreadable container state"):
        current_status(tmp_path)
