"""Starting a container under its monitor, from the CLI: detached, or attached to a terminal.

The monitor is forked (not exec'd: that would pay another interpreter start) and
double-forked with setsid, so it belongs to no terminal and is never our zombie.
The CLI learns over the channel whether the container started; startup failures
come back as the exceptions ``Runtime.run`` raises (ContainerCommandNotFound,
ContainerCommandNotExecutable, OCIRuntimeFailed).
"""

from __future__ import annotations

import json
import os
import socket
import traceback
from pathlib import Path

from dockyard.errors import ConfigError, OCIRuntimeFailed
from dockyard.runtime.console import DETACH_KEYS, relay
from dockyard.runtime.logs import LogWriter, log_path
from dockyard.runtime.monitor import Monitor, MonitorConfig, detach_stdio, send_message
from dockyard.runtime.runc import ContainerCommandNotExecutable, ContainerCommandNotFound
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


def _read_message(channel: socket.socket) -> tuple[dict[str, object], list[int]]:
    """One JSON line from the monitor, and any fds that came with it."""
    data = b""
    fds: list[int] = []
    while not data.endswith(b"\n"):
        chunk, new_fds, _, _ = socket.recv_fds(channel, 65536, 1)
        fds += new_fds
        if not chunk:
            raise OCIRuntimeFailed([], 0, "the container monitor exited unexpectedly")
        data += chunk
    message = json.loads(data)
    assert isinstance(message, dict)
    return message, fds


def _raise_failure(message: dict[str, object]) -> None:
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
    if it could not be started (the state file then says exited, with that code).
    """
    with _fork_monitor(config, attached=False) as channel:
        message, _ = _read_message(channel)
    if not message.get("ok"):
        _raise_failure(message)
    return read_state(Path(config.container_dir))


def run_attached(
    config: MonitorConfig,
    *,
    stdin: int = 0,
    stdout: int = 1,
    detach_keys: bytes = DETACH_KEYS,
) -> int | None:
    """``run -it`` / ``start -ai``: be the terminal of a monitored container.

    Returns the container's exit code, or None if the user detached (the
    container keeps running under its monitor, which then logs its output).
    """
    if not config.tty:
        raise ConfigError("run_attached needs a terminal container (tty)")
    channel = _fork_monitor(config, attached=True)
    try:
        message, fds = _read_message(channel)
        if not message.get("ok") or not fds:
            _raise_failure(message)
        master = fds[0]
        log = LogWriter(log_path(Path(config.container_dir), config.container_id))
        try:
            detached = relay(
                master,
                stdin=stdin,
                stdout=stdout,
                detach_keys=detach_keys,
                on_output=lambda data: log.write("stdout", data),
            )
        finally:
            log.close()
            os.close(master)
        if detached:
            return None
        message, _ = _read_message(channel)
        code = message.get("exit_code")
        return code if isinstance(code, int) else 255
    finally:
        channel.close()
