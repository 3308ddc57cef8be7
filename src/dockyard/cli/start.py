"""Commands that attach to containers: start (with -a / -i) and attach."""

from __future__ import annotations

import click

from dockyard.cli.common import for_each, get_lite_store
from dockyard.errors import ConfigError, OCIRuntimeFailed


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
