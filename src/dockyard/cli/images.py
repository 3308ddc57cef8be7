"""Image commands: images, import, tag, rmi, history (and the ``image`` group)."""

from __future__ import annotations

from typing import Any

import click

from dockyard.cli.common import for_each, get_store, short_id
from dockyard.cli.formatting import print_formatted, print_table
from dockyard.engine import images as ops
from dockyard.engine.timefmt import go_time_string, human_size, since

_IMAGE_HEADERS = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "Size": "SIZE",
}


def _image_item(row: ops.ImageRow, no_trunc: bool) -> dict[str, Any]:
    return {
        "Containers": "N/A",
        "CreatedAt": go_time_string(row.created),
        "CreatedSince": since(row.created),
        "Digest": row.digest,
        "ID": short_id(row.id, no_trunc),
        "Repository": row.repository,
        "SharedSize": "N/A",
        "Size": human_size(row.size),
        "Tag": row.tag,
        "UniqueSize": "N/A",
        "VirtualSize": human_size(row.size),
    }


@click.command("images")
@click.argument("repository", required=False)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all images.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output.")
@click.option("--format", "fmt", help="Format output: table, json, or a Go template.")
@click.pass_context
def images(
    ctx: click.Context,
    repository: str | None,
    show_all: bool,
    quiet: bool,
    digests: bool,
    no_trunc: bool,
    filters: tuple[str, ...],
    fmt: str | None,
) -> None:
    """List images."""
    store = get_store(ctx)
    parsed = ops.parse_image_filters(list(filters))
    rows = ops.filter_images(store, ops.list_images(store, show_all), parsed)
    if repository:
        rows = [r for r in rows if _matches(r, repository)]
    if quiet:
        seen: list[str] = []
        for row in rows:
            shown = short_id(row.id, no_trunc)
            if shown not in seen:
                seen.append(shown)
        for shown in seen:
            click.echo(shown)
        return
    items = [_image_item(row, no_trunc) for row in rows]
    if fmt and fmt != "table":
        print_formatted(fmt, items, _IMAGE_HEADERS, "*formatter.imageContext")
        return
    keys = ["Repository", "Tag", *(["Digest"] if digests else []), "ID", "CreatedSince", "Size"]
    print_table([_IMAGE_HEADERS[k] for k in keys], [[str(i[k]) for k in keys] for i in items])


def _matches(row: ops.ImageRow, wanted: str) -> bool:
    """``images REPO[:TAG]``: the repository in docker's short form, and the tag if given."""
    name, _, tag = (
        wanted.rpartition(":")
        if wanted.count(":") and "/" not in wanted.rpartition(":")[2]
        else (wanted, "", "")
    )
    return row.repository == name and (not tag or row.tag == tag)


@click.command("import")
@click.argument("source")
@click.argument("repository", required=False)
@click.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction.")
@click.option("-m", "--message", help="Set commit message for imported image.")
@click.option("--platform", help="Set platform if server is multi-platform capable.")
@click.pass_context
def import_(
    ctx: click.Context,
    source: str,
    repository: str | None,
    changes: tuple[str, ...],
    message: str | None,
    platform: str | None,
) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    from dockyard.engine.import_image import import_image

    image_id = import_image(get_store(ctx), source, repository, list(changes), message)
    click.echo(str(image_id))


@click.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag(ctx: click.Context, source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    ops.tag_image(get_store(ctx), source, target)


@click.command("rmi")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents.")
@click.pass_context
def rmi(ctx: click.Context, names: tuple[str, ...], force: bool, no_prune: bool) -> None:
    """Remove one or more images."""
    store = get_store(ctx)

    def remove_one(name: str) -> None:
        for line in ops.remove_image(store, name, force):
            click.echo(line)

    for_each(names, remove_one, missing_ok=force)


@click.command("history")
@click.argument("name")
@click.option("-H", "--human", default=True, help="Print sizes and dates in human readable format.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--format", "fmt", help="Format output using a Go template.")
@click.pass_context
def history(
    ctx: click.Context, name: str, human: bool, no_trunc: bool, quiet: bool, fmt: str | None
) -> None:
    """Show the history of an image."""
    rows = ops.image_history(get_store(ctx), name)
    items = []
    for row in rows:
        image = row.image
        if image != "<missing>" and not no_trunc:
            image = image.split(":", 1)[1][:12]
        created_by = row.created_by
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        items.append(
            {
                "ID": image,
                "CreatedSince": since(row.created),
                "CreatedAt": go_time_string(row.created),
                "CreatedBy": created_by,
                "Size": human_size(row.size),
                "Comment": row.comment,
            }
        )
    if quiet:
        for item in items:
            click.echo(item["ID"])
        return
    headers = {
        "ID": "IMAGE",
        "CreatedSince": "CREATED",
        "CreatedBy": "CREATED BY",
        "Size": "SIZE",
        "Comment": "COMMENT",
    }
    if fmt:
        print_formatted(fmt, items, headers, "*image.historyContext")
        return
    keys = list(headers)
    print_table([headers[k] for k in keys], [[str(i[k]) for k in keys] for i in items])


@click.group("image")
def image_group() -> None:
    """Manage images."""


image_group.add_command(images, "ls")
image_group.add_command(import_, "import")
image_group.add_command(tag, "tag")
image_group.add_command(rmi, "rm")
image_group.add_command(history, "history")


def _register_inspect() -> None:
    from dockyard.cli.inspect import image_inspect

    image_group.add_command(image_inspect, "inspect")


_register_inspect()
