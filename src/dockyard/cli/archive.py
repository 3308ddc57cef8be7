"""``save`` and ``load``: images to and from tar archives."""

from __future__ import annotations

import click

from dockyard.cli.common import get_store


@click.command("save")
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", help="Write to a file, instead of STDOUT.")
@click.pass_context
def save(ctx: click.Context, names: tuple[str, ...], output: str | None) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    from dockyard.engine.save import save_images

    save_images(get_store(ctx), list(names), output)


@click.command("load")
@click.option("-i", "--input", "source", help="Read from tar archive file, instead of STDIN.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@click.pass_context
def load(ctx: click.Context, source: str | None, quiet: bool) -> None:
    """Load an image from a tar archive or STDIN."""
    from dockyard.engine.load import load_archive

    load_archive(get_store(ctx), source, click.echo)
