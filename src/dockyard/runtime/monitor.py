"""The per-container monitor: dockyard's conmon / containerd-shim.

One small process per started container.  It is a child subreaper, starts the
container with ``runtime run --detach`` (so no runtime process lingers; the
container's init is re-parented to the monitor), holds the container's stdio
(pipes, or the pty master received over the console socket), writes the json-file
log, records pid / times / exit code in ``state.json``, removes the container from
the runtime and exits when the container does.

It talks to whoever launched it over a unix socket (the *channel*): one JSON line
when the container has started or failed to, with the pty master attached
(SCM_RIGHTS) for an attached terminal; then, if attached, one more line with the
exit code.  While an attached client holds the terminal, the client reads it (and
logs); once the client detaches (closes the channel), the monitor takes over.

``python -m dockyard.runtime.monitor CONFIG_JSON [CHANNEL_FD]`` runs it detached,
for a launcher that prefers exec to fork (``launch.py`` forks).
"""

from __future__ import annotations

import errno
import json
import os
import selectors
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dockyard.errors import DockyardError, OCIRuntimeFailed
from dockyard.runtime import _libc, _proc
from dockyard.runtime.console import console_socket, receive_pty_master
from dockyard.runtime.logs import LogWriter, log_path
from dockyard.runtime.runc import (
    ContainerCommandNotExecutable,
    ContainerCommandNotFound,
    Runtime,
)
from dockyard.runtime.state import (
    EXITED,
    RUNNING,
    ContainerState,
    process_start_time,
    rfc3339_nano,
    write_state,
)

PID_FILE = "container.pid"
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
    on_exit: list[str] = field(default_factory=list)  # argv run after exit, e.g. for --rm
    rootfs: str = ""  # unmounted once the container is gone, before the exit is recorded

    @classmethod
    def load(cls, path: Path) -> MonitorConfig:
        return cls(**json.loads(path.read_text()))

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))


def send_message(
    channel: socket.socket, message: dict[str, object], fds: Sequence[int] = ()
) -> None:
    data = json.dumps(message).encode() + b"\n"
    try:
        if fds:
            socket.send_fds(channel, [data], fds)
        else:
            channel.sendall(data)
    except OSError:
        pass  # the launcher is gone (detached or killed): nobody to tell


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
    return {"ok": False, "exit_code": EXIT_START_FAILED, "message": str(exc) or type(exc).__name__}


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

    def run(self) -> None:
        _libc.set_child_subreaper()
        # Created before the start, so a reader following the log never misses it.
        log = LogWriter(log_path(self.bundle, self.config.container_id))
        try:
            outputs = self._start()
        except DockyardError as exc:
            log.close()
            self._unmount()
            self._finish(startup_exit_code(exc), str(exc))
            send_message(self.channel, failure_message(exc))
            return
        master = next(iter(outputs)) if self.config.tty else -1
        self.state.status, self.state.started_at = RUNNING, rfc3339_nano()
        write_state(self.bundle, self.state)
        started: dict[str, object] = {"ok": True, "pid": self.state.pid}
        send_message(self.channel, started, [master] if self.attached and master >= 0 else [])
        if not self.attached:
            self.channel.close()
        code = self._supervise(outputs, log)
        error = ""
        try:
            self.runtime.delete(self.config.container_id, force=True)
        except DockyardError as exc:
            error = f"removing the container from the runtime failed: {exc}"
        # Before the exit is recorded: a `start` that sees "exited" mounts afresh.
        error = self._unmount() or error
        self._finish(code, error)
        if self.attached:
            send_message(self.channel, {"exit_code": code})
        if self.config.on_exit:
            _proc.wait(_proc.spawn(self.config.on_exit))

    def _start(self) -> dict[int, str]:
        """Start the container detached; return its output fds -> stream names."""
        pid_file = self.bundle / PID_FILE
        pid_file.unlink(missing_ok=True)
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            if self.config.tty:
                with console_socket() as (sock_path, listener):
                    self.runtime.run(
                        self.config.container_id,
                        self.bundle,
                        detach=True,
                        console_socket=sock_path,
                        pid_file=pid_file,
                        stdin=devnull,
                        stdout=devnull,
                        stderr=devnull,
                    )
                    outputs = {receive_pty_master(listener): "stdout"}
            else:
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                try:
                    self.runtime.run(
                        self.config.container_id,
                        self.bundle,
                        detach=True,
                        pid_file=pid_file,
                        stdin=devnull,
                        stdout=out_w,
                        stderr=err_w,
                    )
                finally:
                    os.close(out_w)
                    os.close(err_w)
                outputs = {out_r: "stdout", err_r: "stderr"}
        finally:
            os.close(devnull)
        self.state.pid = int(pid_file.read_text())
        return outputs

    def _supervise(self, outputs: dict[int, str], log: LogWriter) -> int:
        """Log output until the container's init exits; return its exit code."""
        pidfd = os.pidfd_open(self.state.pid)
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ)
        if self.attached:  # the client reads the terminal until it lets go
            sel.register(self.channel, selectors.EVENT_READ)
        for fd in outputs:
            if not (self.attached and self.config.tty):
                sel.register(fd, selectors.EVENT_READ)
        exited = False
        while not exited:
            for key, _ in sel.select():
                if key.fd == pidfd:
                    exited = True
                elif key.fileobj is self.channel:
                    if not self.channel.recv(1):  # client detached: take the terminal
                        sel.unregister(self.channel)
                        self.attached = False
                        for fd in outputs:
                            sel.register(fd, selectors.EVENT_READ)
                elif not _pump(key.fd, outputs[key.fd], log):
                    sel.unregister(key.fd)
        sel.close()
        if not (self.attached and self.config.tty):
            for fd, stream in outputs.items():  # what was written just before the exit
                os.set_blocking(fd, False)
                while _pump(fd, stream, log):
                    pass
        log.close()
        for fd in [pidfd, *outputs]:
            os.close(fd)
        return self._reap()

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

    def _finish(self, code: int, error: str) -> None:
        self.state.status, self.state.exit_code, self.state.error = EXITED, code, error
        self.state.finished_at, self.state.pid = rfc3339_nano(), 0
        write_state(self.bundle, self.state)


def _pump(fd: int, stream: str, log: LogWriter) -> bool:
    """Copy one read of ``fd`` to the log; False at end of output."""
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno != errno.EIO:  # EIO: the pty's last slave closed
            raise
        data = b""
    if data:
        log.write(stream, data)
    return bool(data)


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
