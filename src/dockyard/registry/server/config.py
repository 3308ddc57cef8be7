"""The registry's configuration: CNCF distribution's YAML format plus a ``dockyard:`` section.

The keys distribution defines mean the same here::

    version: 0.1
    storage:
      filesystem: {rootdirectory: /var/lib/registry}
      delete: {enabled: true}
      maintenance:
        uploadpurging: {enabled: true, age: 168h, interval: 24h, dryrun: false}
        readonly: {enabled: false}
    http:
      addr: :5000                       # host:port; ":5000" listens on every interface
      host: https://registry.example    # external URL (for Location headers)
      tls: {certificate: cert.pem, key: key.pem, clientcas: [ca.pem], minimumtls: tls1.2}
    auth:                               # at most one of:
      htpasswd: {realm: basic-realm, path: /etc/registry/htpasswd}
      token: {realm: https://auth.example/token, service: registry, issuer: auth,
              rootcertbundle: /etc/registry/token.crt, autoredirect: false}

Sections distribution has and dockyard ignores (log, health, notifications, redis,
proxy, ...) are accepted so that one file serves both; an unknown key inside a section
dockyard reads is an error, to catch typos.

dockyard's extension (distribution ignores unknown top-level sections)::

    dockyard:
      gc: {grace: 1h}             # garbage-collect never sweeps blobs younger than this
      tokenissuer:                # serve auth.token.realm from this process
        signingkey: token.key     # PEM private key (RSA or EC) whose certificate is in
                                  # auth.token.rootcertbundle (`dockyard registry gen-key`)
        htpasswd: htpasswd        # users (bcrypt entries, as `htpasswd -B` writes)
        expiration: 5m
        path: /auth/token         # default: the path of auth.token.realm
        rules:                    # a request gets the union of every matching rule
          - {repository: "public/*", anonymous: true, actions: [pull]}
          - {repository: "*", users: ["*"], actions: [pull]}       # "*": any user
          - {repository: "alice/*", users: [alice], actions: [pull, push, delete]}
          - {catalog: true, users: [admin]}                         # registry:catalog:*

``REGISTRY_<SECTION>_<KEY>...`` environment variables override keys as in
distribution: the name is split on ``_``, matched case-insensitively against the
nested keys (list items by index), and the value is parsed as YAML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.registry.server.configfile import (
    Section,
    apply_env_overrides,
    load_yaml,
    parse_addr,
)
from dockyard.registry.server.configruntime import server_settings, ssl_context
from dockyard.registry.server.configtypes import (
    DEFAULT_ROOT,
    AccessRule,
    HtpasswdConfig,
    RegistryConfig,
    TLSConfig,
    TokenConfig,
    TokenIssuerConfig,
    UploadPurging,
)

# The model's types and the runtime helpers are re-exported: the CLI and the token
# issuer import them from here.
__all__ = [
    "AccessRule",
    "RegistryConfig",
    "TokenConfig",
    "TokenIssuerConfig",
    "load_config",
    "server_settings",
    "ssl_context",
]

DEFAULT_ADDR = ":5000"
ACTIONS = frozenset({"pull", "push", "delete", "*"})
# Distribution sections dockyard accepts but does not act on.
_IGNORED_TOP = frozenset(
    {
        "log",
        "loglevel",
        "health",
        "notifications",
        "redis",
        "reporting",
        "proxy",
        "validation",
        "middleware",
        "compatibility",
        "catalog",
    }
)
_KNOWN_TOP = frozenset({"version", "storage", "http", "auth", "dockyard"}) | _IGNORED_TOP


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> RegistryConfig:
    """Read a config file (or none), apply ``REGISTRY_*`` overrides, and validate it."""
    raw = load_yaml(path)
    ignored = apply_env_overrides(raw, os.environ if environ is None else environ, _KNOWN_TOP)
    top = Section("", raw)
    top.allow(*sorted(_KNOWN_TOP - _IGNORED_TOP), ignored=_IGNORED_TOP)
    if str(raw.get("version", "0.1")) != "0.1":
        raise ConfigError(f"version: unsupported version {raw.get('version')!r}, expected 0.1")
    storage = _storage(top.section("storage"))
    host, port = parse_addr(_http(top.section("http"))["addr"])
    http = top.section("http")
    htpasswd = _htpasswd(top.section("auth"))
    token = _token(top.section("auth"))
    extension = top.section("dockyard")
    extension.allow("gc", "tokenissuer")
    return RegistryConfig(
        **storage,
        host=host,
        port=port,
        http_host=http.optional("host"),
        relative_urls=http.boolean("relativeurls"),
        tls=_tls(http.section("tls")) if http.has("tls") else None,
        htpasswd=htpasswd,
        token=token,
        issuer=_issuer(extension.section("tokenissuer"), token)
        if extension.has("tokenissuer")
        else None,
        gc_grace=extension.section("gc").duration("grace", "1h"),
        ignored_env=tuple(ignored),
    )


def _storage(storage: Section) -> dict[str, Any]:
    drivers = set(storage.data) - {"delete", "maintenance", "cache", "redirect", "tag"}
    if drivers - {"filesystem"}:
        raise ConfigError(f"storage: unsupported driver {sorted(drivers)[0]!r} (only filesystem)")
    filesystem = storage.section("filesystem")
    filesystem.allow("rootdirectory", "maxthreads")
    storage.section("delete").allow("enabled")
    maintenance = storage.section("maintenance")
    maintenance.allow("uploadpurging", "readonly")
    purging = maintenance.section("uploadpurging")
    purging.allow("enabled", "age", "interval", "dryrun")
    readonly = maintenance.section("readonly")
    readonly.allow("enabled")
    return {
        "root": Path(filesystem.string("rootdirectory", str(DEFAULT_ROOT))),
        "delete_enabled": storage.section("delete").boolean("enabled"),
        "readonly": readonly.boolean("enabled"),
        "purging": UploadPurging(
            enabled=purging.boolean("enabled", True),
            age=purging.duration("age", "168h"),
            interval=purging.duration("interval", "24h"),
            dryrun=purging.boolean("dryrun"),
        ),
    }


def _http(http: Section) -> dict[str, str]:
    http.allow(
        "addr",
        "net",
        "host",
        "tls",
        "prefix",
        "secret",
        "relativeurls",
        "debug",
        "headers",
        "http2",
        "draintimeout",
    )
    if http.string("net", "tcp") != "tcp":
        raise ConfigError(f"http.net: only tcp is supported, got {http.string('net')!r}")
    if http.has("prefix") and http.string("prefix").strip("/"):
        raise ConfigError("http.prefix: a path prefix is not supported")
    return {"addr": http.string("addr", DEFAULT_ADDR)}


def _tls(tls: Section) -> TLSConfig:
    tls.allow("certificate", "key", "clientcas", "minimumtls", "ciphersuites")
    minimum = tls.string("minimumtls", "tls1.2")
    if minimum not in ("tls1.2", "tls1.3"):
        raise ConfigError(f"http.tls.minimumtls: expected tls1.2 or tls1.3, got {minimum!r}")
    return TLSConfig(
        Path(tls.string("certificate")),
        Path(tls.string("key")),
        tuple(Path(p) for p in tls.strings("clientcas")),
        minimum,
    )


def _htpasswd(auth: Section) -> HtpasswdConfig | None:
    auth.allow("htpasswd", "token")
    if auth.has("htpasswd") and auth.has("token"):
        raise ConfigError("auth: configure either htpasswd or token, not both")
    if not auth.has("htpasswd"):
        return None
    section = auth.section("htpasswd")
    section.allow("realm", "path")
    return HtpasswdConfig(section.string("realm"), Path(section.string("path")))


def _token(auth: Section) -> TokenConfig | None:
    if not auth.has("token"):
        return None
    token = auth.section("token")
    token.allow(
        "realm",
        "service",
        "issuer",
        "rootcertbundle",
        "autoredirect",
        "autoredirectpath",
        "signingalgorithms",
        "jwks",
    )
    if token.has("jwks"):
        raise ConfigError("auth.token.jwks: not supported, use rootcertbundle")
    return TokenConfig(
        realm=token.string("realm"),
        service=token.string("service"),
        issuer=token.string("issuer"),
        rootcertbundle=Path(token.string("rootcertbundle")),
        autoredirect=token.boolean("autoredirect"),
        autoredirect_path=token.string("autoredirectpath", "/auth/token"),
        signing_algorithms=token.strings("signingalgorithms"),
    )


def _issuer(section: Section, token: TokenConfig | None) -> TokenIssuerConfig:
    section.allow("signingkey", "htpasswd", "expiration", "path", "rules")
    if token is None:
        raise ConfigError(
            "dockyard.tokenissuer: needs auth.token (realm, service, issuer, "
            "rootcertbundle) to say what it issues"
        )
    default_path = token.autoredirect_path if token.autoredirect else _url_path(token.realm)
    path = section.string("path", default_path)
    if not path.startswith("/") or path.startswith("/v2"):
        raise ConfigError(f"dockyard.tokenissuer.path: {path!r} must start with / outside /v2")
    htpasswd = section.optional("htpasswd")
    return TokenIssuerConfig(
        signing_key=Path(section.string("signingkey")),
        htpasswd=Path(htpasswd) if htpasswd else None,
        expiration=section.duration("expiration", "5m"),
        path=path,
        rules=tuple(_rule(rule) for rule in section.items("rules")),
    )


def _rule(rule: Section) -> AccessRule:
    rule.allow("repository", "catalog", "users", "anonymous", "actions")
    catalog = rule.boolean("catalog")
    if catalog == rule.has("repository"):
        raise ConfigError(f"{rule.path}: give exactly one of repository (a glob) or catalog")
    actions = frozenset(rule.strings("actions")) if not catalog else frozenset({"*"})
    if not actions or actions - ACTIONS:
        raise ConfigError(f"{rule.where('actions')}: expected some of pull, push, delete, *")
    users, anonymous = rule.strings("users"), rule.boolean("anonymous")
    if not users and not anonymous:
        raise ConfigError(f"{rule.path}: names no users and is not anonymous: it grants nothing")
    return AccessRule(rule.optional("repository"), catalog, users, anonymous, actions)


def _url_path(url: str) -> str:
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*(/[^?#]*)?", url)
    if match is None:
        raise ConfigError(f"auth.token.realm: expected an absolute URL, got {url!r}")
    return match.group(1) or "/"
