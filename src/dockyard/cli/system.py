"""``system``: disk usage and store-wide housekeeping."""

from __future__ import annotations

import click

from dockyard.cli.common import get_store, short_id
from dockyard.cli.formatting import print_table
from dockyard.engine.timefmt import human_size, since


def _percent(part: int, whole: int) -> str:
    return f"{human_size(part)} ({int(100 * part / whole) if whole else 0}%)"


@click.group("system")
def system() -> None:
    """Manage dockyard."""


@system.command("df")
@click.option("-v", "--verbose", is_flag=True, help="Show detailed information on space usage.")
@click.pass_context
def df(ctx: click.Context, verbose: bool) -> None:
    """Show dockyard disk usage."""
    from dockyard.engine.disk_usage import disk_usage

    usage = disk_usage(get_store(ctx))
    active = sum(1 for image in usage.images if image.containers)
    containers_size = sum(c.size for c in usage.containers)
    if not verbose:
        print_table(
            ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
            [
                [
                    "Images",
                    str(len(usage.images)),
                    str(active),
                    human_size(usage.layers_size),
                    _percent(usage.images_reclaimable, usage.layers_size),
                ],
                [
                    "Containers",
                    str(len(usage.containers)),
                    str(sum(1 for c in usage.containers if c.running)),
                    human_size(containers_size),
                    _percent(
                        sum(c.size for c in usage.containers if not c.running), containers_size
                    ),
                ],
                [
                    "Local Volumes",
                    str(usage.volumes),
                    str(usage.volumes_active),
                    human_size(usage.volumes_size),
                    _percent(usage.volumes_reclaimable, usage.volumes_size),
                ],
                ["Build Cache", "0", "0", "0B", "0B"],
            ],
        )
        return
    click.echo("Images space usage:\n")
    rows = []
    for image in usage.images:
        names = image.names or ["<none>:<none>"]
        for name in names:
            repo, _, tag = name.rpartition(":")
            rows.append(
                [
                    repo,
                    tag,
                    short_id(image.id),
                    since(image.created),
                    human_size(image.size),
                    human_size(image.shared_size),
                    human_size(image.unique_size),
                    str(image.containers),
                ]
            )
    print_table(
        [
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS",
        ],
        rows,
    )
    click.echo(f"\nLayers: {usage.layers_count} stored once, {human_size(usage.layers_size)}")
    click.echo("\nContainers space usage:\n")
    print_table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"],
        [
            [
                c.item["ID"],
                c.item["Image"],
                c.item["Command"],
                str(c.local_volumes),
                human_size(c.size),
                c.item["RunningFor"],
                c.item["Status"],
                c.item["Names"],
            ]
            for c in usage.containers
        ],
    )
    click.echo("\nLocal Volumes space usage:\n")
    print_table(
        ["VOLUME NAME", "LINKS", "SIZE"],
        [[v.name, str(v.links), human_size(v.size)] for v in usage.volume_rows],
    )
