"""Commands on a container's filesystem: diff, export, cp."""

from __future__ import annotations

import sys

import click

from dockyard.cli.common import get_store
from dockyard.errors import ConfigError


@click.command("diff")
@click.argument("container")
@click.pass_context
def diff(ctx: click.Context, container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    from dockyard.engine.container_fs import container_changes

    for change in container_changes(get_store(ctx), container):
        click.echo(f"{change.kind} {change.path}")


@click.command("export")
@click.argument("container")
@click.option("-o", "--output", help="Write to a file, instead of STDOUT.")
@click.pass_context
def export(ctx: click.Context, container: str, output: str | None) -> None:
    """Export a container's filesystem as a tar archive."""
    from dockyard.engine.container_fs import export_container

    if output is None and sys.stdout.isatty():
        raise ConfigError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    store = get_store(ctx)
    if output is None:
        export_container(store, container, sys.stdout.buffer)
        return
    with open(output, "wb") as out:
        export_container(store, container, out)


def _split(spec: str) -> tuple[str | None, str]:
    """``CONTAINER:PATH`` -> (container, path); a local path -> (None, path)."""
    if spec.startswith(("/", ".")) or ":" not in spec:
        return None, spec
    name, _, path = spec.partition(":")
    return name, path


@click.command("cp")
@click.argument("source")
@click.argument("dest")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information).")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output.")
@click.pass_context
def cp(
    ctx: click.Context, source: str, dest: str, archive: bool, follow_link: bool, quiet: bool
) -> None:
    """Copy files/folders between a container and the local filesystem."""
    from dockyard.engine import container_fs

    store = get_store(ctx)
    src_container, src_path = _split(source)
    dst_container, dst_path = _split(dest)
    if (src_container is None) == (dst_container is None):
        raise ConfigError("must specify exactly one of source or destination as CONTAINER:PATH")
    if src_container is not None:
        container_fs.copy_from_container(
            store, src_container, src_path, dst_path, sys.stdout.buffer, follow_link=follow_link
        )
    else:
        assert dst_container is not None
        container_fs.copy_to_container(
            store, src_path, dst_container, dst_path, follow_link=follow_link
        )
