"""Timestamps as docker shows them (``runtime.state.rfc3339_nano`` writes them)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


def parse_rfc3339(text: str | None) -> datetime | None:
    """Parse Go's RFC 3339 timestamps (nanoseconds are cut to microseconds)."""
    from datetime import UTC, datetime  # not at import: `run` writes times, never parses

    if not text:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if "." in value:
        head, _, rest = value.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: 'Less than a second', 'About a minute', '3 days' ..."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def since(text: str | None, now: float | None = None) -> str:
    """'5 minutes ago' for a config timestamp, 'N/A' when there is none."""
    parsed = parse_rfc3339(text)
    if parsed is None:
        return "N/A"
    elapsed = (now if now is not None else time.time()) - parsed.timestamp()
    return f"{human_duration(max(elapsed, 0))} ago"


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, ``%.3g`` ('108MB', '4.26kB', '0B')."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000.0
        index += 1
    return f"{size:.{precision}g}{units[index]}"


def go_time_string(text: str | None) -> str:
    """A timestamp as Go's time.String prints it in UTC: ``2024-01-02 15:04:05 +0000 UTC``."""
    from datetime import UTC

    parsed = parse_rfc3339(text)
    if parsed is None:
        return ""
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
