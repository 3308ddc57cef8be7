"""The per-container monitor: dockyard's conmon / containerd-shim.

One small process per started container.  It is a child subreaper, starts the
container with ``runtime run --detach`` (so no runtime process lingers; the
container's init is re-parented to the monitor), holds the container's stdio
(pipes — stdin too for ``-i`` — or the pty master received over the console
socket), writes the json-file log, serves the attach socket (``attach.py``:
output to every client, their input to the container), records pid / times /
exit code in ``state.json``, removes the container from the runtime and exits
when the container does.

It tells whoever launched it over a unix socket (the *channel*) one JSON line:
the container has started, or failed to.  An *attached* launcher (``run -it``)
then connects to the attach socket like any client; until it has (or has gone),
the monitor reads no output and does not reap, so that client sees everything.

``python -m dockyard.runtime.monitor CONFIG_JSON [CHANNEL_FD]`` runs it detached,
for a launcher that prefers exec to fork (``launch.py`` forks).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import signal
import socket
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import (
    Conflict,
    ContainerCommandNotExecutable,
    ContainerCommandNotFound,
    DockyardError,
    OCIRuntimeFailed,
)
from dockyard.runtime import _libc, _proc, attach
from dockyard.runtime.attach_hub import StdioHub
from dockyard.runtime.console import console_socket, receive_pty_master
from dockyard.runtime.logs import LogWriter, log_path
from dockyard.runtime.runc import Runtime
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
    from dockyard.network.proxy import PortProxy

EXIT_UNKNOWN = 255  # docker's code for an exit status nobody could observe
EXIT_START_FAILED = 128  # docker's exitUnknown: the runtime failed to start the container


@dataclass
class MonitorConfig:
    """What a monitor needs to run one container (JSON-serialisable for ``-m``)."""

    container_id: str
    container_dir: str  # the OCI bundle: config.json is here
    runtime_path: str
    runtime_root: str
    tty: bool = False
    open_stdin: bool = False  # ``-i``: a stdin pipe that attach clients write to
    on_exit: list[str] = field(default_factory=list)  # argv run after exit, e.g. for --rm
    rootfs: str = ""  # unmounted once the container is gone, before the exit is recorded
    ports: list[dict[str, object]] = field(default_factory=list)  # PortRequest.to_json()

    @classmethod
    def load(cls, path: Path) -> MonitorConfig:
        return cls(**json.loads(path.read_text()))

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))


def send_message(channel: socket.socket, message: dict[str, object]) -> None:
    # OSError: the launcher is gone (detached or killed), nobody to tell.
    with contextlib.suppress(OSError):
        channel.sendall(json.dumps(message).encode() + b"\n")


def startup_exit_code(exc: BaseException) -> int:
    """The exit code docker records for a container that failed to start."""
    if isinstance(exc, ContainerCommandNotFound | ContainerCommandNotExecutable):
        return exc.exit_code
    return EXIT_START_FAILED


def failure_message(exc: BaseException) -> dict[str, object]:
    if isinstance(exc, OCIRuntimeFailed):
        return {
            "ok": False,
            "exit_code": startup_exit_code(exc),
            "message": exc.stderr or str(exc),
            "argv": exc.argv,
            "returncode": exc.returncode,
        }
    # Not the runtime's failure (a published port is taken, say): the launcher raises
    # it as what it is, not as "OCI runtime failed".
    kind = "plain" if isinstance(exc, DockyardError) else ""
    kind = "conflict" if isinstance(exc, Conflict) else kind
    return {"ok": False, "exit_code": EXIT_START_FAILED, "message": str(exc) or type(exc).__name__,
            "kind": kind}  # fmt: skip


@dataclass
class _Stdio:
    """The monitor's ends of the container's stdio."""

    outputs: dict[int, str]  # fd -> stream name; for a tty, the pty master -> "stdout"
    input_fd: int = -1  # the stdin pipe's write end, or a dup of the pty master


class Monitor:
    """One container's supervision; ``run`` returns when the container has exited."""

    def __init__(self, config: MonitorConfig, channel: socket.socket, *, attached: bool) -> None:
        self.config = config
        self.channel = channel
        self.attached = attached
        self.bundle = Path(config.container_dir)
        self.runtime = Runtime(
            os.path.basename(config.runtime_path), config.runtime_path, Path(config.runtime_root)
        )
        self.state = ContainerState(
            container_id=config.container_id,
            monitor_pid=os.getpid(),
            monitor_start=process_start_time(os.getpid()) or 0,
            runtime_path=config.runtime_path,
            runtime_root=config.runtime_root,
        )
        self.proxy: PortProxy | None = None

    def run(self) -> None:
        _libc.set_child_subreaper()
        # Created before the start, so a reader following the log never misses it.
        log = LogWriter(log_path(self.bundle, self.config.container_id))
        # Listening before `running` is recorded: an `attach` right after `run -d` connects.
        listener = attach.listen(self.bundle)
        try:
            stdio = self._start()
        except DockyardError as exc:
            log.close()
            listener.close()
            attach.socket_path(self.bundle).unlink(missing_ok=True)
            self._unmount()
            self._record_start_failure(startup_exit_code(exc), str(exc))
            send_message(self.channel, failure_message(exc))
            return
        self.state = self.state._replace(status=RUNNING, started_at=rfc3339_nano())
        write_state(self.bundle, self.state)
        send_message(self.channel, {"ok": True, "pid": self.state.pid})
        first_client = self._await_launcher(listener) if self.attached else None
        self.channel.close()
        code, hub = self._supervise(stdio, listener, log, first_client)
        self._stop_proxy()
        error = ""
        try:
            self.runtime.delete(self.config.container_id, force=True)
        except DockyardError as exc:
            error = f"removing the container from the runtime failed: {exc}"
        # Before the exit is recorded: a `start` that sees "exited" mounts afresh.
        error = self._unmount() or error
        self._finish(code, error)
        hub.close(code, self.bundle)  # after the exit is recorded: clients may look
        if self.config.on_exit:
            _proc.wait(_proc.spawn(self.config.on_exit))

    def _await_launcher(self, listener: socket.socket) -> socket.socket | None:
        """The attached launcher's attach connection; None if it went away instead."""
        ready, _, _ = select.select([listener, self.channel], [], [])
        if listener not in ready:
            return None
        conn, _ = listener.accept()
        return conn

    def _start(self) -> _Stdio:
        """Start the container detached; return the monitor's ends of its stdio."""
        pid_file = self.bundle / PID_FILE
        pid_file.unlink(missing_ok=True)
        self._publish_ports()
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            start = self._start_tty if self.config.tty else self._start_piped
            stdio = start(pid_file, devnull)
        except BaseException:
            self._stop_proxy()
            raise
        finally:
            os.close(devnull)
        self.state = self.state._replace(pid=int(pid_file.read_text()))
        return stdio

    def _publish_ports(self) -> None:
        if not self.config.ports:
            return
        from dockyard.network.ports import PortRequest
        from dockyard.network.proxy import publish_ports

        requests = [PortRequest.from_json(raw) for raw in self.config.ports]
        self.proxy = publish_ports(self.bundle, requests)
        self.state = self.state._replace(ports=self.proxy.ports if self.proxy else {})

    def _stop_proxy(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None

    def _start_tty(self, pid_file: Path, devnull: int) -> _Stdio:
        with console_socket() as (sock_path, listener):
            self.runtime.run(self.config.container_id, self.bundle, detach=True,
                             console_socket=sock_path, pid_file=pid_file,
                             stdin=devnull, stdout=devnull, stderr=devnull)  # fmt: skip
            master = receive_pty_master(listener)
        # A separate fd for input, so the selector can watch it for writing.
        return _Stdio({master: "stdout"}, input_fd=os.dup(master))

    def _start_piped(self, pid_file: Path, devnull: int) -> _Stdio:
        in_r, in_w = os.pipe() if self.config.open_stdin else (devnull, -1)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            self.runtime.run(self.config.container_id, self.bundle, detach=True,
                             pid_file=pid_file, stdin=in_r, stdout=out_w, stderr=err_w)  # fmt: skip
        except BaseException:
            for fd in (out_r, err_r, in_w):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in {in_r, out_w, err_w} - {devnull}:
                os.close(fd)
        return _Stdio({out_r: "stdout", err_r: "stderr"}, input_fd=in_w)

    def _supervise(
        self,
        stdio: _Stdio,
        listener: socket.socket,
        log: LogWriter,
        first_client: socket.socket | None,
    ) -> tuple[int, StdioHub]:
        """Serve the container's stdio until its init exits; its exit code, and the hub."""
        exited = False

        def on_exit(_events: int) -> None:
            nonlocal exited
            exited = True

        pidfd = os.pidfd_open(self.state.pid)
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ, on_exit)
        master = next(iter(stdio.outputs)) if self.config.tty else -1
        hub = StdioHub(sel, listener, log, outputs=stdio.outputs, input_fd=stdio.input_fd,
                       master=master, pidfd=pidfd)  # fmt: skip
        if first_client is not None:
            hub.add(first_client)
        while not exited:
            for key, events in sel.select():
                key.data(events)
        hub.drain()
        log.close()
        sel.unregister(pidfd)
        os.close(pidfd)
        return self._reap(), hub

    def _reap(self) -> int:
        try:
            _, status = os.waitpid(self.state.pid, 0)
        except ChildProcessError:  # not re-parented to us: the status is lost
            return EXIT_UNKNOWN
        return _proc.exit_code(status)

    def _unmount(self) -> str:
        if not self.config.rootfs:
            return ""
        from dockyard.runtime.overlay import unmount_rootfs

        try:
            unmount_rootfs(Path(self.config.rootfs))
        except DockyardError as exc:
            return str(exc)
        return ""

    def _record_start_failure(self, code: int, error: str) -> None:
        """As docker: the container stays ``created`` (or ``exited`` from an earlier run)."""
        previous = read_state(self.bundle)  # nothing of ours written yet
        write_state(self.bundle, start_failed(previous, self.config.container_id, code, error))

    def _finish(self, code: int, error: str) -> None:
        self.state = self.state._replace(
            status=EXITED, exit_code=code, error=error, finished_at=rfc3339_nano(), pid=0, ports={}
        )
        write_state(self.bundle, self.state)


def detach_stdio(keep: int) -> None:
    """A daemon's hygiene after fork: stdio on /dev/null, no inherited descriptors."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_IGN)


def main(argv: list[str]) -> int:
    """``python -m dockyard.runtime.monitor CONFIG_JSON [CHANNEL_FD]``."""
    config = MonitorConfig.load(Path(argv[0]))
    if len(argv) > 1:
        channel = socket.socket(fileno=int(argv[1]))
    else:
        channel, _ = socket.socketpair()
    Monitor(config, channel, attached=False).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
