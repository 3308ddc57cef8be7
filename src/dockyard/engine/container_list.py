"""``ps``: containers with their live status, filtered and shaped as docker shows them."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from dockyard.engine.container_ops import is_paused, status_of
from dockyard.engine.timefmt import human_duration, parse_rfc3339
from dockyard.errors import ConfigError, ImageNotFound, InvalidReference
from dockyard.runtime.state import ContainerState
from dockyard.store import containers as crecords
from dockyard.store import images as records
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

_FILTERS = ("status", "name", "id", "ancestor", "label", "publish", "expose")
_PORT_FILTERS = ("publish", "expose")
_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


@dataclass(frozen=True)
class ContainerRow:
    record: ContainerRecord
    state: ContainerState
    paused: bool = False

    @property
    def status(self) -> str:
        """docker's State.Status: ``paused`` for a running container the user paused."""
        return "paused" if self.paused else self.state.status


def _elapsed(stamp: str, now: float) -> str:
    parsed = parse_rfc3339(stamp)
    return human_duration(max(now - parsed.timestamp(), 0)) if parsed else ""


def status_text(state: ContainerState, now: float | None = None, paused: bool = False) -> str:
    """``Up 5 seconds``, ``Up 1 minute (Paused)``, ``Exited (0) 3 seconds ago`` or
    ``Created``, as ``docker ps``."""
    now = time.time() if now is None else now
    if state.running:
        return f"Up {_elapsed(state.started_at, now)}" + (" (Paused)" if paused else "")
    if state.status == "exited" and state.finished_at:
        return f"Exited ({state.exit_code}) {_elapsed(state.finished_at, now)} ago"
    return "Created"


def image_shown(store: StoreView, record: ContainerRecord) -> str:
    """The image as given, while that name still means the container's image; else its ID."""
    try:
        if records.resolve_image(store.conn, record.image_name) == record.image_id:
            return record.image_name
    except (ImageNotFound, InvalidReference):
        pass
    return record.image_id.short


def parse_filters(specs: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or key not in _FILTERS:
            raise ConfigError(f"invalid filter '{spec}'")
        if key == "status" and value not in _STATUSES:
            raise ConfigError(f"invalid filter 'status={value}'")
        if key in _PORT_FILTERS:
            from dockyard.network.ports import PortFilter

            PortFilter.parse(key, value)  # a bad port is refused now, as docker does
        filters.setdefault(key, []).append(value)
    return filters


def _matches(store: StoreView, row: ContainerRow, filters: dict[str, list[str]]) -> bool:
    record = row.record
    checks: dict[str, Any] = {
        "status": lambda v: row.status == v,
        "name": lambda v: re.search(v, record.name) is not None,
        "id": record.id.startswith,
        "ancestor": lambda v: (
            v in (record.image_name, str(record.image_id), record.image_id.hex)
            or _same_image(store, v, record)
        ),
        "label": lambda v: _has_label(record, v),
    }
    ports = {key: values for key, values in filters.items() if key in _PORT_FILTERS}
    if ports and not _port_filter_matches(row, ports):
        return False
    return all(any(checks[key](v) for v in values)
               for key, values in filters.items() if key not in _PORT_FILTERS)  # fmt: skip


def _port_filter_matches(row: ContainerRow, filters: dict[str, list[str]]) -> bool:
    """moby's publish / expose filters (one test, either may match) over the ports that
    ``ps`` shows: ``publish`` names a host port, ``expose`` a container port."""
    from dockyard.network.ports import PortFilter, port_summary

    publish = [PortFilter.parse("publish", v) for v in filters.get("publish", [])]
    expose = [PortFilter.parse("expose", v) for v in filters.get("expose", [])]
    for private, public, proto in port_summary(row.state.ports, _shown_exposed(row)):
        if any(f.matches(private, proto) for f in expose):
            return True
        if public and any(f.matches(public, proto) for f in publish):
            return True
    return False


def _same_image(store: StoreView, name: str, record: ContainerRecord) -> bool:
    try:
        return records.resolve_image(store.conn, name) == record.image_id
    except (ImageNotFound, InvalidReference):
        return False


def _has_label(record: ContainerRecord, spec: str) -> bool:
    key, sep, value = spec.partition("=")
    labels = record.config.get("Labels") or {}
    return key in labels and (not sep or labels[key] == value)


def list_containers(
    store: StoreView,
    *,
    show_all: bool = False,
    last: int | None = None,
    filters: dict[str, list[str]] | None = None,
) -> list[ContainerRow]:
    """Newest first; running ones only unless ``show_all``, ``last`` or a status filter."""
    rows = []
    for record in crecords.all_containers(store.conn):
        state = status_of(store, record)
        rows.append(ContainerRow(record, state, is_paused(store, record, state)))
    filters = filters or {}
    if last is not None and last >= 0:
        rows = rows[:last]
    elif not show_all and "status" not in filters:
        rows = [row for row in rows if row.state.running]
    return [row for row in rows if _matches(store, row, filters)]


def ellipsis(text: str, width: int) -> str:
    """Docker's Ellipsis: cut to ``width`` characters, the last one ``…``."""
    return text if len(text) <= width else text[: width - 1] + "…"


def go_quote(text: str) -> str:
    """Go's strconv.Quote for the printable strings a command line holds."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t") + '"'


def command_line(argv: list[str]) -> str:
    """docker's COMMAND: Path and Args joined, an arg with a space in single quotes."""
    if not argv:
        return ""
    path, *args = argv
    return " ".join([path, *(f"'{arg}'" if " " in arg else arg for arg in args)])


def created_at(stamp: str) -> str:
    """Go's time.String() of a UTC time, as ``ps --format {{.CreatedAt}}``."""
    parsed = parse_rfc3339(stamp)
    return parsed.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if parsed else ""


def _shown_exposed(row: ContainerRow) -> dict[str, Any] | None:
    """The exposed ports ``ps`` knows of: a running container's, unless on the host's
    network or none (docker's port summary comes from the container's network endpoint)."""
    if not row.state.running or row.record.host_config.get("NetworkMode") in ("host", "none"):
        return None
    return row.record.config.get("ExposedPorts") or {}


def _ports(row: ContainerRow) -> str:
    """The PORTS column: published and exposed ports, while the container runs."""
    exposed = _shown_exposed(row)
    if exposed is None or not (row.state.ports or exposed):
        return ""
    from dockyard.network.ports import display_ports

    return display_ports(row.state.ports, exposed)


def row_item(store: StoreView, row: ContainerRow, no_trunc: bool) -> dict[str, Any]:
    """The fields ``docker ps --format`` knows."""
    record = row.record
    command = command_line(list(record.command))
    labels = record.config.get("Labels") or {}
    return {
        "ID": record.id if no_trunc else record.short_id,
        "Image": image_shown(store, record),
        "Command": go_quote(command if no_trunc else ellipsis(command, 20)),
        "CreatedAt": created_at(record.created),
        "RunningFor": f"{_elapsed(record.created, time.time())} ago",
        "Ports": _ports(row),
        "State": row.status,
        "Status": status_text(row.state, paused=row.paused),
        "Size": "0B",
        "Names": record.name,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Mounts": "",
        "Networks": record.host_config.get("NetworkMode", ""),
        "LocalVolumes": "0",
    }
