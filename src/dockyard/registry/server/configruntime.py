"""What a loaded ``RegistryConfig`` becomes in the running server: the TLS context for
``http.tls`` and the core's ``ServerSettings`` with the access controller configured."""

from __future__ import annotations

import ssl

from dockyard.errors import ConfigError
from dockyard.registry.server.configtypes import RegistryConfig, TLSConfig
from dockyard.registry.server.settings import ServerSettings


def ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """The server-side TLS context for ``http.tls``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = (
        ssl.TLSVersion.TLSv1_3 if tls.minimum == "tls1.3" else ssl.TLSVersion.TLSv1_2
    )
    try:
        context.load_cert_chain(tls.certificate, tls.key)
        for ca in tls.client_cas:
            context.load_verify_locations(ca)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"http.tls: cannot load certificate or key: {exc}") from exc
    if tls.client_cas:
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def server_settings(config: RegistryConfig) -> ServerSettings:
    """The core's settings, with the access controller the config asks for."""
    from dockyard.registry.server.auth import build_authorizer

    return ServerSettings(
        root=config.root,
        delete_enabled=config.delete_enabled,
        readonly=config.readonly,
        authorizer=build_authorizer(config),
        upload_purge_age=config.purging.age if config.purging.enabled else None,
        upload_purge_interval=config.purging.interval,
        upload_purge_dryrun=config.purging.dryrun,
        relative_urls=config.relative_urls,
        base_url=config.http_host,
    )
