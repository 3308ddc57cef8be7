"""Per-application state and the small helpers every handler uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from dockyard.registry.server.authz import Scope
from dockyard.registry.server.blobstore import BlobStore
from dockyard.registry.server.cache import ContentCache
from dockyard.registry.server.errors import Unsupported
from dockyard.registry.server.manifeststore import ManifestStore
from dockyard.registry.server.referrerstore import ReferrerStore
from dockyard.registry.server.settings import ServerSettings
from dockyard.registry.server.storage.driver import StorageDriver
from dockyard.registry.server.storage.filesystem import FilesystemDriver
from dockyard.registry.server.tagstore import TagStore
from dockyard.registry.server.uploadstore import UploadStore

API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


@dataclass
class Metrics:
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass
class Registry:
    settings: ServerSettings
    driver: StorageDriver
    blobs: BlobStore
    uploads: UploadStore
    tags: TagStore
    manifests: ManifestStore
    referrers: ReferrerStore
    metrics: Metrics

    @classmethod
    def open(cls, settings: ServerSettings) -> Registry:
        driver = FilesystemDriver(settings.root, fsync=settings.fsync)
        blobs = BlobStore(driver, ContentCache(driver))
        tags = TagStore(blobs)
        referrers = ReferrerStore(blobs)
        return cls(
            settings=settings,
            driver=driver,
            blobs=blobs,
            uploads=UploadStore(driver, blobs),
            tags=tags,
            manifests=ManifestStore(blobs, tags, referrers),
            referrers=referrers,
            metrics=Metrics(),
        )


REGISTRY = web.AppKey("registry", Registry)
BYTES_SENT = web.RequestKey("bytes_sent", int)
BYTES_RECEIVED = web.RequestKey("bytes_received", int)


def registry_of(request: web.Request) -> Registry:
    return request.app[REGISTRY]


async def authorize(request: web.Request, scopes: list[Scope]) -> None:
    authorizer = registry_of(request).settings.authorizer
    if authorizer is not None:
        await authorizer.authorize(request, scopes)


def require_writable(request: web.Request) -> None:
    if registry_of(request).settings.readonly:
        raise Unsupported("the registry is in read-only mode")


def require_delete(request: web.Request) -> None:
    require_writable(request)
    if not registry_of(request).settings.delete_enabled:
        raise Unsupported("deletes are disabled on this registry")


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",")[0].strip() or None


def url_for(request: web.Request, path: str) -> str:
    """An absolute URL with the scheme and host the client used (or the path alone)."""
    settings = registry_of(request).settings
    if settings.relative_urls:
        return path
    if settings.base_url:
        return settings.base_url.rstrip("/") + path
    scheme = _first(request.headers.get("X-Forwarded-Proto")) or request.scheme
    host = _first(request.headers.get("X-Forwarded-Host")) or request.headers.get("Host")
    if not host:
        return path
    return f"{scheme}://{host}{path}"
