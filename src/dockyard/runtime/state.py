"""A container's run state on disk (``<container_dir>/state.json``) and its true status.

The monitor writes the file (atomically: temp + fsync + rename) when the container
starts and when it exits.  A reader never trusts "running" alone: the monitor may
have been killed.  ``current_status`` checks that the recorded monitor is alive
(same pid *and* same start time, which defeats pid reuse); if not, the container
is reconciled to exited — an orphaned container process is killed and removed from
the runtime (exit 137, as containerd reports a task whose shim died).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import NamedTuple

from dockyard.errors import DockyardError, StoreError

STATE_FILE = "state.json"
PID_FILE = "container.pid"  # the runtime's --pid-file: the container's init on the host
CREATED, RUNNING, EXITED = "created", "running", "exited"
STATE_LOST = "container state lost"  # the error of a state file a power loss cut short
EXIT_MONITOR_LOST = 137  # 128 + SIGKILL: the container was (or is now) killed


class ContainerState(NamedTuple):
    """What ``ps``/``inspect``/``wait`` need; times are RFC3339Nano UTC strings."""

    status: str = CREATED
    container_id: str = ""
    pid: int = 0  # the container's init, on the host
    monitor_pid: int = 0
    monitor_start: int = 0  # /proc/<pid>/stat starttime of the monitor
    started_at: str = ""
    finished_at: str = ""
    exit_code: int | None = None
    error: str = ""
    runtime_path: str = ""  # so any later process can reach the runtime's state
    runtime_root: str = ""
    # NetworkSettings.Ports while running: {"80/tcp": [{"HostIp": ..., "HostPort": ...}]}
    ports: dict[str, list[dict[str, str]]] = {}  # noqa: RUF012 — replaced, never changed

    @property
    def running(self) -> bool:
        return self.status == RUNNING


def rfc3339_nano(ns: int | None = None) -> str:
    """Go's time.RFC3339Nano in UTC (trailing zeros of the fraction trimmed), as docker."""
    ns = time.time_ns() if ns is None else ns
    seconds, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{frac:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def read_state(container_dir: Path) -> ContainerState:
    """The recorded state; ``created`` if the container never started.

    A state file cut short (a power loss after a write that was not synced: a ``--rm``
    container's) is a container that ended with the machine: exited.
    """
    try:
        raw = json.loads((container_dir / STATE_FILE).read_bytes())
    except FileNotFoundError:
        return ContainerState()
    except ValueError as exc:
        return _lost(container_dir, str(exc))
    except OSError as exc:
        raise StoreError(f"unreadable container state in {container_dir}: {exc}") from exc
    if not isinstance(raw, dict):
        return _lost(container_dir, "not a JSON object")
    known = ContainerState._fields
    return ContainerState(**{k: v for k, v in raw.items() if k in known})


def _lost(container_dir: Path, why: str) -> ContainerState:
    """An unparsable state file: a container that ended with the machine if the file was
    last written before this boot (an unsynced ``--rm`` state cut short by a power loss);
    otherwise something else broke it while the container may well run: refuse."""
    try:
        written_ns = (container_dir / STATE_FILE).stat().st_mtime_ns
    except OSError:
        written_ns = 0
    if written_ns >= _boot_time_ns():
        raise StoreError(f"unreadable container state in {container_dir}: {why}")
    return ContainerState(status=EXITED, exit_code=EXIT_MONITOR_LOST,
                          finished_at=rfc3339_nano(written_ns) if written_ns else "",
                          error=f"{STATE_LOST}: {why}")  # fmt: skip


def _boot_time_ns() -> int:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return int(line.split()[1]) * 10**9
    except (OSError, ValueError):
        pass
    return 0  # unknown: take the file for a power loss's, as before


def write_state(container_dir: Path, state: ContainerState, *, durable: bool = True) -> None:
    """Replace ``state.json`` atomically (a reader sees the old or the new file, whole).

    ``durable`` syncs it first, as docker syncs its container config; a throw-away
    container's (``run --rm``) is not worth two syncs of its run: a power loss may
    leave it cut short, which ``read_state`` takes for an exited container.
    """
    path = container_dir / STATE_FILE
    tmp = container_dir / f".{STATE_FILE}.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(state._asdict(), f)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def start_failed(
    previous: ContainerState, container_id: str, code: int, error: str
) -> ContainerState:
    """The state after a failed start, as docker records it: the container stays as it
    was (``created``, or ``exited`` from an earlier run, with that run's times) and
    carries the failure's exit code (127/126/128) and message."""
    return ContainerState(
        status=EXITED if previous.status == EXITED else CREATED,
        container_id=container_id,
        started_at=previous.started_at,
        finished_at=previous.finished_at,
        exit_code=code,
        error=error,
    )


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks after boot) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    after_comm = stat[stat.rfind(b")") + 2 :].split()
    if after_comm[0] in (b"Z", b"X"):  # dead, waiting to be reaped
        return None
    return int(after_comm[19])


def monitor_alive(state: ContainerState) -> bool:
    return state.monitor_pid > 0 and process_start_time(state.monitor_pid) == state.monitor_start


def current_status(container_dir: Path) -> ContainerState:
    """The container's state, reconciled with reality (see the module docstring)."""
    state = read_state(container_dir)
    if state.status == EXITED or state.monitor_pid == 0 or monitor_alive(state):
        if state.running and state.pid == 0:  # run in the foreground: runc wrote it
            state = state._replace(pid=_pid_from_file(container_dir))
        return state
    cleanup_error = _kill_orphan(state)
    state = state._replace(
        status=EXITED,
        exit_code=EXIT_MONITOR_LOST,
        error="container monitor died"
        + (f"; cleanup failed: {cleanup_error}" if cleanup_error else ""),
        finished_at=state.finished_at or rfc3339_nano(),
        pid=0,
        ports={},
    )
    write_state(container_dir, state)
    return state


def _pid_from_file(container_dir: Path) -> int:
    try:
        return int((container_dir / PID_FILE).read_text())
    except (OSError, ValueError):
        return 0  # not started yet


def _kill_orphan(state: ContainerState) -> str:
    """Kill and forget the container in the runtime; an error message, or ""."""
    if not state.runtime_path or not state.container_id:
        return ""
    from dockyard.runtime.runc import Runtime

    runtime = Runtime(
        name=os.path.basename(state.runtime_path),
        path=state.runtime_path,
        state_root=Path(state.runtime_root),
    )
    try:
        runtime.delete(state.container_id, force=True)
    except DockyardError as exc:  # recorded in the state, not hidden
        return str(exc)
    return ""
