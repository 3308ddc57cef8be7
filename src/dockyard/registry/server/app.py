"""``create_app``: the aiohttp application of the registry server core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from dockyard.registry.server import observability, routing
from dockyard.registry.server.context import REGISTRY, Registry
from dockyard.registry.server.errors import error_middleware
from dockyard.registry.server.settings import ServerSettings
from dockyard.registry.server.uploadstore import purge_uploads

log = logging.getLogger("dockyard.registry")


async def _purge_periodically(
    registry: Registry, age: float, interval: float, dry_run: bool
) -> None:
    while True:
        try:
            purged = await asyncio.to_thread(purge_uploads, registry.uploads, age, dry_run)
        except OSError as exc:
            log.warning("upload purge failed: %s", exc)
        else:
            if purged:
                log.info("%s %d stale uploads", "would purge" if dry_run else "purged", purged)
        await asyncio.sleep(interval)


def create_app(settings: ServerSettings) -> web.Application:
    registry = Registry.open(settings)
    app = web.Application(
        middlewares=[observability.metrics_middleware, error_middleware],
        client_max_size=settings.max_manifest_bytes + 1,
    )
    app[REGISTRY] = registry
    app.router.add_get("/debug/health", observability.health)
    app.router.add_get("/metrics", observability.metrics)
    app.router.add_route("*", "/v2", routing.dispatch)
    app.router.add_route("*", "/v2/{tail:.*}", routing.dispatch)

    if settings.upload_purge_age is not None:
        age = settings.upload_purge_age

        async def purge_context(_: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(
                _purge_periodically(registry, age, settings.upload_purge_interval,
                                    settings.upload_purge_dryrun)
            )
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        app.cleanup_ctx.append(purge_context)
    return app
