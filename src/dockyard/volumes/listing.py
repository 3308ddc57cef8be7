"""``volume ls`` / ``inspect`` / ``prune`` and the volume lines of ``system df``.

Filters as docker's: ``dangling=true|false`` (used by no container), ``name=``
(a substring of the name), ``label=KEY`` or ``label=KEY=VALUE``, ``driver=``.

``prune`` follows docker 20.10: every unused local volume goes, named or
anonymous (docker 23 keeps named ones unless ``--all``; ``-a`` is accepted and
means the same here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.errors import ConfigError
from dockyard.store import volumes as vrecords
from dockyard.store.lite import StoreView
from dockyard.store.volumes import VolumeRecord
from dockyard.volumes import local

_FILTER_KEYS = frozenset({"dangling", "name", "label", "driver"})
_PRUNE_FILTER_KEYS = frozenset({"label", "label!"})


@dataclass(frozen=True)
class VolumeUsage:
    record: VolumeRecord
    links: int  # containers using it

    @property
    def name(self) -> str:
        return self.record.name


def parse_filters(filters: list[str], prune: bool = False) -> dict[str, list[str]]:
    """``--filter`` values of ``volume ls`` (or of ``volume prune``, which takes only
    ``label`` and ``label!``, as docker's)."""
    parsed: dict[str, list[str]] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"bad format of filter (expected name=value): {item}")
        if key not in (_PRUNE_FILTER_KEYS if prune else _FILTER_KEYS):
            raise ConfigError(f"invalid filter '{key}'")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"invalid filter 'dangling={value}'")
        parsed.setdefault(key, []).append(value)
    return parsed


def _label_matches(labels: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _matches(usage: VolumeUsage, filters: dict[str, list[str]]) -> bool:
    for value in filters.get("dangling", []):
        if (usage.links == 0) != (value.lower() in ("true", "1")):
            return False
    names = filters.get("name")
    if names and not any(n in usage.name for n in names):
        return False
    drivers = filters.get("driver")
    if drivers and usage.record.driver not in drivers:
        return False
    labels = usage.record.labels
    return all(_label_matches(labels, w) for w in filters.get("label", [])) and not any(
        _label_matches(labels, w) for w in filters.get("label!", [])
    )


def list_volumes(
    store: StoreView, filters: dict[str, list[str]] | None = None
) -> list[VolumeUsage]:
    links = vrecords.link_counts(store.conn)
    usages = [VolumeUsage(r, links.get(r.name, 0)) for r in vrecords.all_volumes(store.conn)]
    return [u for u in usages if _matches(u, filters or {})]


def volume_view(store: StoreView, record: VolumeRecord) -> dict[str, Any]:
    """``volume inspect``: docker's fields, ``null`` for no labels or options."""
    return {
        "CreatedAt": record.created,
        "Driver": record.driver,
        "Labels": record.labels or None,
        "Mountpoint": str(local.mountpoint(store, record.name)),
        "Name": record.name,
        "Options": record.options or None,
        "Scope": "local",
    }


def list_item(store: StoreView, usage: VolumeUsage) -> dict[str, str]:
    """The fields ``volume ls --format`` knows (Size only in ``system df -v``, as docker)."""
    record = usage.record
    return {
        "Name": usage.name,
        "Driver": record.driver,
        "Scope": "local",
        "Mountpoint": str(local.mountpoint(store, usage.name)),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(record.labels.items())),
        "Links": str(usage.links),
        "Size": "N/A",
    }


def prune_volumes(store: StoreView, filters: dict[str, list[str]]) -> tuple[list[str], int]:
    """Remove every unused volume the filters select; (names removed, bytes reclaimed)."""
    unused = [u for u in list_volumes(store, filters) if u.links == 0]
    sizes = {u.name: local.directory_size(local.mountpoint(store, u.name)) for u in unused}
    removed = local.remove_unused(store, [u.name for u in unused])
    return removed, sum(sizes[name] for name in removed)


@dataclass(frozen=True)
class VolumeSpace:
    name: str
    links: int
    size: int


def volumes_space(store: StoreView) -> list[VolumeSpace]:
    """``system df``: every volume with its links and size."""
    return [
        VolumeSpace(u.name, u.links, local.directory_size(local.mountpoint(store, u.name)))
        for u in list_volumes(store)
    ]
