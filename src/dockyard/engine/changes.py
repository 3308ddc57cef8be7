"""Dockerfile-style ``--change`` instructions applied to an image's container config.

``import -c`` and ``commit -c`` accept CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE,
VOLUME, LABEL (and STOPSIGNAL, ONBUILD as docker does).
"""

from __future__ import annotations

import json
import shlex

import msgspec

from dockyard.errors import ConfigError
from dockyard.image.config import ContainerConfig

ALLOWED = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)


def _exec_or_shell(value: str) -> list[str]:
    """JSON exec form (``["a","b"]``) or shell form wrapped in ``/bin/sh -c``."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
            return parsed
    return ["/bin/sh", "-c", stripped]


def _key_values(value: str, instruction: str) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` pairs, or the legacy ``KEY value words`` form."""
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ConfigError(f"{instruction}: {exc}") from exc
    if not words:
        raise ConfigError(f"{instruction} requires at least one argument")
    if "=" not in words[0]:
        key, _, rest = value.strip().partition(" ")
        if not rest.strip():
            raise ConfigError(f"{instruction} names must be followed by a value: {value!r}")
        return [(key, rest.strip())]
    pairs = []
    for word in words:
        key, sep, val = word.partition("=")
        if not sep or not key:
            raise ConfigError(f"{instruction}: syntax error - can't find = in {word!r}")
        pairs.append((key, val))
    return pairs


def _list_arg(value: str) -> list[str]:
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
            if isinstance(parsed, list):
                return [str(p) for p in parsed]
        except json.JSONDecodeError:
            pass
    return stripped.split()


def apply_change(config: ContainerConfig, change: str) -> ContainerConfig:
    """A new container config with one instruction applied."""
    instruction, _, value = change.strip().partition(" ")
    keyword = instruction.upper()
    if keyword not in ALLOWED:
        raise ConfigError(f"{instruction or change!r} is not a valid change command")
    if not value.strip() and keyword != "CMD":
        raise ConfigError(f"{keyword} requires at least one argument")
    updated = msgspec.structs.replace(config)
    if keyword == "CMD":
        updated.cmd = _exec_or_shell(value)
    elif keyword == "ENTRYPOINT":
        updated.entrypoint = _exec_or_shell(value)
        updated.cmd = None  # docker resets CMD when ENTRYPOINT is set
    elif keyword == "ENV":
        env = list(config.env or [])
        for key, val in _key_values(value, keyword):
            env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={val}"]
        updated.env = env
    elif keyword == "LABEL":
        updated.labels = {**(config.labels or {}), **dict(_key_values(value, keyword))}
    elif keyword == "WORKDIR":
        updated.working_dir = value.strip()
    elif keyword == "USER":
        updated.user = value.strip()
    elif keyword == "STOPSIGNAL":
        updated.stop_signal = value.strip()
    elif keyword == "ONBUILD":
        updated.on_build = [*(config.on_build or []), value.strip()]
    elif keyword == "EXPOSE":
        ports = dict(config.exposed_ports or {})
        for port in value.split():
            ports[port if "/" in port else f"{port}/tcp"] = {}
        updated.exposed_ports = ports
    elif keyword == "VOLUME":
        volumes = dict(config.volumes or {})
        for path in _list_arg(value):
            volumes[path] = {}
        updated.volumes = volumes
    return updated


def apply_changes(config: ContainerConfig, changes: list[str]) -> ContainerConfig:
    for change in changes:
        config = apply_change(config, change)
    return config
