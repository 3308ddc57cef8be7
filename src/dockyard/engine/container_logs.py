"""``logs``: a container's json-file log, with docker's --tail, --since and --follow."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from dockyard.engine.container_ops import status_of
from dockyard.engine.containers import container_dir
from dockyard.engine.timefmt import parse_rfc3339
from dockyard.errors import ConfigError
from dockyard.runtime.logs import LogEntry, log_path, read_logs
from dockyard.store.containers import resolve_container
from dockyard.store.lite import StoreView

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_since(text: str, now: float | None = None) -> float:
    """Epoch seconds of ``--since``: a Go duration (``42m``, ``1h30m``), a Unix
    timestamp, or an RFC 3339 date."""
    now = time.time() if now is None else now
    pieces = _DURATION_RE.findall(text)
    if pieces and "".join(n + u for n, u in pieces) == text:
        return now - sum(float(n) * _UNIT_SECONDS[u] for n, u in pieces)
    try:
        return float(text)
    except ValueError:
        pass
    parsed = parse_rfc3339(text if "T" in text else f"{text}T00:00:00Z")
    if parsed is None:
        raise ConfigError(f"invalid value for \"since\": {text!r}")
    return parsed.timestamp()


def parse_tail(text: str) -> int | None:
    if text == "all":
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise ConfigError(f"invalid value for \"tail\": {text!r}") from exc


def container_logs(
    store: StoreView,
    name: str,
    follow: bool = False,
    tail: str = "all",
    timestamps: bool = False,
    since: str | None = None,
) -> Iterator[LogEntry]:
    record = resolve_container(store.conn, name)
    directory = container_dir(store, record.id)
    return read_logs(
        log_path(directory, record.id),
        follow=follow,
        tail=parse_tail(tail),
        since=parse_since(since) if since else None,
        timestamps=timestamps,
        is_running=lambda: status_of(store, record).running,
    )
