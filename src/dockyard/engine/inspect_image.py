"""``inspect`` of an image, in the JSON shape docker prints."""

from __future__ import annotations

import json
from typing import Any

from dockyard.digest import Digest
from dockyard.store import images as records
from dockyard.store.store import Store

# Docker prints every field of container.Config, zero values included, in this order.
_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "",
    "Domainname": "",
    "User": "",
    "AttachStdin": False,
    "AttachStdout": False,
    "AttachStderr": False,
    "Tty": False,
    "OpenStdin": False,
    "StdinOnce": False,
    "Env": None,
    "Cmd": None,
    "Image": "",
    "Volumes": None,
    "WorkingDir": "",
    "Entrypoint": None,
    "OnBuild": None,
    "Labels": None,
}


def container_config_view(config: dict[str, Any] | None) -> dict[str, Any]:
    """An image's ``config`` section completed with docker's zero values."""
    view = dict(_CONFIG_DEFAULTS)
    view.update(config or {})
    return view


def inspect_image(store: Store, name: str) -> dict[str, Any]:
    conn = store.conn
    image_id = records.resolve_image(conn, name)
    record = records.get_image(conn, image_id)
    config = json.loads(record.config)
    layers = records.image_layers(conn, image_id)
    dirs = [str(store.layer_diff_dir(layer.diff_id)) for layer in reversed(layers)]
    graph_data: dict[str, str] = {}
    if dirs:
        graph_data = {"MergedDir": "", "UpperDir": dirs[0], "WorkDir": ""}
        if len(dirs) > 1:
            graph_data["LowerDir"] = ":".join(dirs[1:])
    return {
        "Id": str(image_id),
        "RepoTags": [ref.familiar for ref in records.tags_of(conn, image_id)],
        "RepoDigests": [ref.familiar for ref in records.repo_digests_of(conn, image_id)],
        "Parent": record.parent or "",
        "Comment": config.get("comment", ""),
        "Created": config.get("created", ""),
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": container_config_view(config.get("config")),
        "Architecture": config.get("architecture", ""),
        "Os": config.get("os", ""),
        **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Size": record.size,
        "GraphDriver": {"Data": graph_data, "Name": "overlay2"},
        "RootFS": {"Type": "layers", "Layers": [str(layer.diff_id) for layer in layers]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def image_id_of(store: Store, name: str) -> Digest:
    return records.resolve_image(store.conn, name)
