"""Crash and concurrency safety: kill -9 mid-upload, worker processes, racing pushes."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from tests.registry.server.registry_harness import (
    Client,
    ProcessRegistry,
    digest_of,
    image_manifest,
    path_of,
    tree,
)


def _start_streamed_patch(client: Client, location: str, payload: bytes) -> socket.socket:
    """Send a chunked PATCH's headers and part of its body, then stop mid-stream."""
    sock = socket.create_connection((client.host, client.port))
    sock.sendall(
        f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    for start in range(0, len(payload), 65536):
        piece = payload[start : start + 65536]
        sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    return sock


@pytest.mark.slow
def test_kill_mid_upload_then_resume(tmp_path: Path) -> None:
    data = os.urandom(6 * 1024 * 1024)
    digest = digest_of(data)
    server = ProcessRegistry(tmp_path / "store")
    server.start()
    try:
        client = server.client
        location = client.start_upload("crash/app")
        reply = client.request("PATCH", location, data[:1000], {"Content-Range": "0-999"})
        assert reply.status == 202
        sock = _start_streamed_patch(client, location, data[1000 : 4 * 1024 * 1024])
        time.sleep(0.5)  # let the server write some of it
        assert client.head(f"/v2/crash/app/blobs/{digest}").status == 404
        server.kill()
        sock.close()
        server.start()
        assert client.head(f"/v2/crash/app/blobs/{digest}").status == 404
        status = client.get(location)
        assert status.status == 204, status.body
        end = int(status.headers["Range"].split("-")[1])
        received = end + 1
        assert 1000 <= received <= 4 * 1024 * 1024
        # The upload resumes where the server says it is.
        reply = client.request(
            "PATCH",
            path_of(status.headers["Location"]),
            data[received:],
            {"Content-Range": f"{received}-{len(data) - 1}"},
        )
        assert reply.status == 202, reply.body
        reply = client.request("PUT", f"{location}?digest={digest}")
        assert reply.status == 201, reply.body
        assert client.get(f"/v2/crash/app/blobs/{digest}").body == data
    finally:
        server.stop()


@pytest.mark.slow
def test_uploads_move_between_worker_processes(tmp_path: Path) -> None:
    server = ProcessRegistry(tmp_path / "store", args=["--workers", "3"])
    server.start()
    try:
        client = server.client  # a new connection per request: any worker may answer
        data = os.urandom(300_000)
        location = client.start_upload("workers/app")
        for start in range(0, len(data), 50_000):
            end = min(start + 50_000, len(data)) - 1
            reply = client.request(
                "PATCH", location, data[start : end + 1], {"Content-Range": f"{start}-{end}"}
            )
            assert reply.status == 202, reply.body
        reply = client.request("PUT", f"{location}?digest={digest_of(data)}")
        assert reply.status == 201, reply.body
        for _ in range(6):
            assert client.get(f"/v2/workers/app/blobs/{digest_of(data)}").body == data
    finally:
        server.stop()


def test_concurrent_pushes_of_the_same_blob_and_tag(api: Client, store_root: Path) -> None:
    data = os.urandom(2 * 1024 * 1024)
    config = b'{"os":"linux"}'
    errors: list[Exception] = []
    manifests = [
        image_manifest(digest_of(config), len(config), digest_of(data), len(data), {"n": n})
        for n in range(8)
    ]

    def push(n: int) -> None:
        try:
            assert api.push_blob("race/app", data) == digest_of(data)
            api.push_blob("race/app", config)
            assert api.push_manifest("race/app", "latest", manifests[n]).status == 201
        except (AssertionError, OSError) as exc:  # reported on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert api.get(f"/v2/race/app/blobs/{digest_of(data)}").body == data
    assert api.get("/v2/race/app/manifests/latest").body in manifests
    leftovers = [path for path in tree(store_root) if Path(path).name.startswith(".")]
    assert leftovers == []
    uploads = store_root / "docker/registry/v2/repositories/race/app/_uploads"
    assert list(uploads.iterdir()) == []
