"""The machinery under the registry's config file: YAML loading, typed sections that
refuse unknown keys, Go-style durations and ``REGISTRY_<SECTION>_<KEY>`` overrides.
The schema itself (which keys mean what) is in ``config``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from dockyard.errors import ConfigError

_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, where: str) -> float:
    """A Go duration (``168h``, ``1h30m``, ``500ms``) in seconds."""
    if not isinstance(text, str) or not text:
        raise ConfigError(f"{where}: expected a duration such as '1h30m', got {text!r}")
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ConfigError(f"{where}: invalid duration {text!r} (use units h, m, s, ms)")
    return total


class Section:
    """A mapping read from the config, with typed accessors that name the key on error."""

    def __init__(self, path: str, data: Any) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
        self.path = path
        self.data: Mapping[str, Any] = data

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def allow(self, *keys: str, ignored: frozenset[str] = frozenset()) -> None:
        unknown = sorted(set(self.data) - set(keys) - ignored)
        if unknown:
            raise ConfigError(f"{self.where(unknown[0])}: unknown key (known: {', '.join(keys)})")

    def section(self, key: str) -> Section:
        return Section(self.where(key), self.data.get(key))

    def has(self, key: str) -> bool:
        return key in self.data

    def string(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise ConfigError(f"{self.where(key)}: required")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{self.where(key)}: expected a string, got {value!r}")
        return str(value)

    def optional(self, key: str) -> str | None:
        return self.string(key) if self.data.get(key) is not None else None

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where(key)}: expected true or false, got {value!r}")
        return value

    def duration(self, key: str, default: str) -> float:
        return parse_duration(self.data.get(key, default), self.where(key))

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.where(key)}: expected a list of strings, got {value!r}")
        return tuple(value)

    def items(self, key: str) -> list[Section]:
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise ConfigError(f"{self.where(key)}: expected a list, got {value!r}")
        return [Section(f"{self.where(key)}[{i}]", item) for i, item in enumerate(value)]


def apply_env_overrides(
    raw: dict[str, Any], environ: Mapping[str, str], known_top: frozenset[str]
) -> list[str]:
    """Apply ``REGISTRY_…`` variables in place; returns the names that were ignored."""
    ignored: list[str] = []
    for name in sorted(environ):
        parts = name.split("_")
        if parts[0] != "REGISTRY" or len(parts) < 2 or not all(parts[1:]):
            continue
        if parts[1].lower() not in known_top:
            ignored.append(name)  # distribution warns and ignores these too
            continue
        try:
            value = yaml.safe_load(environ[name])
        except yaml.YAMLError as exc:
            raise ConfigError(f"environment variable {name}: invalid value: {exc}") from exc
        _set_path(raw, parts[1:], value, name)
    return ignored


def _set_path(node: Any, parts: list[str], value: Any, name: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) > len(node):
                raise ConfigError(f"environment variable {name}: bad list index {part!r}")
            if int(part) == len(node):
                node.append({})
            key: Any = int(part)
        elif isinstance(node, dict):
            key = next((k for k in node if str(k).upper() == part), part.lower())
            if not last and not isinstance(node.get(key), dict | list):
                node[key] = {}
        else:
            raise ConfigError(f"environment variable {name}: {part.lower()} is not a section")
        if last:
            node[key] = value
        else:
            node = node[key]


def parse_addr(addr: str) -> tuple[str, int]:
    """``host:port`` / ``:port`` / ``[v6]:port`` → (host, port); empty host = all interfaces."""
    host, sep, port_text = addr.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"http.addr: expected HOST:PORT, got {addr!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def load_yaml(path: Path | None) -> dict[str, Any]:
    """The raw mapping of a config file (an empty one when there is no file)."""
    if path is None:
        return {"version": "0.1"}
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw
