"""Docker's ``daemon.json`` keys that govern registries, and docker's registry naming.

``/etc/dockyard/daemon.json`` (or ``$DOCKYARD_CONFIG``)::

    {"insecure-registries": ["myhost:5000", "10.0.0.0/8"],
     "registry-mirrors": ["https://mirror.example"],
     "max-concurrent-downloads": 3, "max-concurrent-uploads": 5,
     "loopback-insecure": true}

``loopback-insecure`` is dockyard's own key: docker always treats 127.0.0.0/8 (and
so ``localhost``) as insecure; setting it to false makes loopback registries verify
TLS like any other, which is what a TLS test on 127.0.0.1 needs.
TLS trust comes from ``/etc/dockyard/certs.d/<host:port>/`` (``$DOCKYARD_CERTS_D``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import ConfigError

DEFAULT_CONFIG = Path("/etc/dockyard/daemon.json")
DEFAULT_CERTS_D = Path("/etc/dockyard/certs.d")
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_KNOWN_KEYS = frozenset(
    {
        "insecure-registries",
        "registry-mirrors",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "loopback-insecure",
    }
)


@dataclass(frozen=True)
class DaemonConfig:
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    loopback_insecure: bool = True
    certs_dir: Path = field(default=DEFAULT_CERTS_D)

    def is_insecure(self, host: str) -> bool:
        """Plain HTTP allowed and TLS unverified, as docker decides it (by name or CIDR)."""
        if host in self.insecure_registries:
            return True
        addresses = _addresses(host)
        networks = [_LOOPBACK] if self.loopback_insecure else []
        for entry in self.insecure_registries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return any(addr in net for addr in addresses for net in networks)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    try:
        return [ipaddress.ip_address(name)]
    except ValueError:
        pass
    if name == "localhost":
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def load_daemon_config(path: Path | None = None) -> DaemonConfig:
    """Read daemon.json; a missing file means docker's defaults."""
    path = path or Path(os.environ.get("DOCKYARD_CONFIG") or DEFAULT_CONFIG)
    certs = Path(os.environ.get("DOCKYARD_CERTS_D") or DEFAULT_CERTS_D)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return DaemonConfig(certs_dir=certs)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unable to configure the registry client from {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return DaemonConfig(
        insecure_registries=_strings(data, "insecure-registries", path),
        registry_mirrors=tuple(m.rstrip("/") for m in _strings(data, "registry-mirrors", path)),
        max_concurrent_downloads=_positive(data, "max-concurrent-downloads", 3, path),
        max_concurrent_uploads=_positive(data, "max-concurrent-uploads", 5, path),
        loopback_insecure=bool(data.get("loopback-insecure", True)),
        certs_dir=certs,
    )


def _strings(data: dict[str, object], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return tuple(str(v) for v in value)


def _positive(data: dict[str, object], key: str, default: int, path: Path) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{path}: {key} must be a positive integer")
    return value


def api_host(domain: str) -> str:
    """The host that serves the registry API for a reference's domain."""
    return DOCKER_HUB_API if domain in _HUB_ALIASES else domain


def auth_key(domain: str) -> str:
    """The key docker files credentials under in config.json."""
    return DOCKER_HUB_AUTH_KEY if domain in _HUB_ALIASES else domain


def normalize_server(server: str | None) -> str:
    """A ``login`` / ``logout`` argument as a registry domain (``https://x/`` -> ``x``)."""
    if not server:
        return DOCKER_HUB
    host = server
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in _HUB_ALIASES else host
