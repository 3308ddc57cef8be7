"""Blob transfer: downloads hashed as they stream (resumed with ``Range`` when cut) and
uploads, monolithic for small blobs, one streamed PATCH then PUT for big ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO, Protocol

import aiohttp

from dockyard.digest import Digest, Hasher
from dockyard.errors import DigestMismatch, RegistryError
from dockyard.registry.client.pipe import BlobPipe
from dockyard.registry.client.repository import Repository
from dockyard.registry.client.transport import ATTEMPTS, connection_error, error_from

CHUNK = 1 << 20
MONOLITHIC_MAX = 4 << 20  # docker streams every blob; small ones go in one PUT here
Progress = Callable[[int], None]  # bytes done so far
_CUT = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, ConnectionResetError,
        TimeoutError)


class BlobSink(Protocol):
    """Where downloaded bytes go: a staging file, or a pipe into the unpacker."""

    async def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None:
        """The server ignored ``Range``: the bytes start again from the first."""


class FileSink:
    def __init__(self, file: BinaryIO) -> None:
        self.file = file

    async def write(self, chunk: bytes) -> None:
        self.file.write(chunk)

    def restart(self) -> None:
        self.file.seek(0)
        self.file.truncate()


class PipeSink:
    def __init__(self, pipe: BlobPipe) -> None:
        self.pipe = pipe

    async def write(self, chunk: bytes) -> None:
        await self.pipe.write_chunk(chunk)

    def restart(self) -> None:
        raise RegistryError("the registry ignored Range when the download resumed")


class ByteCounter:
    """Counts a stream's bytes without hashing them (see ``download_blob``'s ``verify``)."""

    def __init__(self) -> None:
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)


async def download_blob(
    repo: Repository, digest: Digest, size: int, sink: BlobSink, progress: Progress,
    *, verify: bool = True,
) -> None:
    """Fetch a blob into ``sink`` and verify it; a cut transfer resumes where it stopped.

    ``verify=False`` is for a sink that hashes the bytes itself and checks ``digest``
    (a pull's unpacker): hashing them twice costs a core's worth of time on big layers.
    """
    hasher: Hasher | ByteCounter = Hasher(digest.algorithm) if verify else ByteCounter()
    url = repo.blob_url(digest)
    for attempt in range(ATTEMPTS):
        headers = {"Range": f"bytes={hasher.size}-"} if hasher.size else {}
        response = await repo.transport.request("GET", url, repo.scopes, headers=headers)
        async with response:
            if response.status == 200 and hasher.size:
                sink.restart()
                hasher = Hasher(digest.algorithm) if verify else ByteCounter()
            elif response.status not in (200, 206):
                raise (await error_from(response)).with_context(f"fetching blob {digest}")
            try:
                await _copy(response, sink, hasher, progress, size, digest)
            except _CUT as exc:
                if attempt == ATTEMPTS - 1:
                    raise connection_error("GET", url, exc) from exc
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
        if hasher.size < size and attempt < ATTEMPTS - 1:
            continue  # ended early without an error: resume
        break
    if isinstance(hasher, Hasher) and (actual := hasher.digest()) != digest:
        raise DigestMismatch(str(digest), str(actual), "layer blob")
    if hasher.size != size:  # a descriptor's size is never optional: 0 means empty
        raise DigestMismatch(f"{size} bytes", f"{hasher.size} bytes", f"blob {digest} size")


async def _copy(
    response: aiohttp.ClientResponse, sink: BlobSink, hasher: Hasher | ByteCounter,
    progress: Progress, size: int, digest: Digest,
) -> None:
    async for chunk in response.content.iter_chunked(CHUNK):
        if hasher.size + len(chunk) > size:
            # A registry that sends more than the descriptor says must not fill the disk.
            raise RegistryError(f"blob {digest} is larger than the {size} bytes its "
                                "descriptor gives")
        await sink.write(chunk)
        hasher.update(chunk)
        progress(hasher.size)


async def upload_blob(
    repo: Repository, digest: Digest, source: Path | bytes, location: str, progress: Progress
) -> None:
    """Upload a file (or bytes) into the upload session at ``location``."""
    if isinstance(source, bytes):
        await _finish(repo, location, digest, source, {"Content-Length": str(len(source))})
        return
    path = source
    size = path.stat().st_size
    if size <= MONOLITHIC_MAX:
        data = path.read_bytes()
        await _finish(repo, location, digest, data, {"Content-Length": str(size)})
        progress(size)
        return
    response = await repo.transport.request(
        "PATCH",
        location,
        repo.scopes,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        body=lambda: _file_chunks(path, progress),
    )
    async with response:
        if response.status != 202:
            raise (await error_from(response)).with_context(f"uploading blob {digest}")
        location = response.headers.get("Location", location)
    await _finish(repo, location, digest, b"", {"Content-Length": "0"})


async def _finish(
    repo: Repository, location: str, digest: Digest, data: bytes, headers: dict[str, str]
) -> None:
    separator = "&" if "?" in location else "?"
    response = await repo.transport.request(
        "PUT",
        f"{location}{separator}digest={digest}",
        repo.scopes,
        headers={"Content-Type": "application/octet-stream", **headers},
        body=data,
    )
    async with response:
        if response.status not in (201, 204):
            raise (await error_from(response)).with_context(f"uploading blob {digest}")


async def _file_chunks(path: Path, progress: Progress) -> AsyncIterator[bytes]:
    done = 0
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            done += len(chunk)
            yield chunk
            progress(done)
