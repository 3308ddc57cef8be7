"""Helpers shared by the registry's interop tests, gc tests and bench: OCI layouts and servers.

An OCI layout is written by hand (``oci-layout``, ``index.json``, ``blobs/sha256``)
so that skopeo and docker have something real to copy without any network.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dockyard.busybox_rootfs import busybox_rootfs_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def busybox_rootfs_tar() -> bytes:
    """The busybox rootfs every test image starts from (deterministic bytes)."""
    return busybox_rootfs_bytes()


def deterministic_gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


class LayoutWriter:
    """Writes blobs into ``<dir>/blobs/sha256`` and, at the end, index.json."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        (directory / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def add_bytes(self, data: bytes, media_type: str) -> Descriptor:
        digest = hashlib.sha256(data).hexdigest()
        (self.dir / "blobs" / "sha256" / digest).write_bytes(data)
        return Descriptor(media_type, f"sha256:{digest}", len(data))

    def add_file(self, path: Path, media_type: str) -> Descriptor:
        """Move a (large) file in as a blob without reading it into memory twice."""
        hasher = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
        target = self.dir / "blobs" / "sha256" / hasher.hexdigest()
        shutil.move(path, target)
        return Descriptor(media_type, f"sha256:{hasher.hexdigest()}", target.stat().st_size)

    def add_image(
        self, layers: list[Descriptor], diff_ids: list[str], tag: str, cmd: Iterable[str] = ("sh",)
    ) -> Descriptor:
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": "dockyard tests"} for _ in layers],
        }
        config_desc = self.add_bytes(
            json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"
        )
        media_type = "application/vnd.oci.image.manifest.v1+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config_desc.to_json(),
            "layers": [d.to_json() for d in layers],
        }
        desc = self.add_bytes(json.dumps(manifest).encode(), media_type)
        index_path = self.dir / "index.json"
        entries = json.loads(index_path.read_text())["manifests"] if index_path.exists() else []
        entries.append(desc.to_json() | {"annotations": {"org.opencontainers.image.ref.name": tag}})
        index = {"schemaVersion": 2, "manifests": entries}
        index_path.write_text(json.dumps(index))
        return desc


def busybox_layout(directory: Path, tag: str = "1") -> Descriptor:
    """An OCI layout holding one busybox image under ``tag``; returns its manifest."""
    tar = busybox_rootfs_tar()
    writer = LayoutWriter(directory)
    layer = writer.add_bytes(deterministic_gzip(tar), "application/vnd.oci.image.layer.v1.tar+gzip")
    return writer.add_image([layer], [f"sha256:{hashlib.sha256(tar).hexdigest()}"], tag)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until ``url`` answers at all (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            # Readiness only: a test's self-signed TLS certificate is checked by the test itself.
            context = ssl._create_unverified_context() if url.startswith("https:") else None
            urllib.request.urlopen(url, timeout=1, context=context).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class Server:
    """A registry subprocess on 127.0.0.1 that is stopped on exit."""

    def __init__(
        self,
        argv: list[str],
        port: int,
        log: Path,
        env: dict[str, str] | None = None,
        scheme: str = "http",
    ) -> None:
        self.port = port
        self.log = log
        self.process = subprocess.Popen(
            argv,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            wait_http(f"{scheme}://127.0.0.1:{port}/v2/", process=self.process)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{argv[0]} failed to start:\n{log.read_text()[-3000:]}") from None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def dockyard_registry(
    config: Path | None,
    port: int,
    log: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    scheme: str = "http",
) -> Server:
    argv = [sys.executable, "-c", "from dockyard.cli.main import main; main()", "registry", "serve"]
    argv += [str(config)] if config else []
    return Server([*argv, "--addr", f"127.0.0.1:{port}", *extra], port, log, env, scheme)


def distribution_registry(root: Path, port: int, log: Path) -> Server:
    config = root.parent / f"distribution-{port}.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    return Server(["/usr/bin/docker-registry", "serve", str(config)], port, log)
