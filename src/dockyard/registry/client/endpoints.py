"""Where to send a registry's requests: mirrors, HTTPS, then HTTP for insecure hosts.

Docker's order: for a docker.io pull every ``registry-mirrors`` entry first, then the
origin; for each host HTTPS first, then plain HTTP only if the host is insecure. TLS
trust is docker's ``certs.d`` layout: ``<dir>/<host:port>/*.crt`` are CAs added to the
system ones, ``*.cert`` + ``*.key`` pairs are client certificates.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dockyard.errors import ConfigError
from dockyard.registry.client.config import DOCKER_HUB, DaemonConfig, api_host


@dataclass(frozen=True)
class Endpoint:
    """One base URL to try, with the TLS settings for it."""

    base_url: str  # scheme://host[:port], no trailing slash
    ssl: ssl.SSLContext | bool  # False: plain HTTP or TLS without verification
    mirror: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc


def endpoints_for(config: DaemonConfig, domain: str, push: bool = False) -> list[list[Endpoint]]:
    """The hosts to try, in order, for a reference's domain; each as its URLs to try."""
    found: list[list[Endpoint]] = []
    if domain == DOCKER_HUB and not push:
        for mirror in config.registry_mirrors:
            parts = urlsplit(mirror if "://" in mirror else f"https://{mirror}")
            found.append(
                _host_endpoints(config, parts.netloc, mirror=True, scheme=parts.scheme or None)
            )
    found.append(_host_endpoints(config, api_host(domain)))
    return found


def _host_endpoints(
    config: DaemonConfig, host: str, mirror: bool = False, scheme: str | None = None
) -> list[Endpoint]:
    insecure = config.is_insecure(host)
    if scheme == "http":
        return [Endpoint(f"http://{host}", False, mirror)]
    result = [Endpoint(f"https://{host}", tls_context(config.certs_dir, host, insecure), mirror)]
    if insecure:
        result.append(Endpoint(f"http://{host}", False, mirror))
    return result


def tls_context(certs_dir: Path, host: str, insecure: bool) -> ssl.SSLContext:
    """A client TLS context trusting the system CAs and ``certs.d/<host>/*.crt``
    (an insecure host's verifies nothing: loading the system CAs would cost 20 ms)."""
    if insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context()
    directory = certs_dir / host
    if not directory.is_dir():
        return context
    try:
        for ca in sorted(directory.glob("*.crt")):
            context.load_verify_locations(cafile=str(ca))
        for cert in sorted(directory.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.exists():
                raise ConfigError(f"missing key {key.name} for client certificate {cert}")
            context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"bad TLS files in {directory}: {exc}") from exc
    return context
