"""``/v2/<name>/referrers/<digest>[?artifactType=]``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.digest import Digest
from dockyard.image import mediatypes as mt
from dockyard.registry.server import authz
from dockyard.registry.server.context import API_VERSION_HEADER, authorize, registry_of
from dockyard.registry.server.referrerstore import referrers_index


async def list_referrers(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    subject = Digest.parse(reference)
    await authorize(request, [authz.pull(name)])
    artifact_type = request.query.get("artifactType") or None
    referrers = registry_of(request).referrers
    manifests = await asyncio.to_thread(referrers.find, name, subject, artifact_type)
    headers = {**API_VERSION_HEADER, "Content-Type": mt.OCI_INDEX}
    if artifact_type is not None:
        headers["OCI-Filters-Applied"] = "artifactType"
    return web.Response(status=200, body=referrers_index(manifests), headers=headers)
