"""The registry's validated configuration: the frozen dataclasses ``config.load_config``
fills in from the file's sections, gathered in ``RegistryConfig``, whose defaults are
what a missing file means."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ROOT = Path("/var/lib/registry")


@dataclass(frozen=True)
class TLSConfig:
    certificate: Path
    key: Path
    client_cas: tuple[Path, ...] = ()
    minimum: str = "tls1.2"


@dataclass(frozen=True)
class HtpasswdConfig:
    realm: str
    path: Path


@dataclass(frozen=True)
class TokenConfig:
    realm: str
    service: str
    issuer: str
    rootcertbundle: Path
    autoredirect: bool = False
    autoredirect_path: str = "/auth/token"
    signing_algorithms: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessRule:
    """Grants ``actions`` on repositories matching ``repository`` (or on the catalog)."""

    repository: str | None
    catalog: bool
    users: tuple[str, ...]
    anonymous: bool
    actions: frozenset[str]


@dataclass(frozen=True)
class TokenIssuerConfig:
    signing_key: Path
    htpasswd: Path | None
    expiration: float
    path: str
    rules: tuple[AccessRule, ...]


@dataclass(frozen=True)
class UploadPurging:
    enabled: bool = True
    age: float = 168 * 3600.0
    interval: float = 24 * 3600.0
    dryrun: bool = False


@dataclass(frozen=True)
class RegistryConfig:
    """Everything ``dockyard registry serve`` and ``garbage-collect`` need."""

    root: Path = DEFAULT_ROOT
    host: str = "0.0.0.0"
    port: int = 5000
    delete_enabled: bool = False
    readonly: bool = False
    purging: UploadPurging = field(default_factory=UploadPurging)
    http_host: str | None = None  # http.host: the URL clients reach us at
    relative_urls: bool = False  # http.relativeurls
    tls: TLSConfig | None = None
    htpasswd: HtpasswdConfig | None = None
    token: TokenConfig | None = None
    issuer: TokenIssuerConfig | None = None
    gc_grace: float = 3600.0
    ignored_env: tuple[str, ...] = ()
