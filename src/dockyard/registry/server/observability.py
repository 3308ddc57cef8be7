"""Access log format, request metrics (Prometheus text), ``/debug/health``.

Counters are per worker process; each worker adds a ``worker`` label (its pid) so
a scrape that lands on any worker is still unambiguous.
"""

from __future__ import annotations

import os

from aiohttp import web

from dockyard.registry.server.context import BYTES_RECEIVED, BYTES_SENT, registry_of
from dockyard.registry.server.errors import Handler
from dockyard.registry.server.jsonbody import json_response

ACCESS_LOG_FORMAT = '%a "%r" %s %b "%{Referer}i" "%{User-Agent}i" %Tf'


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = registry_of(request).metrics
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        key = (request.method, status)
        metrics.requests[key] = metrics.requests.get(key, 0) + 1
        metrics.bytes_sent += request.get(BYTES_SENT, 0)
        metrics.bytes_received += request.get(BYTES_RECEIVED, 0)


async def health(request: web.Request) -> web.StreamResponse:
    return json_response({})


async def metrics(request: web.Request) -> web.StreamResponse:
    data = registry_of(request).metrics
    worker = os.getpid()
    lines = [
        "# HELP dockyard_registry_http_requests_total HTTP requests by method and status.",
        "# TYPE dockyard_registry_http_requests_total counter",
    ]
    for (method, status), count in sorted(data.requests.items()):
        lines.append(
            f'dockyard_registry_http_requests_total{{method="{method}",status="{status}",'
            f'worker="{worker}"}} {count}'
        )
    lines += [
        "# HELP dockyard_registry_bytes_sent_total Blob and manifest bytes served.",
        "# TYPE dockyard_registry_bytes_sent_total counter",
        f'dockyard_registry_bytes_sent_total{{worker="{worker}"}} {data.bytes_sent}',
        "# HELP dockyard_registry_bytes_received_total Blob and manifest bytes received.",
        "# TYPE dockyard_registry_bytes_received_total counter",
        f'dockyard_registry_bytes_received_total{{worker="{worker}"}} {data.bytes_received}',
    ]
    return web.Response(
        text="\n".join(lines) + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )
