"""A real registry on 127.0.0.1 for tests: in a thread, or as a killable subprocess,
plus a plain http.client client and builders for blobs and manifests."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from aiohttp import web

from dockyard.image import mediatypes as mt
from dockyard.registry.server import ServerSettings, create_app


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_codes(self) -> list[str]:
        return [error["code"] for error in self.json()["errors"]]


@dataclass
class Client:
    host: str
    port: int
    timeout: float = 30.0

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def head(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("HEAD", path, headers=headers)

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        reply = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data)
        assert reply.status == 201, reply.body
        return digest

    def start_upload(self, repo: str) -> str:
        reply = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert reply.status == 202, reply.body
        return path_of(reply.headers["Location"])

    def push_manifest(
        self, repo: str, reference: str, raw: bytes, media_type: str = mt.OCI_MANIFEST
    ) -> Reply:
        return self.request(
            "PUT", f"/v2/{repo}/manifests/{reference}", raw, {"Content-Type": media_type}
        )

    def push_image(
        self, repo: str, tag: str | None = None, extra: dict[str, Any] | None = None
    ) -> tuple[str, bytes]:
        """Config + one layer + manifest; returns the manifest digest and bytes."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "salt": repr(extra)})
        layer = os.urandom(1000)
        raw = image_manifest(
            self.push_blob(repo, config.encode()),
            len(config),
            self.push_blob(repo, layer),
            len(layer),
            extra,
        )
        reply = self.push_manifest(repo, tag or digest_of(raw), raw)
        assert reply.status == 201, reply.body
        return digest_of(raw), raw


def path_of(location: str) -> str:
    """The path+query of a Location header, absolute or relative."""
    if location.startswith("http"):
        return "/" + location.split("/", 3)[3]
    return location


def image_manifest(
    config_digest: str,
    config_size: int,
    layer_digest: str,
    layer_size: int,
    extra: dict[str, Any] | None = None,
) -> bytes:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": layer_digest, "size": layer_size}],
    }
    document.update(extra or {})
    return json.dumps(document, indent=1).encode()


def tree(path: Path) -> dict[str, int]:
    """Every entry under path with its size (directories as -1): a store snapshot."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for dirname in dirnames:
            result[os.path.join(dirpath, dirname)] = -1
        for filename in filenames:
            full = os.path.join(dirpath, filename)
            result[full] = os.path.getsize(full)
    return result


@dataclass
class ThreadedRegistry:
    """create_app() served by an AppRunner on its own loop in a daemon thread."""

    settings: ServerSettings
    client: Client = field(init=False)
    _loop: asyncio.AbstractEventLoop = field(init=False)
    _runner: web.AppRunner = field(init=False)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        self.client = Client("127.0.0.1", port)

    async def _start(self) -> int:
        # A short shutdown: a connection still draining a refused body must not stall teardown.
        self._runner = web.AppRunner(
            create_app(self.settings), access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@dataclass
class ProcessRegistry:
    """``python -m dockyard.registry.server`` as a child process (it can be killed)."""

    root: Path
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def client(self) -> Client:
        return Client("127.0.0.1", self.port)

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "dockyard.registry.server",
            "--root",
            str(self.root),
            "--addr",
            f"127.0.0.1:{self.port}",
            "--no-access-log",
            *self.args,
        ]
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        wait_healthy(self.client, self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def wait_healthy(client: Client, process: subprocess.Popen[bytes], path: str = "/v2/") -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if client.get(path).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not become healthy")
