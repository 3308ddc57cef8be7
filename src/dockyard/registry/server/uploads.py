"""``/v2/<name>/blobs/uploads/[<uuid>]``: start, chunk, status, close, cancel, mount.

Bodies are streamed to the session's data file in ~1 MiB batches written (and
hashed) on a worker thread; a request body is never held in memory whole.
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from dockyard.digest import Digest
from dockyard.errors import BlobNotFound, InvalidDigest
from dockyard.reference import is_valid_repository
from dockyard.registry.server import authz
from dockyard.registry.server.context import (
    API_VERSION_HEADER,
    BYTES_RECEIVED,
    authorize,
    registry_of,
    require_writable,
    url_for,
)
from dockyard.registry.server.errors import (
    SizeInvalid,
    UploadInvalid,
    UploadOutOfOrder,
    range_header,
)

_FLUSH_BYTES = 1 << 20
_CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/\d+|/\*)?\Z")


def _upload_path(name: str, upload_id: str) -> str:
    return f"/v2/{name}/blobs/uploads/{upload_id}"


def _session_response(
    request: web.Request, status: int, name: str, upload_id: str, size: int
) -> web.Response:
    return web.Response(
        status=status,
        headers={
            **API_VERSION_HEADER,
            "Location": url_for(request, _upload_path(name, upload_id)),
            "Range": range_header(size),
            "Docker-Upload-UUID": upload_id,
        },
    )


def _created_response(request: web.Request, name: str, digest: Digest) -> web.Response:
    return web.Response(
        status=201,
        headers={
            **API_VERSION_HEADER,
            "Location": url_for(request, f"/v2/{name}/blobs/{digest}"),
            "Docker-Content-Digest": str(digest),
        },
    )


def _content_range(request: web.Request) -> tuple[int, int] | None:
    header = request.headers.get("Content-Range")
    if header is None:
        return None
    match = _CONTENT_RANGE_RE.match(header.strip())
    if match is None or int(match.group(2)) < int(match.group(1)):
        raise UploadInvalid(f"malformed Content-Range: {header!r}")
    return int(match.group(1)), int(match.group(2))


async def _append_body(request: web.Request, name: str, upload_id: str) -> int:
    """Stream the body onto the session; returns the session's new size."""
    uploads = registry_of(request).uploads
    byte_range = _content_range(request)
    size = uploads.size(name, upload_id)
    expected: int | None = request.content_length
    if byte_range is not None:
        start, end = byte_range
        if start != size:
            raise UploadOutOfOrder(url_for(request, _upload_path(name, upload_id)), upload_id, size)
        if expected is not None and expected != end - start + 1:
            raise SizeInvalid("Content-Length does not match Content-Range")
        expected = end - start + 1
    if expected == 0 or (expected is None and not request.body_exists):
        return size
    writer = uploads.open_writer(name, upload_id)
    if writer.size != size:  # another request wrote in between: the range is stale now
        writer.cancel()
        raise UploadOutOfOrder(
            url_for(request, _upload_path(name, upload_id)), upload_id, writer.size
        )
    written = 0
    try:
        batch: list[bytes] = []
        pending = 0
        while chunk := await request.content.readany():
            batch.append(chunk)
            pending += len(chunk)
            if pending >= _FLUSH_BYTES:
                await asyncio.to_thread(writer.write, b"".join(batch))
                written += pending
                batch, pending = [], 0
        if batch:
            await asyncio.to_thread(writer.write, b"".join(batch))
            written += pending
    finally:
        if expected is not None and written != expected:
            writer.cancel()
        else:
            writer.close()
    if expected is not None and written != expected:
        raise SizeInvalid(f"received {written} bytes, expected {expected}")
    request[BYTES_RECEIVED] = written
    return size + written


async def _finish(request: web.Request, name: str, upload_id: str, digest: Digest) -> web.Response:
    await asyncio.to_thread(registry_of(request).uploads.finish, name, upload_id, digest)
    return _created_response(request, name, digest)


async def _try_mount(request: web.Request, name: str) -> web.Response | None:
    """201 when ``?mount=&from=`` can be honoured, None to fall back to a session."""
    source = request.query.get("from", "")
    digest = Digest.parse(request.query["mount"])
    if not is_valid_repository(source):
        return None
    try:
        await authorize(request, [authz.pull(source)])
    except (web.HTTPUnauthorized, web.HTTPForbidden):
        return None  # the caller cannot read the source: a plain upload instead
    try:
        registry_of(request).blobs.mount(name, source, digest)
    except BlobNotFound:
        return None
    return _created_response(request, name, digest)


async def start_upload(request: web.Request, name: str, _: str) -> web.StreamResponse:
    require_writable(request)
    await authorize(request, [authz.push(name)])
    if "mount" in request.query:
        mounted = await _try_mount(request, name)
        if mounted is not None:
            return mounted
    uploads = registry_of(request).uploads
    digest_param = request.query.get("digest")
    digest = Digest.parse(digest_param) if digest_param is not None else None
    upload_id = await asyncio.to_thread(uploads.create, name)
    if digest is None:
        return _session_response(request, 202, name, upload_id, 0)
    await _append_body(request, name, upload_id)
    return await _finish(request, name, upload_id, digest)


async def upload_status(request: web.Request, name: str, upload_id: str) -> web.StreamResponse:
    await authorize(request, [authz.pull(name)])
    size = registry_of(request).uploads.size(name, upload_id)
    return _session_response(request, 204, name, upload_id, size)


async def patch_upload(request: web.Request, name: str, upload_id: str) -> web.StreamResponse:
    require_writable(request)
    await authorize(request, [authz.push(name)])
    size = await _append_body(request, name, upload_id)
    return _session_response(request, 202, name, upload_id, size)


async def put_upload(request: web.Request, name: str, upload_id: str) -> web.StreamResponse:
    require_writable(request)
    await authorize(request, [authz.push(name)])
    digest_param = request.query.get("digest")
    if not digest_param:
        raise InvalidDigest("digest missing")
    digest = Digest.parse(digest_param)
    await _append_body(request, name, upload_id)
    return await _finish(request, name, upload_id, digest)


async def cancel_upload(request: web.Request, name: str, upload_id: str) -> web.StreamResponse:
    require_writable(request)
    await authorize(request, [authz.push(name)])
    await asyncio.to_thread(registry_of(request).uploads.cancel, name, upload_id)
    return web.Response(status=204, headers={**API_VERSION_HEADER, "Docker-Upload-UUID": upload_id})
