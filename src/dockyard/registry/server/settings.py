"""Everything the server core needs to know, already parsed (config.py fills it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.registry.server.authz import Authorizer


@dataclass(frozen=True)
class ServerSettings:
    root: Path
    """storage.filesystem.rootdirectory: the directory holding ``docker/registry/v2``."""
    delete_enabled: bool = False
    """storage.delete.enabled: DELETE of blobs, manifests and tags."""
    readonly: bool = False
    """storage.maintenance.readonly.enabled: every write answers 405 UNSUPPORTED."""
    authorizer: Authorizer | None = None
    """None lets every request through."""
    max_manifest_bytes: int = 4 * 1024 * 1024
    upload_purge_age: float | None = None
    """Seconds after which an unfinished upload is purged; None disables purging."""
    upload_purge_interval: float = 24 * 3600.0
    relative_urls: bool = False
    """http.relativeurls: Location headers without scheme and host."""
    base_url: str | None = None
    """http.host: the scheme and host of the Location headers (else the request's)."""
    upload_purge_dryrun: bool = False
    """uploadpurging.dryrun: only log the uploads a purge would delete."""
    fsync: bool = True
    """fsync blobs and links before they become visible (crash safety)."""
    access_log: bool = True
    catalog_max_entries: int = 1000
    """Page size of /v2/_catalog when the client gives no ``n``; also its upper bound."""
