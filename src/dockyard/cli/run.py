"""Commands that start processes: run, create and exec, parsed by ``flags`` (no click).

Failures of run/create exit 125 (see ``main``); a container's own exit code
(126/127 for a command that cannot run) is passed through as docker does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.cli.flags import Command, Flag
from dockyard.cli.run_options import CREATE_FLAGS, build_create_options
from dockyard.errors import (
    ConfigError,
    DockyardError,
    FlagValueError,
    OCIRuntimeFailed,
    UsageError,
    UserNotFound,
)
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import LiteStore, StoreView

if TYPE_CHECKING:
    from dockyard.engine.containers import CreateOptions

CREATE = Command("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
                 CREATE_FLAGS, interspersed=False, min_args=1)  # fmt: skip
RUN = Command(
    "run",
    "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create and run a new container from an image",
    [Flag("detach", "d", "bool", "Run container in background and print container ID"),
     *CREATE_FLAGS],
    interspersed=False,
    min_args=1,
)  # fmt: skip
EXEC = Command(
    "exec",
    "[OPTIONS] CONTAINER COMMAND [ARG...]",
    "Execute a command in a running container",
    [
        Flag("interactive", "i", "bool", "Keep STDIN open even if not attached"),
        Flag("tty", "t", "bool", "Allocate a pseudo-TTY"),
        Flag("detach", "d", "bool", "Detached mode: run command in the background"),
        Flag("env", "e", "list", "Set environment variables"),
        Flag("workdir", "w", "string", "Working directory inside the container"),
        Flag("user", "u", "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
        Flag("privileged", "", "bool", "Give extended privileges to the command"),
    ],
    interspersed=False,
    min_args=2,
)


def _input_is_not_terminal(tty: bool, interactive: bool, detach: bool) -> bool:
    """docker's CheckTty, before anything is created: ``-it`` needs a terminal on stdin."""
    if tty and interactive and not detach and not os.isatty(0):
        print("the input device is not a TTY", file=sys.stderr)
        return True
    return False


def _open_store(root: str | None) -> LiteStore:
    """The command's store, never closed: these commands end with ``os._exit`` (see
    ``main``). A close would checkpoint SQLite's WAL and delete it (two fdatasyncs),
    for the next command to make it again (two more, one of them of the directory):
    5-7 ms of a ``run``. A WAL left behind is SQLite's normal state between writers."""
    return LiteStore(Path(root) if root else None)


def create(root: str | None, argv: list[str]) -> int:
    """``dockyard create``: prints the new container's ID."""
    from dockyard.engine.containers import create_container

    if (parsed := CREATE.parse_or_help(argv)) is None:
        return 0
    options = _options(parsed.values, parsed.args, detach=True)
    print(create_container(_open_store(root), options).id)
    return 0


def _options(params: dict[str, Any], args: list[str], detach: bool) -> CreateOptions:
    """``build_create_options``; what it refuses, docker's CLI refuses itself (125)."""
    try:
        return build_create_options(params, args, detach)
    except (FlagValueError, UsageError):
        raise
    except ConfigError as exc:
        raise FlagValueError(str(exc)) from exc


def run(root: str | None, argv: list[str]) -> int:
    """``dockyard run``: the container's exit code (or 0 with -d)."""
    from dockyard.engine import container_start as starter
    from dockyard.engine.containers import create_container

    if (parsed := RUN.parse_or_help(argv)) is None:
        return 0
    params = parsed.values
    detach = bool(params["detach"])
    if _input_is_not_terminal(params["tty"], params["interactive"], detach):
        return 1
    opts = _options(params, parsed.args, detach)
    store = _open_store(root)
    record = create_container(store, opts)
    try:
        if detach:
            starter.start_detached(store, record)
            print(record.id)
            return 0
        if opts.tty:
            # Its monitor removes an --rm container when it exits: it may be only
            # detached from (Ctrl-P Ctrl-Q) and still running.
            return starter.run_on_terminal(store, record, interactive=opts.interactive) or 0
    except DockyardError:
        if opts.auto_remove:
            _remove_quietly(store, record)
        raise
    # It removes an --rm container itself, as `start -a` of one needs it to.
    return starter.run_in_foreground(store, record, interactive=opts.interactive) or 0


def _remove_quietly(store: StoreView, record: ContainerRecord) -> None:
    from dockyard.engine.container_ops import remove_container

    remove_container(store, record, force=True, remove_volumes=True)


def exec_(root: str | None, argv: list[str]) -> int:
    """``dockyard exec``: the command's exit code."""
    from dockyard.engine.container_exec import exec_command

    if (parsed := EXEC.parse_or_help(argv)) is None:
        return 0
    flags = parsed.values
    if _input_is_not_terminal(flags["tty"], flags["interactive"], flags["detach"]):
        return 1
    try:
        return exec_command(
            _open_store(root),
            parsed.args[0],
            parsed.args[1:],
            interactive=flags["interactive"],
            tty=flags["tty"],
            detach=flags["detach"],
            env=tuple(flags["env"]),
            workdir=flags["workdir"],
            user=flags["user"],
            privileged=flags["privileged"],
        )
    except (OCIRuntimeFailed, UserNotFound) as exc:
        # docker: one line, 126 whatever the cause (1 with -d, from its daemon)
        message = str(exc)
        if isinstance(exc, OCIRuntimeFailed):
            message = f"OCI runtime exec failed: {exc.stderr.strip() or exc}: unknown"
        print(f"Error: {message}" if flags["detach"] else message, file=sys.stderr)
        return 1 if flags["detach"] else 126
