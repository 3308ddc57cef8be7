"""Blob responses: one open + fstat, Range per RFC 9110, then ``sendfile``.

aiohttp's FileResponse does the same work through two executor round trips and
sets a weak mtime ETag; a blob's natural ETag is its digest.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from dockyard.digest import CHUNK, Digest
from dockyard.errors import BlobNotFound
from dockyard.registry.server.context import BYTES_SENT

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)\Z")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single satisfiable range, None to send it all.

    Raises ValueError for an unsatisfiable range (answered with 416). Malformed or
    multi-range headers are ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise ValueError("unsatisfiable suffix range")
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise ValueError("range starts past the end")
    return start, (min(int(last), size - 1) if last else size - 1)


def _etag_matches(request: web.Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    candidates = {value.strip().removeprefix("W/") for value in header.split(",")}
    return "*" in candidates or etag in candidates or etag.strip('"') in candidates


async def send_blob(
    request: web.Request, digest: Digest, path: Path | None, stream: BinaryIO | None = None
) -> web.StreamResponse:
    """Serve a blob from a local file (sendfile) or, failing that, a stream."""
    if stream is None:
        if path is None:
            raise BlobNotFound(f"blob unknown: {digest}")
        try:
            stream = path.open("rb")
        except FileNotFoundError as exc:  # deleted between stat and open
            raise BlobNotFound(f"blob unknown: {digest}") from exc
    with stream:
        return await _send(request, digest, stream)


async def _send(request: web.Request, digest: Digest, stream: BinaryIO) -> web.StreamResponse:
    size = os.fstat(stream.fileno()).st_size
    etag = f'"{digest}"'
    headers = {
        "Docker-Content-Digest": str(digest),
        "Docker-Distribution-API-Version": "registry/2.0",
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
        "Content-Type": "application/octet-stream",
    }
    if _etag_matches(request, etag):
        return web.Response(status=304, headers=headers)
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except ValueError:
        headers["Content-Range"] = f"bytes */{size}"
        return web.Response(status=416, headers=headers)
    response = web.StreamResponse(status=200, headers=headers)
    start, count = 0, size
    if byte_range is not None:
        start, end = byte_range
        count = end - start + 1
        response.set_status(206)
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.content_length = count
    await response.prepare(request)
    if request.method != "HEAD" and count:
        await _copy(request, response, stream, start, count)
        request[BYTES_SENT] = count
    await response.write_eof()
    return response


async def _copy(
    request: web.Request, response: web.StreamResponse, stream: BinaryIO, start: int, count: int
) -> None:
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("connection lost")
    try:
        await asyncio.get_running_loop().sendfile(transport, stream, start, count)
    except NotImplementedError:  # e.g. a transport without sendfile support
        stream.seek(start)
        while count > 0:
            chunk = await asyncio.to_thread(stream.read, min(CHUNK, count))
            if not chunk:
                break
            await response.write(chunk)
            count -= len(chunk)
