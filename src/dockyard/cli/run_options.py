"""The container flags ``run`` and ``create`` share (``CREATE_FLAGS``) and their
translation into the engine's ``CreateOptions``, with docker's parsing of sizes and
its refusals of flags dockyard cannot honour yet."""

from __future__ import annotations

import re
import sys
from typing import Any

from dockyard.cli.flags import Flag
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


# The flags ``run`` and ``create`` share, with docker's names and help.
CREATE_FLAGS = (
    Flag("interactive", "i", "bool", "Keep STDIN open even if not attached"),
    Flag("tty", "t", "bool", "Allocate a pseudo-TTY"),
    Flag("name", "", "string", "Assign a name to the container"),
    Flag("env", "e", "list", "Set environment variables"),
    Flag("env-file", "", "list", "Read in a file of environment variables"),
    Flag("workdir", "w", "string", "Working directory inside the container"),
    Flag("user", "u", "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("entrypoint", "", "string", "Overwrite the default ENTRYPOINT of the image"),
    Flag("hostname", "h", "string", "Container host name"),
    Flag("privileged", "", "bool", "Give extended privileges to this container"),
    Flag("network", "", "string", "Connect a container to a network", default="default",
         aliases=("net",)),
    Flag("publish", "p", "list", "Publish a container's port(s) to the host"),
    Flag("publish-all", "P", "bool", "Publish all exposed ports to random ports"),
    Flag("expose", "", "list", "Expose a port or a range of ports"),
    Flag("memory", "m", "string", "Memory limit", type_name="bytes"),
    Flag("cpus", "", "rational", "Number of CPUs"),
    Flag("pids-limit", "", "int", "Tune container pids limit (set -1 for unlimited)"),
    Flag("init", "", "bool", "Run an init inside the container"),
    Flag("rm", "", "bool", "Automatically remove the container when it exits", dest="auto_remove"),
    Flag("read-only", "", "bool", "Mount the container's root filesystem as read only"),
    Flag("runtime", "", "string", "Runtime to use for this container"),
    Flag("cap-add", "", "list", "Add Linux capabilities"),
    Flag("cap-drop", "", "list", "Drop Linux capabilities"),
    Flag("label", "l", "list", "Set meta data on a container"),
    Flag("volume", "v", "list", "Bind mount a volume"),
    Flag("mount", "", "list", "Attach a filesystem mount to the container", type_name="mount"),
    Flag("volumes-from", "", "list", "Mount volumes from the specified container(s)"),
)  # fmt: skip


def _published(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(HostConfig.PortBindings, the ExposedPorts they and --expose add)."""
    if not (params["publish"] or params["expose"] or params["publish_all"]):
        return {}, {}
    from dockyard.network.ports import exposed_ports, parse_publish, port_bindings

    if params["network"] == "host" and (params["publish"] or params["publish_all"]):
        # The container's ports are the host's already; docker says so and goes on.
        print(
            "WARNING: Published ports are discarded when using host network mode", file=sys.stderr
        )
    requests = [request for spec in params["publish"] for request in parse_publish(spec)]
    # With --network none they are recorded and never published, as docker does.
    return port_bindings(requests), exposed_ports(list(params["expose"]), requests)


def build_create_options(params: dict[str, Any], args: list[str], detach: bool) -> CreateOptions:
    """The engine's options for the parsed flags and arguments (IMAGE [COMMAND...]) of
    ``run`` or ``create``."""
    bindings, exposed = _published(params)
    labels = dict(item.partition("=")[::2] for item in params["label"])
    return CreateOptions(
        image=args[0],
        args=args[1:],
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


def _mount_objects(values: list[str]) -> list[dict[str, Any]]:
    if not values:
        return []
    from dockyard.volumes.mountflag import parse_mount_flag

    return [parse_mount_flag(value) for value in values]
