"""A deliberately misbehaving registry (aiohttp.web in a thread) for the client's bad-input tests.

It serves one small image under every repository name; the repository's first path
component picks the misbehaviour:

- ``good/*``      everything right
- ``badblob/*``   the layer blob's bytes do not match its digest
- ``flaky/*``     the first two GETs of each blob and manifest answer 503
- ``cut/*``       the layer download stops half-way once; ``Range`` requests work
- ``redirect/*``  blobs answer 307 to a second server (another port: another host)
- ``wrongdigest/*`` a manifest asked for by digest comes back as another manifest
- ``slow/*``      the layer download sends half, then hangs (for kill -9 tests)
- ``auth/*``      Basic auth required (user ``u``, password ``p``)
- ``endless/*``   the layer blob comes without Content-Length, its bytes and then more
  bytes without end; ``hits["endless"]`` counts the bytes sent
- ``hugemanifest/*`` the manifest comes without Content-Length and never ends (spaces)
- ``zerosize/*``  the manifest gives the layer a size of 0; the blob is served whole
- ``*/linked/*``  tags/list gives one tag (``a``) and a Link to its next page on the
  second server, which records the Authorization it gets in ``storage_auth``
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web
from tests.imagefactory import sha256, tar_bytes

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass
class FakeImage:
    layer: bytes  # gzip blob
    config: bytes
    manifest: bytes

    @classmethod
    def make(cls, size: int = 3 << 20) -> FakeImage:
        tar = tar_bytes({"data/random.bin": os.urandom(size), "etc/hello": b"hi\n"})
        layer = gzip.compress(tar, compresslevel=1, mtime=0)
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
            "config": {"Cmd": ["/bin/sh"]},
        }).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(config), "digest": sha256(config)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(layer), "digest": sha256(layer)}],
        }, indent=3).encode()
        return cls(layer, config, manifest)


@dataclass
class FakeRegistry:
    image: FakeImage = field(default_factory=FakeImage.make)
    hits: Counter[str] = field(default_factory=Counter)
    ranges: list[str] = field(default_factory=list)
    storage_auth: list[str | None] = field(default_factory=list)
    port: int = 0
    storage_port: int = 0
    closing: bool = False

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port, self.storage_port = future.result(10)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _start(self) -> tuple[int, int]:
        registry = web.Application()
        registry.router.add_get("/v2/", self._base)
        registry.router.add_get("/v2/{name:.+}/manifests/{ref}", self._manifest)
        registry.router.add_get("/v2/{name:.+}/blobs/{digest}", self._blob)
        registry.router.add_get("/v2/{name:.+}/tags/list", self._tags)
        storage = web.Application()
        storage.router.add_get("/storage/{digest}", self._storage)
        storage.router.add_get("/v2/{name:.+}/tags/list", self._foreign_tags)
        self._runners = [web.AppRunner(registry), web.AppRunner(storage)]
        ports = []
        for runner in self._runners:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            ports.append(int(server.sockets[0].getsockname()[1]))
        return ports[0], ports[1]

    def close(self) -> None:
        self.closing = True
        for runner in self._runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _blobs(self) -> dict[str, bytes]:
        image = self.image
        return {sha256(image.layer): image.layer, sha256(image.config): image.config}

    async def _base(self, request: web.Request) -> web.Response:
        return web.json_response({})

    def _denied(self, request: web.Request) -> web.Response | None:
        if not request.match_info["name"].startswith("auth/"):
            return None
        expected = "Basic " + base64.b64encode(b"u:p").decode()
        if request.headers.get("Authorization") == expected:
            return None
        body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        return web.json_response(
            body, status=401, headers={"WWW-Authenticate": 'Basic realm="fake"'}
        )

    def _flaky(self, request: web.Request) -> web.Response | None:
        self.hits[request.path] += 1
        if request.match_info["name"].startswith("flaky/") and self.hits[request.path] <= 2:
            return web.Response(status=503, text="try again")
        return None

    async def _tags(self, request: web.Request) -> web.Response:
        refusal = self._denied(request)
        if refusal is not None:
            return refusal
        name = request.match_info["name"]
        headers = {}
        if "linked" in name.split("/"):
            page = f"http://127.0.0.1:{self.storage_port}/v2/{name}/tags/list?n=1&last=a"
            headers["Link"] = f'<{page}>; rel="next"'
        return web.json_response({"name": name, "tags": ["a"]}, headers=headers)

    async def _foreign_tags(self, request: web.Request) -> web.Response:
        self.storage_auth.append(request.headers.get("Authorization"))
        return web.json_response({"name": request.match_info["name"], "tags": []})

    async def _manifest(self, request: web.Request) -> web.StreamResponse:
        refusal = self._denied(request) or self._flaky(request)
        if refusal is not None:
            return refusal
        raw = self.image.manifest
        if request.match_info["name"].startswith("hugemanifest/"):
            return await self._endless(request, raw, b" " * 65536, "hugemanifest")
        if request.match_info["name"].startswith("zerosize/"):
            manifest = json.loads(raw)
            manifest["layers"][0]["size"] = 0
            raw = json.dumps(manifest).encode()
        if request.match_info["name"].startswith("wrongdigest/"):
            raw = raw + b"\n"
        headers = {"Content-Type": DOCKER_MANIFEST}
        return web.Response(body=raw, headers=headers)

    async def _blob(self, request: web.Request) -> web.StreamResponse:
        refusal = self._denied(request) or self._flaky(request)
        if refusal is not None:
            return refusal
        name, digest = request.match_info["name"], request.match_info["digest"]
        data = self._blobs().get(digest)
        if data is None:
            return web.json_response({"errors": [{"code": "BLOB_UNKNOWN"}]}, status=404)
        if name.startswith("badblob/") and digest == sha256(self.image.layer):
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if "redirect" in name.split("/"):
            location = f"http://127.0.0.1:{self.storage_port}/storage/{digest}"
            return web.Response(status=307, headers={"Location": location})
        if range_header := request.headers.get("Range"):
            self.ranges.append(range_header)
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
            return web.Response(status=206, body=data[start:], headers=headers)
        if name.startswith("slow/") and digest == sha256(self.image.layer):
            return await self._hang(request, data)
        if name.startswith("endless/") and digest == sha256(self.image.layer):
            return await self._endless(request, data, os.urandom(65536), "endless")
        if name.startswith("cut/") and digest == sha256(self.image.layer) and not self.ranges:
            return await self._cut(request, data)
        return web.Response(body=data)

    async def _cut(self, request: web.Request, data: bytes) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(data))})
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()  # the connection drops mid-body
        return response

    async def _endless(
        self, request: web.Request, data: bytes, filler: bytes, counter: str
    ) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(data)
        self.hits[counter] = len(data)
        while not self.closing and self.hits[counter] < 1 << 30:  # until the client hangs up
            try:
                await response.write(filler)
            except (ConnectionResetError, RuntimeError):
                break
            self.hits[counter] += len(filler)
        return response

    async def _hang(self, request: web.Request, data: bytes) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(data))})
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        self.hits["hanging"] += 1
        for _ in range(600):  # until killed client-side, or the registry closes
            if self.closing:
                break
            await asyncio.sleep(0.1)
        return response

    async def _storage(self, request: web.Request) -> web.Response:
        self.storage_auth.append(request.headers.get("Authorization"))
        data = self._blobs().get(request.match_info["digest"])
        return web.Response(body=data) if data is not None else web.Response(status=404)
