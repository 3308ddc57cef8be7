"""``inspect`` of a container, in the JSON shape docker prints."""

from __future__ import annotations

from typing import Any

from dockyard.engine.container_ops import is_paused, status_of
from dockyard.engine.container_start import has_mounts, lower_dirs
from dockyard.engine.containers import container_dir
from dockyard.engine.inspect_image import container_config_view
from dockyard.runtime.logs import log_path
from dockyard.runtime.state import ContainerState
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

ZERO_TIME = "0001-01-01T00:00:00Z"

# HostConfig fields docker always prints, zero values included.
_HOST_DEFAULTS: dict[str, Any] = {
    "Binds": None,
    "ContainerIDFile": "",
    "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "none",
    "PortBindings": {},
    "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False,
    "VolumeDriver": "",
    "VolumesFrom": None,
    "CapAdd": None,
    "CapDrop": None,
    "Dns": [],
    "DnsOptions": [],
    "DnsSearch": [],
    "ExtraHosts": None,
    "IpcMode": "private",
    "Privileged": False,
    "PublishAllPorts": False,
    "ReadonlyRootfs": False,
    "SecurityOpt": None,
    "UTSMode": "",
    "UsernsMode": "",
    "ShmSize": 67108864,
    "Runtime": "runc",
    "Memory": 0,
    "NanoCpus": 0,
    "PidsLimit": None,
    "Init": None,
}


def state_view(state: ContainerState, paused: bool = False) -> dict[str, Any]:
    status = state.status
    return {
        "Status": "paused" if paused else status,
        "Running": status == "running",
        "Paused": paused,
        "Restarting": False,
        "OOMKilled": False,
        "Dead": False,
        "Pid": state.pid if status == "running" else 0,
        "ExitCode": state.exit_code or 0,
        "Error": state.error,
        "StartedAt": state.started_at or ZERO_TIME,
        "FinishedAt": state.finished_at or ZERO_TIME,
    }


def _graph_driver(store: StoreView, record: ContainerRecord) -> dict[str, Any]:
    directory = container_dir(store, record.id)
    return {
        "Data": {
            "LowerDir": ":".join(str(p) for p in lower_dirs(store, record)),
            "MergedDir": str(directory / "merged"),
            "UpperDir": str(directory / "upper"),
            "WorkDir": str(directory / "work"),
        },
        "Name": "overlay2",
    }


def _mounts(store: StoreView, record: ContainerRecord) -> list[dict[str, Any]]:
    """Docker's ``Mounts``: every bind, volume and tmpfs mount of the container."""
    if not has_mounts(record):
        return []
    from dockyard.volumes.mounts import inspect_mounts

    return inspect_mounts(store, record.id)


def inspect_container(store: StoreView, record: ContainerRecord) -> dict[str, Any]:
    directory = container_dir(store, record.id)
    state = status_of(store, record)
    config = container_config_view(record.config)
    return {
        "Id": record.id,
        "Created": record.created,
        "Path": record.path,
        "Args": record.args,
        "State": state_view(state, is_paused(store, record, state)),
        "Image": str(record.image_id),
        "ResolvConfPath": str(directory / "resolv.conf"),
        "HostnamePath": str(directory / "hostname"),
        "HostsPath": str(directory / "hosts"),
        "LogPath": str(log_path(directory, record.id)),
        "Name": f"/{record.name}",
        "RestartCount": 0,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": {**_HOST_DEFAULTS, **record.host_config},
        "GraphDriver": _graph_driver(store, record),
        "Mounts": _mounts(store, record),
        "Config": config,
        "NetworkSettings": _network_settings(record, state),
    }


def _ports(record: ContainerRecord, state: ContainerState) -> dict[str, Any]:
    """NetworkSettings.Ports: while running, each exposed port and where it is published."""
    if not state.running or record.host_config.get("NetworkMode") in ("host", "none"):
        return {}
    exposed = record.config.get("ExposedPorts") or {}
    return {**{key: None for key in exposed}, **state.ports}


def _network_settings(record: ContainerRecord, state: ContainerState) -> dict[str, Any]:
    mode = record.host_config.get("NetworkMode", "none")
    return {
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": "",
        "Ports": _ports(record, state),
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": "",
        "Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": {
            mode: {
                "IPAMConfig": None,
                "Links": None,
                "Aliases": None,
                "NetworkID": "",
                "EndpointID": "",
                "Gateway": "",
                "IPAddress": "",
                "IPPrefixLen": 0,
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "MacAddress": "",
                "DriverOpts": None,
            }
        },
    }
