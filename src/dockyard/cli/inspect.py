"""``inspect``: low-level information on containers, images and volumes, looked up in
docker's order (container, image, volume) unless ``--type`` says which."""

from __future__ import annotations

import json
from typing import Any

import click

from dockyard.cli.common import get_store
from dockyard.cli.formatting import render_template
from dockyard.errors import DockyardError, NotFound
from dockyard.store.store import Store


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format output using a Go template.")
@click.option("--type", "kind", type=click.Choice(["image", "container", "volume"]))
@click.option("-s", "--size", is_flag=True, help="Display total file sizes (containers).")
@click.pass_context
def inspect(
    ctx: click.Context, names: tuple[str, ...], fmt: str | None, kind: str | None, size: bool
) -> None:
    """Return low-level information on Docker objects."""
    store = get_store(ctx)
    results: list[dict[str, Any]] = []
    failed = False
    for name in names:
        try:
            results.append(_inspect_one(store, name, kind))
        except NotFound:
            click.echo(f"Error: No such object: {name}", err=True)
            failed = True
        except DockyardError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
    if fmt:
        for result in results:
            click.echo(render_template(fmt, result))
    else:
        click.echo(json.dumps(results, indent=4))
    if failed:
        raise click.exceptions.Exit(1)


def _inspect_one(store: Store, name: str, kind: str | None) -> dict[str, Any]:
    from dockyard.engine.inspect_image import inspect_image
    from dockyard.store.containers import find_container

    if kind in (None, "container"):
        record = find_container(store.conn, name)
        if record is not None:
            from dockyard.engine.container_inspect import inspect_container

            return inspect_container(store, record)
        if kind == "container":
            raise NotFound(f"No such container: {name}")
    if kind == "volume":
        return _inspect_volume(store, name)
    try:
        return inspect_image(store, name)
    except NotFound:
        if kind == "image":
            raise
    return _inspect_volume(store, name)  # docker's order: container, image, volume


def _inspect_volume(store: Store, name: str) -> dict[str, Any]:
    from dockyard.store.volumes import find_volume
    from dockyard.volumes.listing import volume_view

    record = find_volume(store.conn, name)
    if record is None:
        raise NotFound(f"No such volume: {name}")
    return volume_view(store, record)
