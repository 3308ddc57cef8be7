"""``/v2/<name>/tags/list``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.registry.server import authz
from dockyard.registry.server.context import API_VERSION_HEADER, authorize, registry_of
from dockyard.registry.server.jsonbody import json_response
from dockyard.registry.server.pagination import next_link, page_size, paginate


async def list_tags(request: web.Request, name: str, _: str) -> web.StreamResponse:
    n = page_size(request, None, None)
    await authorize(request, [authz.pull(name)])
    tags = await asyncio.to_thread(registry_of(request).tags.names, name)
    page, next_last = paginate(tags, request.query.get("last"), n)
    headers = dict(API_VERSION_HEADER)
    if next_last is not None and n:
        headers["Link"] = next_link(f"/v2/{name}/tags/list", n, next_last)
    return json_response({"name": name, "tags": page}, headers=headers)
