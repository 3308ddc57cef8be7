"""Commands that start processes: run, create, start, exec, attach.

Failures of run/create/start exit 125 (see ``main``); a container's own exit code
(126/127 for a command that cannot run) is passed through as docker does.
"""

from __future__ import annotations

import os
from typing import Any

import click

from dockyard.cli.common import for_each, get_lite_store
from dockyard.cli.run_boolflags import DockerFlagsCommand
from dockyard.cli.run_options import build_create_options, create_options
from dockyard.errors import ConfigError, DockyardError, OCIRuntimeFailed
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

_NO_HELP_SHORTCUT = {"help_option_names": ["--help"], "allow_interspersed_args": False}


def _check_input_is_terminal(tty: bool, interactive: bool, detach: bool) -> None:
    """docker's CheckTty, before anything is created: ``-it`` needs a terminal on stdin."""
    if tty and interactive and not detach and not os.isatty(0):
        click.echo("the input device is not a TTY", err=True)
        raise click.exceptions.Exit(1)


@click.command("create", cls=DockerFlagsCommand, context_settings=_NO_HELP_SHORTCUT)
@create_options
@click.pass_context
def create(ctx: click.Context, /, **params: Any) -> None:
    """Create a new container."""
    from dockyard.engine.containers import create_container

    record = create_container(get_lite_store(ctx), build_create_options(params, detach=True))
    click.echo(record.id)


@click.command("run", cls=DockerFlagsCommand, context_settings=_NO_HELP_SHORTCUT)
@click.option("-d", "--detach", is_flag=True, help="Run container in background.")
@create_options
@click.pass_context
def run(ctx: click.Context, /, detach: bool, **params: Any) -> None:
    """Create and run a new container from an image."""
    from dockyard.engine import container_start as starter
    from dockyard.engine.containers import create_container

    _check_input_is_terminal(params["tty"], params["interactive"], detach)
    store = get_lite_store(ctx)
    opts = build_create_options(params, detach)
    record = create_container(store, opts)
    try:
        if detach:
            starter.start_detached(store, record)
            click.echo(record.id)
            return
        if opts.tty:
            code = starter.run_on_terminal(store, record, interactive=opts.interactive)
            raise click.exceptions.Exit(code or 0)
        code = starter.run_in_foreground(store, record, interactive=opts.interactive)
    except DockyardError:
        if opts.auto_remove:
            _remove_quietly(store, record)
        raise
    if opts.auto_remove:
        _remove_quietly(store, record)
    raise click.exceptions.Exit(code)


def _remove_quietly(store: StoreView, record: ContainerRecord) -> None:
    from dockyard.engine.container_ops import remove_container

    remove_container(store, record, force=True, remove_volumes=True)


@click.command("start", context_settings={"allow_interspersed_args": True})
@click.argument("containers", nargs=-1, required=True)
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.pass_context
def start(ctx: click.Context, containers: tuple[str, ...], attach: bool, interactive: bool) -> None:
    """Start one or more stopped containers."""
    from dockyard.engine import container_start as starter
    from dockyard.store.containers import resolve_container

    store = get_lite_store(ctx)
    if attach or interactive:
        if len(containers) > 1:
            raise ConfigError("you cannot start and attach multiple containers at once")
        record = resolve_container(store.conn, containers[0])
        if starter.is_running(store, record) and not starter.is_paused_now(store, record):
            # docker: starting a running container is a no-op, then -a attaches to it
            from dockyard.engine.container_exec import attach_container

            code = attach_container(store, record.id, stdin=interactive)
            raise click.exceptions.Exit(code or 0)
        try:
            if record.config.get("Tty"):
                code = starter.run_on_terminal(store, record, interactive=interactive)
            else:
                code = starter.run_in_foreground(store, record, interactive=interactive)
        except OCIRuntimeFailed as exc:  # docker: 1, whatever the container's command
            click.echo(f"Error: {exc}", err=True)
            raise click.exceptions.Exit(1) from exc
        raise click.exceptions.Exit(code or 0)

    def start_one(name: str) -> None:
        starter.start_detached(store, resolve_container(store.conn, name))
        click.echo(name)

    for_each(containers, start_one)


@click.command("exec", cls=DockerFlagsCommand, context_settings={"allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run in the background.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="Username or UID.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, /, container: str, command: tuple[str, ...], **flags: Any) -> None:
    """Execute a command in a running container."""
    from dockyard.engine.container_exec import exec_command

    _check_input_is_terminal(flags["tty"], flags["interactive"], flags["detach"])
    try:
        code = exec_command(get_lite_store(ctx), container, list(command), **flags)
    except OCIRuntimeFailed as exc:
        # docker: one line, 126 whatever the cause (1 with -d, from its daemon)
        message = f"OCI runtime exec failed: {exc.stderr.strip() or exc}: unknown"
        click.echo(f"Error: {message}" if flags["detach"] else message, err=True)
        raise click.exceptions.Exit(1 if flags["detach"] else 126) from exc
    raise click.exceptions.Exit(code)


@click.command("attach")
@click.argument("container")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--detach-keys", help="Override the key sequence for detaching a container.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, help="Proxy received signals.")
@click.pass_context
def attach(
    ctx: click.Context, container: str, no_stdin: bool, detach_keys: str | None, sig_proxy: bool
) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    from dockyard.engine.container_exec import attach_container

    code = attach_container(
        get_lite_store(ctx),
        container,
        stdin=not no_stdin,
        detach_keys=detach_keys,
        sig_proxy=sig_proxy,
    )
    raise click.exceptions.Exit(code or 0)
