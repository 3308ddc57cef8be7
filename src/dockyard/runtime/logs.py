"""Container logs in docker's json-file format, written by the monitor, read by ``logs``.

One JSON object a line: ``{"log":"text\\n","stream":"stdout","time":"<RFC3339Nano>"}``.
As docker, output is cut into entries at newlines, and at 16 KiB for a very long
line (such a piece has no trailing newline; readers join them).
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from dockyard.runtime.state import rfc3339_nano

MAX_ENTRY = 16 * 1024  # docker's buffer size for one log message


def log_path(container_dir: Path, container_id: str) -> Path:
    return container_dir / f"{container_id}-json.log"


class LogWriter:
    """Appends json-file entries; keeps a partial line per stream until it ends."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes) -> None:
        buffered = self._partial.pop(stream, b"") + data
        entries = []
        while buffered:
            cut = buffered.find(b"\n", 0, MAX_ENTRY)
            if cut < 0 and len(buffered) < MAX_ENTRY:
                self._partial[stream] = buffered
                break
            end = cut + 1 if cut >= 0 else MAX_ENTRY
            entries.append(self._encode(stream, buffered[:end]))
            buffered = buffered[end:]
        if entries:
            os.write(self._fd, b"".join(entries))

    @staticmethod
    def _encode(stream: str, chunk: bytes) -> bytes:
        entry = {"log": chunk.decode(errors="replace"), "stream": stream, "time": rfc3339_nano()}
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    def close(self) -> None:
        """Write out partial lines (without a newline, as docker does) and close."""
        if self._fd < 0:
            return
        tail = [self._encode(stream, data) for stream, data in self._partial.items() if data]
        if tail:
            os.write(self._fd, b"".join(tail))
        self._partial.clear()
        os.close(self._fd)
        self._fd = -1


class LogEntry(NamedTuple):
    """One log entry: ``text`` is what ``docker logs`` prints for it."""

    stream: str
    time: str
    text: str


def parse_time(text: str) -> float:
    """Seconds since the epoch of an RFC3339(Nano) UTC timestamp (``...Z``)."""
    import calendar

    main, _, fraction = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float(f"0.{fraction}") if fraction else 0.0)


def fixed_nano(stamp: str) -> str:
    """docker's RFC3339NanoFixed for ``logs -t``: always nine fractional digits."""
    main, _, fraction = stamp.rstrip("Z").partition(".")
    return f"{main}.{fraction[:9]:0<9}Z"


def _entry(line: bytes, timestamps: bool) -> LogEntry | None:
    try:
        raw = json.loads(line)
        text, stream, stamp = raw["log"], raw["stream"], raw["time"]
    except (ValueError, KeyError, TypeError):
        return None  # a torn last line while the writer is mid-write, or junk
    return LogEntry(stream, stamp, f"{fixed_nano(stamp)} {text}" if timestamps else text)


def read_logs(
    path: Path,
    *,
    follow: bool = False,
    tail: int | None = None,
    since: float | None = None,
    timestamps: bool = False,
    is_running: Callable[[], bool] | None = None,
    poll_interval: float = 0.1,
) -> Iterator[LogEntry]:
    """The entries of a json-file log, oldest first.

    ``tail`` keeps the last N entries; ``since`` (epoch seconds) drops older ones;
    ``timestamps`` prefixes each text with its time, as ``docker logs -t``.  With
    ``follow`` the iterator waits for new entries until ``is_running()`` is false
    (checked only when there is nothing new to read).
    """
    try:
        f = open(path, "rb")  # noqa: SIM115 (kept open across yields)
    except FileNotFoundError:
        return
    with f:
        lines = f.readlines()
        pending = b""
        if lines and not lines[-1].endswith(b"\n"):
            pending = lines.pop()
        selected = deque(lines, maxlen=tail) if tail is not None and tail >= 0 else lines
        for line in selected:
            entry = _entry(line, timestamps)
            if entry is not None and (since is None or parse_time(entry.time) >= since):
                yield entry
        while follow:
            chunk = f.read()
            if not chunk:
                if is_running is not None and not is_running():
                    chunk = f.read()  # the last words written before the exit
                    if not chunk:
                        return
                else:
                    time.sleep(poll_interval)
                    continue
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                entry = _entry(line, timestamps)
                if entry is not None and (since is None or parse_time(entry.time) >= since):
                    yield entry
