"""``exec``: run another process in a running container (``runtime exec --process``).

The process spec starts from the container's own ``process`` in config.json (its
env, capabilities, rlimits) and applies the exec flags, as docker does.
"""

from __future__ import annotations

import json
import os
import select
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import (
    ConfigError,
    StoreError,
)
from dockyard.runtime import _proc, defaults
from dockyard.runtime.runc import Runtime, logged_error, runtime_error
from dockyard.runtime.spec import merge_env
from dockyard.runtime.users import resolve_user


@dataclass
class ExecOptions:
    """``exec`` flags.  ``tty`` is honoured in the foreground only (the runtime then
    relays the terminal itself, from our stdin); ``-d`` runs without one."""

    args: list[str]
    env: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False


def _container_spec(bundle: Path) -> dict[str, object]:
    try:
        spec = json.loads((bundle / "config.json").read_bytes())
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read the container's runtime spec: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("process"), dict):
        raise StoreError("the container's runtime spec has no process")
    return spec


def exec_process_spec(bundle: Path, opts: ExecOptions) -> dict[str, object]:
    """The ``process.json`` for an exec into the container whose bundle is ``bundle``."""
    if not opts.args:
        raise ConfigError("no command specified")
    spec = _container_spec(bundle)
    base = spec["process"]
    assert isinstance(base, dict)
    env = base.get("env") or []
    assert isinstance(env, list)
    process: dict[str, object] = dict(base)
    process["args"] = list(opts.args)
    process["terminal"] = opts.tty and not opts.detach
    process["env"] = merge_env(env, opts.env)
    if opts.workdir:
        process["cwd"] = opts.workdir
    if opts.user:
        root = spec.get("root")
        rootfs = Path(str(root.get("path"))) if isinstance(root, dict) else bundle / "rootfs"
        process["user"] = resolve_user(rootfs, opts.user).to_spec()
    if opts.privileged:
        caps = defaults.known_capabilities()
        process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    process.pop("consoleSize", None)
    return process


def exec_in_container(
    runtime: Runtime,
    container_id: str,
    bundle: Path,
    opts: ExecOptions,
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
) -> int:
    """Run the exec; its exit code (0 once started with ``detach``).

    Without ``interactive`` the process's stdin is /dev/null.  Raises
    ContainerCommandNotFound (127) / ContainerCommandNotExecutable (126) /
    OCIRuntimeFailed as ``Runtime.run`` does; the runtime's own report of the
    failure is folded into that error, never printed besides it.
    """
    token = os.urandom(6).hex()
    process_json = bundle / f"exec-{token}.json"
    log = bundle / f"exec-{token}.log"
    process_json.write_text(json.dumps(exec_process_spec(bundle, opts)))
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        if not opts.interactive:
            stdin = devnull
        if opts.detach:
            return runtime.exec(container_id, process_json, detach=True, log=log,
                                stdin=devnull, stdout=devnull, stderr=devnull)  # fmt: skip
        argv = runtime.exec_argv(container_id, process_json, log=log)
        log.write_bytes(b"")
        if opts.tty and not (stdin is not None and os.isatty(stdin)):
            code = _exec_on_own_terminal(
                runtime, container_id, process_json, log, 1 if stdout is None else stdout
            )
        elif opts.tty:  # the output comes through the terminal: the runtime's stderr is its own
            code = _run_on_terminal(argv, stdin, stdout, devnull)
        else:
            code = _run_relaying_stderr(argv, stdin, stdout, 2 if stderr is None else stderr)
        message = logged_error(log) if code != 0 else None
        if message is not None:
            raise runtime_error(argv, code, message)
        return code
    finally:
        os.close(devnull)
        process_json.unlink(missing_ok=True)
        log.unlink(missing_ok=True)


def _run_relaying_stderr(
    argv: list[str], stdin: int | None, stdout: int | None, stderr: int
) -> int:
    """The runtime shares its stderr with the process: copy it, holding back the
    runtime's own failure (``exec failed: …``), which the caller reports instead."""
    from dockyard.runtime.foreground import Relay

    err_r, err_w = os.pipe()
    try:
        pid = _proc.spawn(argv, stdin=stdin, stdout=stdout, stderr=err_w)
    finally:
        os.close(err_w)
    relay = Relay({"stderr": stderr}, None, b"exec failed: ")
    relay.run(pid, {err_r: "stderr"})
    code = _proc.wait(pid)
    if code == 0 or not relay.held.startswith(b"exec failed: "):
        relay.release()
    return code


def _run_on_terminal(argv: list[str], stdin: int | None, stdout: int | None, stderr: int) -> int:
    """``exec -it`` on our terminal: the runtime relays it (raw mode, size, input)."""
    return _proc.wait(_proc.spawn(argv, stdin=stdin, stdout=stdout, stderr=stderr))


def _exec_on_own_terminal(
    runtime: Runtime, container_id: str, process_json: Path, log: Path, stdout: int
) -> int:
    """``exec -t`` without a terminal as input (as docker, which owns the pty): the runtime
    starts the process detached on a new pty whose master it hands us; we become
    its subreaper, copy its output to ``stdout`` and reap it for its exit code."""
    from dockyard.runtime import _libc
    from dockyard.runtime.console import (
        console_socket,
        get_winsize,
        receive_pty_master,
        set_winsize,
    )

    _libc.set_child_subreaper()  # the process is re-parented to us when the runtime exits
    pid_file = process_json.with_suffix(".pid")
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        with console_socket() as (sock_path, listener):
            runtime.exec(container_id, process_json, detach=True, console_socket=sock_path,
                         pid_file=pid_file, log=log, stdin=devnull, stdout=devnull,
                         stderr=devnull)  # fmt: skip
            master = receive_pty_master(listener)
        pid = int(pid_file.read_text())
        size = get_winsize(stdout)
        if size is not None:
            set_winsize(master, *size)
    finally:
        os.close(devnull)
        pid_file.unlink(missing_ok=True)
    try:
        _copy_until_exit(master, pid, stdout)
    finally:
        os.close(master)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # not re-parented to us: the status is lost
        return 255
    return _proc.exit_code(status)


def _copy_until_exit(master: int, pid: int, stdout: int) -> None:
    pidfd = os.pidfd_open(pid)
    try:
        exited = False
        while True:
            ready, _, _ = select.select([master] if exited else [master, pidfd], [], [],
                                        0 if exited else None)  # fmt: skip
            if pidfd in ready:
                exited = True
                os.set_blocking(master, False)
            if master not in ready and exited:
                return
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except (BlockingIOError, OSError):  # EIO: every holder of the pty is gone
                    data = b""
                if not data:
                    if exited:
                        return
                    continue
                view = memoryview(data)
                while view:
                    view = view[os.write(stdout, view) :]
    finally:
        os.close(pidfd)
