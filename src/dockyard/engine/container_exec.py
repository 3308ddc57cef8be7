"""``exec`` and ``attach``: joining a running container from another process."""

from __future__ import annotations

import sys
from pathlib import Path

from dockyard.engine.container_ops import _runtime, is_paused, status_of, wait_exited
from dockyard.engine.containers import container_dir
from dockyard.errors import Conflict, MonitorLost
from dockyard.runtime.logs import log_path, read_logs
from dockyard.store.containers import ContainerRecord, resolve_container
from dockyard.store.lite import StoreView


def exec_command(
    store: StoreView,
    name: str,
    command: list[str],
    *,
    interactive: bool = False,
    tty: bool = False,
    detach: bool = False,
    env: tuple[str, ...] = (),
    workdir: str | None = None,
    user: str | None = None,
    privileged: bool = False,
) -> int:
    """Run ``command`` in the container; its exit code (0 once started with ``detach``)."""
    from dockyard.runtime.exec import ExecOptions, exec_in_container

    record = resolve_container(store.conn, name)
    state = status_of(store, record)
    if not state.running:
        raise Conflict(f"container {record.id} is not running")
    if is_paused(store, record, state):  # the command would hang, frozen with it
        raise Conflict(f"Container {record.id} is paused, unpause the container before exec")
    opts = ExecOptions(
        args=command,
        env=list(env),
        workdir=workdir,
        user=user,
        tty=tty,
        interactive=interactive,
        detach=detach,
        privileged=privileged,
    )
    return exec_in_container(
        _runtime(store, record, state),
        record.id,
        container_dir(store, record.id),
        opts,
        stdin=0,
        stdout=1,
        stderr=2,
    )


def attach_container(
    store: StoreView,
    name: str,
    *,
    stdin: bool = True,
    detach_keys: str | None = None,
    sig_proxy: bool = True,
) -> int | None:
    """Join the running container's stdio; its exit code, or None if the user detached.

    As docker: our stdin is attached only if the container was created with ``-i``
    (and not ``--no-stdin``); signals are proxied only without a terminal.
    """
    from dockyard.runtime import attach
    from dockyard.runtime.attach_client import AttachOptions, attach_session
    from dockyard.runtime.console import DETACH_KEYS, parse_detach_keys

    record = resolve_container(store.conn, name)
    keys = DETACH_KEYS if detach_keys is None else parse_detach_keys(detach_keys)
    directory = container_dir(store, record.id)
    state = status_of(store, record)
    if is_paused(store, record, state):  # it would hang there, ^C and all (sig-proxy)
        raise Conflict(f"container {record.id} is paused, unpause the container before attach")
    sock = attach.connect(directory) if state.running else None
    if sock is None:
        if status_of(store, record).running:  # started by a dockyard without attach sockets
            return _follow_log(store, record)
        raise Conflict("You cannot attach to a stopped container, start it first")
    opts = AttachOptions(
        tty=bool(record.config.get("Tty")),
        stdin=0 if stdin and record.config.get("OpenStdin") else None,
        detach_keys=keys,
        sig_proxy=sig_proxy,
        redraw=True,
    )
    with sock:
        try:
            return attach_session(sock, opts)
        except MonitorLost:
            status_of(store, record)  # records the container exited (and kills an orphan)
            raise


def _follow_log(store: StoreView, record: ContainerRecord) -> int | None:
    """Stream the container's output from its log, from now until it exits."""
    path = log_path(container_dir(store, record.id), record.id)
    skip = _line_count(path)
    outputs = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    entries = read_logs(path, follow=True, is_running=lambda: status_of(store, record).running)
    for index, entry in enumerate(entries):
        if index < skip:
            continue
        out = outputs.get(entry.stream, sys.stdout.buffer)
        out.write(entry.text.encode())
        out.flush()
    return wait_exited(store, record, None).exit_code


def _line_count(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.endswith(b"\n"))
    except FileNotFoundError:
        return 0
