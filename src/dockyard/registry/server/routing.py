"""One catch-all route for ``/v2/…``: repository names contain slashes, so the
path is split here, and the name is validated before any handler runs.

The tail after the name (``blobs/<digest>``, ``manifests/<ref>`` …) never contains
a slash, so matching the name greedily up to the last keyword is unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import unquote

from aiohttp import web

from dockyard.reference import is_valid_repository
from dockyard.registry.server import blobs, catalog, manifests, referrers, tags, uploads
from dockyard.registry.server.context import API_VERSION_HEADER, authorize
from dockyard.registry.server.errors import ApiError, UploadUnknown
from dockyard.registry.server.jsonbody import json_response
from dockyard.registry.server.layout import UPLOAD_ID_RE

Handler = Callable[[web.Request, str, str], Awaitable[web.StreamResponse]]

_SESSION: dict[str, Handler] = {
    "GET": uploads.upload_status,
    "HEAD": uploads.upload_status,
    "PATCH": uploads.patch_upload,
    "PUT": uploads.put_upload,
    "DELETE": uploads.cancel_upload,
}

ROUTES: list[tuple[str, re.Pattern[str], dict[str, Handler]]] = [
    ("uploads", re.compile(r"^/v2/(.+)/blobs/uploads/?\Z"), {"POST": uploads.start_upload}),
    ("session", re.compile(r"^/v2/(.+)/blobs/uploads/([^/]+)\Z"), _SESSION),
    (
        "blobs",
        re.compile(r"^/v2/(.+)/blobs/([^/]+)\Z"),
        {"GET": blobs.get_blob, "HEAD": blobs.get_blob, "DELETE": blobs.delete_blob},
    ),
    (
        "manifests",
        re.compile(r"^/v2/(.+)/manifests/([^/]+)\Z"),
        {
            "GET": manifests.get_manifest,
            "HEAD": manifests.get_manifest,
            "PUT": manifests.put_manifest,
            "DELETE": manifests.delete_manifest,
        },
    ),
    ("tags", re.compile(r"^/v2/(.+)/tags/list()\Z"), {"GET": tags.list_tags}),
    ("referrers", re.compile(r"^/v2/(.+)/referrers/([^/]+)\Z"), {"GET": referrers.list_referrers}),
]


async def base(request: web.Request) -> web.StreamResponse:
    await authorize(request, [])
    return json_response({}, headers=API_VERSION_HEADER)


def _not_allowed(methods: Iterable[str]) -> ApiError:
    return ApiError(
        "UNSUPPORTED",
        message="method not allowed",
        headers={"Allow": ", ".join(methods)},
    )


async def dispatch(request: web.Request) -> web.StreamResponse:
    path = request.path
    if path in ("/v2", "/v2/"):
        if request.method not in ("GET", "HEAD"):
            raise _not_allowed(["GET", "HEAD"])
        return await base(request)
    if path == "/v2/_catalog":
        if request.method != "GET":
            raise _not_allowed(["GET"])
        return await catalog.catalog(request)
    # Match the still-encoded path so an encoded slash stays inside its segment.
    raw_path = request.raw_path.split("?", 1)[0]
    for kind, pattern, methods in ROUTES:
        match = pattern.match(raw_path)
        if match is None:
            continue
        name = unquote(match.group(1))
        reference = unquote(match.group(2)) if pattern.groups > 1 else ""
        if not is_valid_repository(name):
            raise ApiError("NAME_INVALID", {"name": name})
        handler = methods.get(request.method)
        if handler is None:
            raise _not_allowed(methods)
        if kind == "session" and not UPLOAD_ID_RE.match(reference):
            raise UploadUnknown(f"upload unknown: {reference!r}")
        return await handler(request, name, reference)
    raise web.HTTPNotFound(
        text='{"errors":[{"code":"NOT_FOUND","message":"page not found"}]}',
        content_type="application/json",
    )
