"""``/v2/<name>/manifests/<tag-or-digest>``: GET, HEAD, PUT, DELETE."""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.digest import Digest
from dockyard.errors import DigestMismatch
from dockyard.registry.server import authz, layout
from dockyard.registry.server.context import (
    API_VERSION_HEADER,
    BYTES_RECEIVED,
    BYTES_SENT,
    authorize,
    registry_of,
    require_delete,
    require_writable,
    url_for,
)
from dockyard.registry.server.errors import InvalidTag, ManifestTooLarge


def parse_reference(reference: str) -> tuple[Digest | None, str | None]:
    """A digest (anything with a colon) or a tag, checked before any storage access."""
    if ":" in reference:
        return Digest.parse(reference), None
    if not layout.TAG_RE.match(reference):
        raise InvalidTag(f"invalid tag: {reference!r}")
    return None, reference


def _etag_matches(request: web.Request, digest: Digest) -> bool:
    header = request.headers.get("If-None-Match", "")
    return any(value.strip().strip('"') == str(digest) for value in header.split(","))


async def get_manifest(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    digest, tag = parse_reference(reference)
    await authorize(request, [authz.pull(name)])
    registry = registry_of(request)
    if tag is not None:
        digest = registry.tags.resolve(name, tag)
    assert digest is not None
    headers = {
        **API_VERSION_HEADER,
        "Docker-Content-Digest": str(digest),
        "ETag": f'"{digest}"',
    }
    if _etag_matches(request, digest):
        return web.Response(status=304, headers=headers)
    stored = registry.manifests.get(name, digest)
    headers["Content-Type"] = stored.media_type
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(stored.raw))
        return web.Response(status=200, headers=headers)
    request[BYTES_SENT] = len(stored.raw)
    return web.Response(status=200, body=stored.raw, headers=headers)


async def _read_manifest_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise ManifestTooLarge(f"manifest of {request.content_length} bytes exceeds {limit}")
    chunks: list[bytes] = []
    received = 0
    while chunk := await request.content.readany():
        received += len(chunk)
        if received > limit:
            raise ManifestTooLarge(f"manifest exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def put_manifest(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    require_writable(request)
    expected, tag = parse_reference(reference)
    extra_tags = request.query.getall("tag", [])
    for extra in extra_tags:
        if not layout.TAG_RE.match(extra):
            raise InvalidTag(f"invalid tag: {extra!r}")
    await authorize(request, [authz.push(name)])
    registry = registry_of(request)
    raw = await _read_manifest_body(request, registry.settings.max_manifest_bytes)
    digest = Digest.of_bytes(raw, expected.algorithm if expected else "sha256")
    if expected is not None and digest != expected:
        raise DigestMismatch(str(expected), str(digest), "manifest")
    tags = ([tag] if tag else []) + extra_tags
    content_type = request.headers.get("Content-Type")
    document = await asyncio.to_thread(
        registry.manifests.put, name, raw, content_type, digest, tags
    )
    request[BYTES_RECEIVED] = len(raw)
    headers = {
        **API_VERSION_HEADER,
        "Location": url_for(request, f"/v2/{name}/manifests/{digest}"),
        "Docker-Content-Digest": str(digest),
    }
    if document.parsed.subject is not None:
        headers["OCI-Subject"] = document.parsed.subject.digest
    if extra_tags:
        headers["OCI-Tag"] = ", ".join(extra_tags)
    return web.Response(status=201, headers=headers)


async def delete_manifest(request: web.Request, name: str, reference: str) -> web.StreamResponse:
    digest, tag = parse_reference(reference)
    require_delete(request)
    await authorize(request, [authz.delete(name)])
    registry = registry_of(request)
    if tag is not None:
        await asyncio.to_thread(registry.tags.delete, name, tag)
    else:
        assert digest is not None
        await asyncio.to_thread(registry.manifests.delete, name, digest)
    return web.Response(status=202, headers=API_VERSION_HEADER)
