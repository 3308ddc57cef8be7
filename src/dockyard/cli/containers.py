"""Container commands: ps, stop, kill, restart, rm, logs, wait, rename, port, pause,
unpause, top (+ ``container``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from dockyard.cli.common import for_each, get_lite_store
from dockyard.cli.formatting import PS_TEMPLATE_ERRORS, print_formatted, print_table
from dockyard.store.containers import ContainerRecord, resolve_container
from dockyard.store.lite import StoreView

_PS_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "RunningFor": "CREATED",
    "Status": "STATUS",
    "Ports": "PORTS",
    "Names": "NAMES",
}


def for_each_container(
    store: StoreView,
    names: tuple[str, ...],
    action: Callable[[ContainerRecord], None],
    missing_ok: bool = False,
) -> None:
    """stop, kill, restart, rm: echo each name done, report each failure, exit 1."""

    def act(name: str) -> None:
        action(resolve_container(store.conn, name))
        click.echo(name)

    for_each(names, act, missing_ok=missing_ok)


@click.command("ps")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container.")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output.")
@click.option("--format", "fmt", help="Format output using a Go template.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@click.pass_context
def ps(
    ctx: click.Context,
    show_all: bool,
    quiet: bool,
    latest: bool,
    last: int,
    no_trunc: bool,
    filters: tuple[str, ...],
    fmt: str | None,
    size: bool,
) -> None:
    """List containers."""
    from dockyard.engine import container_list as lister

    store = get_lite_store(ctx)
    rows = lister.list_containers(
        store,
        show_all=show_all,
        last=1 if latest else (last if last >= 0 else None),
        filters=lister.parse_filters(list(filters)),
    )
    items = [lister.row_item(store, row, no_trunc) for row in rows]
    if quiet:
        for item in items:
            click.echo(item["ID"])
        return
    if fmt and fmt != "table":
        headers = {**_PS_HEADERS, "CreatedAt": "CREATED AT", "State": "STATE"}
        print_formatted(fmt, items, headers, "*formatter.ContainerContext", PS_TEMPLATE_ERRORS)
        return
    keys = list(_PS_HEADERS)
    print_table([_PS_HEADERS[k] for k in keys], [[str(i[k]) for k in keys] for i in items])


@click.command("stop")
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "--timeout", "timeout", type=int, help="Seconds to wait before kill.")
@click.option("-s", "--signal", help="Signal to send to the container.")
@click.pass_context
def stop(
    ctx: click.Context, containers: tuple[str, ...], timeout: int | None, signal: str | None
) -> None:
    """Stop one or more running containers."""
    from dockyard.engine.container_ops import stop_container

    store = get_lite_store(ctx)
    for_each_container(store, containers, lambda record: stop_container(store, record, timeout))


@click.command("kill")
@click.argument("containers", nargs=-1, required=True)
@click.option("-s", "--signal", default="KILL", help="Signal to send to the container.")
@click.pass_context
def kill(ctx: click.Context, containers: tuple[str, ...], signal: str) -> None:
    """Kill one or more running containers."""
    from dockyard.engine.container_ops import kill_container

    store = get_lite_store(ctx)
    for_each_container(store, containers, lambda record: kill_container(store, record, signal))


@click.command("restart")
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "--timeout", "timeout", type=int, help="Seconds to wait before kill.")
@click.pass_context
def restart(ctx: click.Context, containers: tuple[str, ...], timeout: int | None) -> None:
    """Restart one or more containers."""
    from dockyard.engine.container_ops import restart_container

    store = get_lite_store(ctx)
    for_each_container(store, containers, lambda record: restart_container(store, record, timeout))


@click.command("rm")
@click.argument("containers", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes.")
@click.option("-l", "--link", is_flag=True, help="Remove the specified link.")
@click.pass_context
def rm(
    ctx: click.Context, containers: tuple[str, ...], force: bool, volumes: bool, link: bool
) -> None:
    """Remove one or more containers."""
    from dockyard.engine.container_ops import remove_container

    store = get_lite_store(ctx)
    for_each_container(
        store,
        containers,
        lambda record: remove_container(store, record, force, volumes),
        missing_ok=force,
    )


@click.command("logs")
@click.argument("container")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--since", help="Show logs since timestamp or relative (e.g. 42m).")
@click.option("--details", is_flag=True, help="Show extra details provided to logs.")
@click.pass_context
def logs(
    ctx: click.Context,
    container: str,
    follow: bool,
    tail: str,
    timestamps: bool,
    since: str | None,
    details: bool,
) -> None:
    """Fetch the logs of a container."""
    from dockyard.engine.container_logs import container_logs

    outputs = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    for entry in container_logs(get_lite_store(ctx), container, follow, tail, timestamps, since):
        out = outputs.get(entry.stream, sys.stdout.buffer)
        out.write(entry.text.encode())
        out.flush()


@click.command("wait")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    from dockyard.engine.container_ops import wait_exited

    store = get_lite_store(ctx)

    def wait_one(name: str) -> None:
        state = wait_exited(store, resolve_container(store.conn, name), None)
        click.echo(str(state.exit_code))

    for_each(containers, wait_one)


@click.command("rename")
@click.argument("container")
@click.argument("new_name")
@click.pass_context
def rename(ctx: click.Context, container: str, new_name: str) -> None:
    """Rename a container."""
    from dockyard.engine.container_ops import rename_container

    store = get_lite_store(ctx)
    rename_container(store, resolve_container(store.conn, container), new_name)


@click.command("pause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def pause(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    from dockyard.engine.container_ops import pause_container

    store = get_lite_store(ctx)
    for_each_container(store, containers, lambda record: pause_container(store, record))


@click.command("unpause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def unpause(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    from dockyard.engine.container_ops import unpause_container

    store = get_lite_store(ctx)
    for_each_container(store, containers, lambda record: unpause_container(store, record))


@click.command("top", context_settings={"ignore_unknown_options": True})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top(ctx: click.Context, container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    from dockyard.engine.container_top import top as container_top

    store = get_lite_store(ctx)
    titles, rows = container_top(store, resolve_container(store.conn, container), list(ps_args))
    print_table(titles, rows, min_width=20)


@click.command("port")
@click.argument("container")
@click.argument("private_port", required=False)
@click.pass_context
def port(ctx: click.Context, container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from dockyard.engine.container_ops import status_of
    from dockyard.errors import NotFound
    from dockyard.network.ports import port_lines

    store = get_lite_store(ctx)
    record = resolve_container(store.conn, container)
    lines = port_lines(status_of(store, record).ports, private_port)
    if private_port is not None and not lines:
        shown = private_port if "/" in private_port else f"{private_port}/tcp"
        raise NotFound(f"No public port '{shown}' published for {container}")
    for line in lines:
        click.echo(line)


@click.group("container")
def container_group() -> None:
    """Manage containers."""


def _register() -> None:
    from dockyard.cli import filesystem, inspect, start
    from dockyard.cli.group import flags_command

    for name, command in {
        "ls": ps,
        "ps": ps,
        "stop": stop,
        "kill": kill,
        "restart": restart,
        "rm": rm,
        "logs": logs,
        "wait": wait,
        "rename": rename,
        "port": port,
        "pause": pause,
        "unpause": unpause,
        "top": top,
        "run": flags_command("run"),
        "create": flags_command("create"),
        "start": start.start,
        "exec": flags_command("exec"),
        "attach": start.attach,
        "commit": flags_command("commit"),
        "diff": filesystem.diff,
        "export": filesystem.export,
        "cp": filesystem.cp,
        "inspect": inspect.container_inspect,
    }.items():
        container_group.add_command(command, name)


_register()
