"""``/v2/_catalog``: every repository, found by walking ``repositories/``.

As in distribution, a repository is a directory holding ``_layers`` (or, for a
manifest-only repository, ``_manifests``); other ``_`` directories are internal.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.registry.server import authz, layout
from dockyard.registry.server.context import API_VERSION_HEADER, authorize, registry_of
from dockyard.registry.server.jsonbody import json_response
from dockyard.registry.server.pagination import next_link, page_size, paginate
from dockyard.registry.server.storage.driver import PathNotFound, StorageDriver


def list_repositories(driver: StorageDriver) -> list[str]:
    found: list[str] = []
    pending = [(layout.REPOSITORIES, "")]
    while pending:
        path, name = pending.pop()
        try:
            children = driver.list(path)
        except PathNotFound:
            continue
        if name and ("_layers" in children or "_manifests" in children):
            found.append(name)
        for child in children:
            if child.startswith("_"):
                continue
            child_path = f"{path}/{child}"
            try:
                if driver.stat(child_path).is_dir:
                    pending.append((child_path, f"{name}/{child}" if name else child))
            except PathNotFound:
                continue
    return sorted(found)


async def catalog(request: web.Request) -> web.StreamResponse:
    registry = registry_of(request)
    maximum = registry.settings.catalog_max_entries
    n = page_size(request, maximum, maximum)
    await authorize(request, [authz.CATALOG])
    repositories = await asyncio.to_thread(list_repositories, registry.driver)
    page, next_last = paginate(repositories, request.query.get("last"), n)
    headers = dict(API_VERSION_HEADER)
    if next_last is not None and n:
        headers["Link"] = next_link("/v2/_catalog", n, next_last)
    return json_response({"repositories": page}, headers=headers)
