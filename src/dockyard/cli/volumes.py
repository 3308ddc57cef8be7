"""``volume``: create, ls, inspect, rm, prune (local volumes; see ``dockyard.volumes``)."""

from __future__ import annotations

import click

from dockyard.cli.common import for_each, get_lite_store
from dockyard.cli.formatting import print_formatted
from dockyard.errors import ConfigError

_LS_HEADERS = {
    "Driver": "DRIVER",
    "Name": "VOLUME NAME",
    "Scope": "SCOPE",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
}
_PRUNE_WARNING = (
    "WARNING! This will remove all local volumes not used by at least one container.\n"
    "Are you sure you want to continue?"
)


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    return dict(value.partition("=")[::2] for value in values)


@click.group("volume")
def volume() -> None:
    """Manage volumes."""


@volume.command("create")
@click.argument("name", required=False)
@click.option("-d", "--driver", default="local", help="Specify volume driver name.")
@click.option("--label", multiple=True, help="Set metadata for a volume.")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options.")
@click.option("--name", "name_option", help="Specify volume name.")
@click.pass_context
def create(
    ctx: click.Context,
    name: str | None,
    driver: str,
    label: tuple[str, ...],
    opt: tuple[str, ...],
    name_option: str | None,
) -> None:
    """Create a volume."""
    from dockyard.volumes.local import create_volume

    if driver != "local":
        raise ConfigError(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
    if name and name_option and name != name_option:
        raise ConfigError("conflicting options: either specify --name or provide positional arg")
    record = create_volume(get_lite_store(ctx), name or name_option, _pairs(label), _pairs(opt))
    click.echo(record.name)


@volume.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values.")
@click.option("--format", "fmt", help="Format output using a Go template.")
@click.pass_context
def ls(ctx: click.Context, quiet: bool, filters: tuple[str, ...], fmt: str | None) -> None:
    """List volumes."""
    from dockyard.volumes.listing import list_item, list_volumes, parse_filters

    store = get_lite_store(ctx)
    usages = list_volumes(store, parse_filters(list(filters)))
    if quiet:
        for usage in usages:
            click.echo(usage.name)
        return
    items = [list_item(store, usage) for usage in usages]
    if fmt and fmt != "table":
        print_formatted(fmt, items, _LS_HEADERS, "*formatter.volumeContext")
        return
    # docker's tabwriter has a minimum cell width of 10: "DRIVER    VOLUME NAME"
    width = max([10, *(len(i["Driver"]) + 3 for i in items)])
    for driver, name in [("DRIVER", "VOLUME NAME"), *((i["Driver"], i["Name"]) for i in items)]:
        click.echo(f"{driver:<{width}}{name}")


@volume.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format output using a Go template.")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more volumes."""
    from dockyard.cli.inspect import show_inspected
    from dockyard.store.volumes import get_volume
    from dockyard.volumes.listing import volume_view

    store = get_lite_store(ctx)
    show_inspected(
        names,
        fmt,
        lambda name: volume_view(store, get_volume(store.conn, name)),
        missing=None,
        type_name="volume.Volume",
    )


@volume.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Do not fail on a missing volume.")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...], force: bool) -> None:
    """Remove one or more volumes (refused while a container uses one)."""
    from dockyard.volumes.local import remove_volume

    store = get_lite_store(ctx)

    def remove_one(name: str) -> None:
        remove_volume(store, name, force=force)
        click.echo(name)

    for_each(names, remove_one)


@volume.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("-a", "--all", "all_volumes", is_flag=True, help="All unused volumes (the default).")
@click.option("--filter", "filters", multiple=True, help="Provide filter values.")
@click.pass_context
def prune(ctx: click.Context, force: bool, all_volumes: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused local volumes (named and anonymous, as docker 20.10)."""
    from dockyard.engine.timefmt import human_size
    from dockyard.volumes.listing import parse_filters, prune_volumes

    parsed = parse_filters(list(filters), prune=True)
    if not force and not click.confirm(_PRUNE_WARNING, default=False):
        click.echo("Total reclaimed space: 0B")
        return
    removed, reclaimed = prune_volumes(get_lite_store(ctx), parsed)
    if removed:
        click.echo("Deleted Volumes:")
        for name in removed:
            click.echo(name)
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(reclaimed)}")
