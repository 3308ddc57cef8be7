"""``/v2/<name>/blobs/<digest>``: GET, HEAD, DELETE."""

from __future__ import annotations

from aiohttp import web

from dockyard.digest import Digest
from dockyard.registry.server import authz, layout
from dockyard.registry.server.context import authorize, registry_of, require_delete
from dockyard.registry.server.sendfile import send_blob


async def get_blob(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    digest = Digest.parse(reference)
    await authorize(request, [authz.pull(name)])
    blobs = registry_of(request).blobs
    blobs.stat_in_repo(name, digest)
    path = blobs.local_path(digest)
    if path is None:
        stream = blobs.driver.reader(layout.blob_data(digest))
        return await send_blob(request, digest, None, stream)
    return await send_blob(request, digest, path)


async def delete_blob(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    digest = Digest.parse(reference)
    require_delete(request)
    await authorize(request, [authz.delete(name)])
    registry_of(request).blobs.unlink(name, digest)
    return web.Response(
        status=202,
        headers={
            "Docker-Content-Digest": str(digest),
            "Docker-Distribution-API-Version": "registry/2.0",
        },
    )
