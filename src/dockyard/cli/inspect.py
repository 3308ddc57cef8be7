"""``inspect``: low-level information on containers, images and volumes, looked up in
docker's order (container, image, volume) unless ``--type`` says which."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from dockyard.cli.common import get_store
from dockyard.cli.formatting import TemplateFailed
from dockyard.cli.gotemplate import TemplateError
from dockyard.cli.gotemplate_eval import Template
from dockyard.errors import DockyardError, NotFound
from dockyard.store.store import Store

_FORMAT_HELP = "Format output using a Go template."


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help=_FORMAT_HELP)
@click.option("--type", "kind", type=click.Choice(["image", "container", "volume"]))
@click.option("-s", "--size", is_flag=True, help="Display total file sizes (containers).")
@click.pass_context
def inspect(
    ctx: click.Context, names: tuple[str, ...], fmt: str | None, kind: str | None, size: bool
) -> None:
    """Return low-level information on Docker objects."""
    store = get_store(ctx)
    show_inspected(names, fmt, lambda name: _inspect_one(store, name, kind))


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help=_FORMAT_HELP)
@click.pass_context
def image_inspect(ctx: click.Context, names: tuple[str, ...], fmt: str | None) -> None:
    """Display detailed information on one or more images."""
    store = get_store(ctx)
    show_inspected(names, fmt, lambda name: _inspect_one(store, name, "image"), "image")


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help=_FORMAT_HELP)
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@click.pass_context
def container_inspect(
    ctx: click.Context, names: tuple[str, ...], fmt: str | None, size: bool
) -> None:
    """Display detailed information on one or more containers."""
    store = get_store(ctx)
    show_inspected(names, fmt, lambda name: _inspect_one(store, name, "container"), "container")


def show_inspected(
    names: tuple[str, ...],
    fmt: str | None,
    lookup: Callable[[str], dict[str, Any]],
    missing: str | None = "object",
    type_name: str | None = None,
) -> None:
    """Print each object as JSON or through ``fmt``, the errors after, as docker inspect.

    A template that does not parse exits 64 before any lookup; one that fails on an
    object is reported with the lookup errors (exit 1), and if nothing was printed
    docker prints an empty line.
    """
    template = None
    if fmt:
        try:
            template = Template(fmt, type_name)
        except TemplateError as exc:
            raise TemplateFailed(f"template parsing error: {exc}", 64) from exc
    results: list[dict[str, Any]] = []
    lines: list[str] = []
    errors: list[str] = []
    for name in names:
        try:
            result = lookup(name)
        except NotFound as exc:
            errors.append(f"Error: No such {missing}: {name}" if missing else f"Error: {exc}")
            continue
        except DockyardError as exc:
            errors.append(f"Error: {exc}")
            continue
        results.append(result)
        if template is not None:
            try:
                lines.append(template.execute(result))
            except TemplateError as exc:
                errors.append(f"template parsing error: {exc}")
    if template is not None:
        click.echo("\n".join(lines))
    else:
        click.echo(json.dumps(results, indent=4))
    for error in errors:
        click.echo(error, err=True)
    if errors:
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
