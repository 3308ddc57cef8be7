"""``run`` / ``start -a`` without a terminal: the CLI process is the container's monitor.

Docker always logs, so the output is copied both to our stdout/stderr and to the
json-file log.  ``runtime run`` in the foreground (not ``--detach``) starts the
container, forwards the signals it receives to it and removes it from the runtime
when it exits: one runtime process in all, which keeps ``run --rm busybox true``
fast.  Our pid is recorded as the monitor's, so other ``dockyard`` processes see the
container running while we live and exited (137) if we are killed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError
from dockyard.runtime import _proc
from dockyard.runtime.logs import LogWriter, log_path
from dockyard.runtime.runc import RUNTIME_LOG, Runtime, logged_error, runtime_error
from dockyard.runtime.state import (
    EXITED,
    PID_FILE,
    RUNNING,
    ContainerState,
    process_start_time,
    read_state,
    rfc3339_nano,
    start_failed,
    write_state,
)

if TYPE_CHECKING:
    from dockyard.network.ports import PortRequest

# Signals a user sends to `run` that docker's sig-proxy hands on to the container.
PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2)  # fmt: skip


def run_foreground(
    runtime: Runtime,
    container_id: str,
    bundle: Path,
    *,
    stdin: int | None = None,
    stdout: int = 1,
    stderr: int = 2,
    ports: list[PortRequest] | None = None,
    after_signal: Callable[[int], None] | None = None,
    volatile: bool = False,
) -> int:
    """Run the container to its end; its exit code.

    ``volatile``: the container is removed when it ends (``run --rm``), its state
    file is not synced (``write_state``).

    ``stdin`` None gives the container /dev/null.  Raises ContainerCommandNotFound /
    ContainerCommandNotExecutable / OCIRuntimeFailed when it cannot start (the
    container then stays as it was, with docker's code for that failure: ``start_failed``).
    """
    previous = read_state(bundle)
    pid = os.getpid()
    state = ContainerState(
        status=RUNNING,
        container_id=container_id,
        monitor_pid=pid,
        monitor_start=process_start_time(pid) or 0,
        started_at=rfc3339_nano(),
        runtime_path=runtime.path,
        runtime_root=str(runtime.state_root),
    )
    proxy = None
    log = None
    try:
        if ports:
            from dockyard.network.proxy import publish_ports

            proxy = publish_ports(bundle, ports)
            state = state._replace(ports=proxy.ports if proxy else {})
        write_state(bundle, state, durable=not volatile)
        log = LogWriter(log_path(bundle, container_id))
        targets = {"stdout": stdout, "stderr": stderr}
        code = _run(runtime, container_id, bundle, log, stdin, targets, after_signal)
    except DockyardError as exc:
        from dockyard.runtime.monitor import startup_exit_code

        failed = start_failed(previous, container_id, startup_exit_code(exc), str(exc))
        write_state(bundle, failed, durable=not volatile)
        raise
    finally:
        if log is not None:
            log.close()
        if proxy is not None:
            proxy.stop()
    _finish(bundle, state, code, "", durable=not volatile)
    return code


def _finish(
    bundle: Path, state: ContainerState, code: int, error: str, *, durable: bool = True
) -> None:
    state = state._replace(
        status=EXITED, exit_code=code, error=error, finished_at=rfc3339_nano(), pid=0, ports={}
    )
    write_state(bundle, state, durable=durable)


def _run(
    runtime: Runtime,
    container_id: str,
    bundle: Path,
    log: LogWriter,
    stdin: int | None,
    targets: dict[str, int],
    after_signal: Callable[[int], None] | None = None,
) -> int:
    runtime_log = bundle / RUNTIME_LOG
    runtime_log.write_bytes(b"")
    pid_file = bundle / PID_FILE  # for inspect's State.Pid; runc writes it once started
    pid_file.unlink(missing_ok=True)
    argv = [runtime.path, "--root", str(runtime.state_root), "--log", str(runtime_log),
            "--log-format", "json", "run", "--pid-file", str(pid_file),
            "--bundle", str(bundle), container_id]  # fmt: skip
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC) if stdin is None else -1
    try:
        child = _proc.spawn(argv, stdin=stdin if stdin is not None else devnull,
                            stdout=out_w, stderr=err_w)  # fmt: skip
    finally:
        for fd in (out_w, err_w, devnull):
            if fd >= 0:
                os.close(fd)
    saved = {sig: signal.signal(sig, forwarder(child, after_signal)) for sig in PROXIED}
    relay = Relay(targets, log, f"{runtime.name} run failed: ".encode())
    try:
        relay.run(child, {out_r: "stdout", err_r: "stderr"})
        code = _proc.wait(child)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    message = logged_error(runtime_log) if code != 0 else None
    if message is not None:
        raise runtime_error(argv, code, message)
    relay.release()
    return code


def forwarder(
    child: int, after: Callable[[int], None] | None = None
) -> Callable[[int, FrameType | None], None]:
    """docker's sig-proxy: hand the signal to the runtime; then ``after`` (which resumes a
    paused container the signal is meant to end)."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)  # the runtime hands it on to the container
        if after is not None:
            with contextlib.suppress(DockyardError):  # a failed resume must not end us
                after(signum)

    return forward


class Relay:
    """Copies output to the terminal and the log until the runtime exits.

    The runtime prints its own failure on the stderr it shares with the container;
    a chunk that starts like one is held back until the runtime's exit tells whether
    it failed (then the CLI reports the error once) or it was the container's.

    When our reader goes away (``dockyard run … yes | head -2``), the container's end
    of that stream is closed too: its next write there gets SIGPIPE, as it would in
    the shell's pipeline, so the pipeline ends (status 141) instead of waiting on a
    container that writes forever.
    """

    def __init__(
        self, targets: dict[str, int], log: LogWriter | None, failure_prefix: bytes
    ) -> None:
        self.targets = targets
        self.log = log
        self.failure_prefix = failure_prefix
        self.held = b""
        self.gone: set[int] = set()  # container outputs closed: their reader went away

    def run(self, child: int, outputs: dict[int, str]) -> None:
        pidfd = os.pidfd_open(child)
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ)
        for fd in outputs:
            sel.register(fd, selectors.EVENT_READ)
        exited = False
        try:
            while not exited and len(sel.get_map()) > 1:
                for key, _ in sel.select():
                    if key.fd == pidfd:
                        exited = True
                    elif not self._pump(key.fd, outputs[key.fd]):
                        sel.unregister(key.fd)
            for fd, stream in outputs.items():  # what was written just before the exit
                if fd not in self.gone:
                    os.set_blocking(fd, False)
                    while self._pump(fd, stream):
                        pass
        finally:
            sel.close()
            for fd in [pidfd, *outputs]:
                if fd not in self.gone:
                    os.close(fd)

    def release(self) -> None:
        """The held chunk was the container's after all."""
        if self.held:
            self._emit("stderr", self.held)
            self.held = b""

    def _pump(self, fd: int, stream: str) -> bool:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return False
        if not data:
            return False
        if stream == "stderr" and (self.held or data.startswith(self.failure_prefix)):
            self.held += data
        elif not self._emit(stream, data):
            os.close(fd)  # the container's next write there gets SIGPIPE
            self.gone.add(fd)
            return False
        return True

    def _emit(self, stream: str, data: bytes) -> bool:
        """Log and copy ``data``; False if our reader of ``stream`` went away."""
        if self.log is not None:
            self.log.write(stream, data)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.targets[stream], view) :]
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            return False
        return True
