"""The container flags ``run`` and ``create`` share (``create_options``) and their
translation into the engine's ``CreateOptions``, with docker's parsing of sizes and
its refusals of flags dockyard cannot honour yet."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from dockyard.engine.containers import CreateOptions
from dockyard.errors import ConfigError

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmgtp]?)b?\Z", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_memory(text: str | None) -> int | None:
    """docker's RAMInBytes: ``512m``, ``1g``, ``1024`` (binary units)."""
    if not text:
        return None
    match = _SIZE_RE.match(text.strip())
    if match is None:
        raise ConfigError(f"invalid size: '{text}'")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def create_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The flags ``run`` and ``create`` share."""
    options = [
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open."),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY."),
        click.option("--name", help="Assign a name to the container."),
        click.option("-e", "--env", multiple=True, help="Set environment variables."),
        click.option("--env-file", multiple=True, help="Read in a file of environment variables."),
        click.option("-w", "--workdir", help="Working directory inside the container."),
        click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])."),
        click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image."),
        click.option("-h", "--hostname", help="Container host name."),
        click.option("--privileged", is_flag=True, help="Give extended privileges."),
        click.option("--network", "--net", default="default", help="Connect to a network."),
        click.option(
            "-p", "--publish", multiple=True, help="Publish a container's port(s) to the host."
        ),
        click.option(
            "-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports."
        ),
        click.option("--expose", multiple=True, help="Expose a port or a range of ports."),
        click.option("-m", "--memory", help="Memory limit."),
        click.option("--cpus", type=float, help="Number of CPUs."),
        click.option("--pids-limit", type=int, help="Tune container pids limit."),
        click.option("--init", is_flag=True, help="Run an init inside the container."),
        click.option("--rm", "auto_remove", is_flag=True, help="Remove the container on exit."),
        click.option("--read-only", is_flag=True, help="Mount the root filesystem read only."),
        click.option("--runtime", help="Runtime to use for this container."),
        click.option("--cap-add", multiple=True, help="Add Linux capabilities."),
        click.option("--cap-drop", multiple=True, help="Drop Linux capabilities."),
        click.option("-l", "--label", multiple=True, help="Set meta data on a container."),
        click.option("-v", "--volume", multiple=True, help="Bind mount a volume."),
        click.option("--mount", multiple=True, help="Attach a filesystem mount to the container."),
        click.option("--volumes-from", multiple=True, help="Mount volumes from a container."),
        click.argument("image"),
        click.argument("args", nargs=-1, type=click.UNPROCESSED),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _published(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(HostConfig.PortBindings, the ExposedPorts they and --expose add)."""
    if not (params["publish"] or params["expose"] or params["publish_all"]):
        return {}, {}
    from dockyard.network.ports import exposed_ports, parse_publish, port_bindings

    if params["network"] == "host" and (params["publish"] or params["publish_all"]):
        # The container's ports are the host's already; docker says so and goes on.
        click.echo("WARNING: Published ports are discarded when using host network mode", err=True)
    requests = [request for spec in params["publish"] for request in parse_publish(spec)]
    # With --network none they are recorded and never published, as docker does.
    return port_bindings(requests), exposed_ports(list(params["expose"]), requests)


def build_create_options(params: dict[str, Any], detach: bool) -> CreateOptions:
    """The engine's options for the parsed flags of ``run`` or ``create``."""
    bindings, exposed = _published(params)
    labels = dict(item.partition("=")[::2] for item in params["label"])
    return CreateOptions(
        image=params["image"],
        args=list(params["args"]),
        name=params["name"],
        entrypoint=params["entrypoint"],
        env=list(params["env"]),
        env_files=list(params["env_file"]),
        workdir=params["workdir"],
        user=params["user"],
        hostname=params["hostname"],
        tty=params["tty"],
        interactive=params["interactive"],
        detach=detach,
        privileged=params["privileged"],
        # No bridge yet: "default" gives what "none" does (a namespace with a loopback),
        # plus the ports -p publishes; an explicit "none" publishes nothing.
        network="default" if params["network"] == "bridge" else params["network"],
        memory=parse_memory(params["memory"]),
        cpus=params["cpus"],
        pids_limit=params["pids_limit"],
        init=params["init"],
        auto_remove=params["auto_remove"],
        read_only=params["read_only"],
        runtime=params["runtime"],
        cap_add=list(params["cap_add"]),
        cap_drop=list(params["cap_drop"]),
        labels=labels,
        binds=list(params["volume"]),
        mounts=_mount_objects(params["mount"]),
        volumes_from=list(params["volumes_from"]),
        port_bindings=bindings,
        publish_all=params["publish_all"],
        exposed_ports=exposed,
    )


def _mount_objects(values: tuple[str, ...]) -> list[dict[str, Any]]:
    if not values:
        return []
    from dockyard.volumes.mountflag import parse_mount_flag

    return [parse_mount_flag(value) for value in values]
