"""Starting a container under its monitor, from the CLI: detached, or attached to a terminal.

The monitor is forked (not exec'd: that would pay another interpreter start) and
double-forked with setsid, so it belongs to no terminal and is never our zombie.
The CLI learns over the channel whether the container started; startup failures
come back as the exceptions ``Runtime.run`` raises (ContainerCommandNotFound,
ContainerCommandNotExecutable, OCIRuntimeFailed).  On a terminal, the CLI then
joins the container through the monitor's attach socket (``attach_client``).
"""

from __future__ import annotations

import json
import os
import socket
import traceback
from pathlib import Path

from dockyard.errors import (
    ConfigError,
    Conflict,
    ContainerCommandNotExecutable,
    ContainerCommandNotFound,
    DockyardError,
    MonitorLost,
    OCIRuntimeFailed,
)
from dockyard.runtime import attach
from dockyard.runtime.attach_client import AttachOptions, attach_session
from dockyard.runtime.console import DETACH_KEYS
from dockyard.runtime.monitor import Monitor, MonitorConfig, detach_stdio, send_message
from dockyard.runtime.state import ContainerState, read_state


def _fork_monitor(config: MonitorConfig, *, attached: bool) -> socket.socket:
    """Fork the monitor (grandchild, own session); return our end of its channel."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # never return into the caller's code from here
        status = 125
        try:
            ours.close()
            os.setsid()
            if os.fork() == 0:
                detach_stdio(keep=theirs.fileno())
                Monitor(config, theirs, attached=attached).run()
                status = 0
            else:
                status = 0
        except BaseException as exc:  # noqa: BLE001 — reported to the launcher, then exit
            text = "".join(traceback.format_exception_only(exc))
            send_message(theirs, {"ok": False, "exit_code": 128, "message": text})
        finally:
            os._exit(status)
    theirs.close()
    os.waitpid(pid, 0)  # the intermediate child exits at once
    return ours


def _read_message(channel: socket.socket) -> dict[str, object]:
    """One JSON line from the monitor."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = channel.recv(65536)
        if not chunk:
            raise OCIRuntimeFailed([], 0, "the container monitor exited unexpectedly")
        data += chunk
    message = json.loads(data)
    assert isinstance(message, dict)
    return message


def _raise_failure(message: dict[str, object]) -> None:
    kind = message.get("kind")
    if kind in ("conflict", "plain"):  # not the runtime's failure (see failure_message)
        raise (Conflict if kind == "conflict" else DockyardError)(str(message.get("message", "")))
    exit_code = message.get("exit_code", 128)
    argv = message.get("argv", [])
    returncode = message.get("returncode", 0)
    text = str(message.get("message", ""))
    assert isinstance(argv, list) and isinstance(returncode, int)
    cls = {127: ContainerCommandNotFound, 126: ContainerCommandNotExecutable}.get(
        exit_code if isinstance(exit_code, int) else 128, OCIRuntimeFailed
    )
    raise cls([str(a) for a in argv], returncode, text)


def start_detached(config: MonitorConfig) -> ContainerState:
    """Start the container under a new monitor; return once it runs (state ``running``).

    Raises ContainerCommandNotFound / ContainerCommandNotExecutable / OCIRuntimeFailed
    if it could not be started (the state then keeps its status, with that exit code).
    """
    with _fork_monitor(config, attached=False) as channel:
        message = _read_message(channel)
    if not message.get("ok"):
        _raise_failure(message)
    return read_state(Path(config.container_dir))


def run_attached(
    config: MonitorConfig,
    *,
    stdin: int | None = 0,
    stdout: int = 1,
    detach_keys: bytes = DETACH_KEYS,
) -> int | None:
    """``run -it`` / ``start -ai``: be the terminal of a monitored container.

    ``stdin`` None (``run -t`` without ``-i``) leaves the container's input alone.
    Returns the container's exit code, or None if the user detached (the
    container keeps running under its monitor).  We attach through the monitor's
    attach socket like any client; the monitor holds the output until we have.
    """
    if not config.tty:
        raise ConfigError("run_attached needs a terminal container (tty)")
    with _fork_monitor(config, attached=True) as channel:
        message = _read_message(channel)
        if not message.get("ok"):
            _raise_failure(message)
        sock = attach.connect(Path(config.container_dir))
    if sock is None:
        raise MonitorLost("the container's monitor exited unexpectedly")
    with sock:
        opts = AttachOptions(
            tty=True, stdin=stdin, stdout=stdout, stderr=stdout, detach_keys=detach_keys
        )
        return attach_session(sock, opts)
