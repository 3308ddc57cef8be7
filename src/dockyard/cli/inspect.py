"""``inspect``: low-level information on images (containers and volumes join later)."""

from __future__ import annotations

import json
from typing import Any

import click

from dockyard.cli.common import get_store
from dockyard.cli.formatting import render_template
from dockyard.errors import DockyardError, NotFound


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
    from dockyard.engine.inspect_image import inspect_image

    store = get_store(ctx)
    results: list[dict[str, Any]] = []
    failed = False
    for name in names:
        try:
            results.append(inspect_image(store, name))
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
