"""One upload session, several requests at once: one writer at a time, and a blob is
only ever stored under the digest of its own bytes."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from pathlib import Path

from tests.registry.server.registry_harness import Client, digest_of

MIB = 1 << 20


def _open_chunked_patch(api: Client, path: str) -> socket.socket:
    conn = socket.create_connection((api.host, api.port))
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    conn.sendall(head.encode())
    return conn


def _send_chunk(conn: socket.socket, data: bytes) -> None:
    conn.sendall(b"%x\r\n" % len(data) + data + b"\r\n")


def _finish(conn: socket.socket) -> bytes:
    conn.sendall(b"0\r\n\r\n")
    status = conn.recv(4096).split(b"\r\n", 1)[0]
    conn.close()
    return status


def test_a_second_writer_is_refused_and_nothing_is_poisoned(api: Client) -> None:
    path = api.start_upload("race/app")
    first = _open_chunked_patch(api, path)
    _send_chunk(first, b"X" * MIB)
    time.sleep(0.3)  # the first request now holds the session
    second = _open_chunked_patch(api, path)
    _send_chunk(second, b"W" * MIB)
    assert _finish(second) == b"HTTP/1.1 400 Bad Request"
    _send_chunk(first, b"Z" * MIB)
    assert _finish(first) == b"HTTP/1.1 202 Accepted"
    # The session holds exactly what the first writer sent: only that digest closes it.
    wrong = digest_of(b"X" * MIB + b"W" * MIB)
    assert api.request("PUT", f"{path}?digest={wrong}").status == 400
    path = api.start_upload("race/app")
    for data in (b"X" * MIB, b"Z" * MIB):
        assert api.request("PATCH", path, data).status == 202
    right = "sha256:" + hashlib.sha256(b"X" * MIB + b"Z" * MIB).hexdigest()
    assert api.request("PUT", f"{path}?digest={right}").status == 201
    stored = api.get(f"/v2/race/app/blobs/{right}").body
    assert "sha256:" + hashlib.sha256(stored).hexdigest() == right


def _race(api: Client, path: str) -> tuple[int, int]:
    """PATCH and DELETE of ``path`` sent at the same moment: their statuses."""
    barrier = threading.Barrier(2)
    out: dict[str, int] = {}

    def send(method: str, body: bytes | None) -> None:
        barrier.wait()
        out[method] = api.request(method, path, body).status

    threads = [threading.Thread(target=send, args=("PATCH", b"x" * 4096)),
               threading.Thread(target=send, args=("DELETE", None))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out["PATCH"], out["DELETE"]


def test_a_cancel_racing_a_write_leaves_no_half_session(api: Client, store_root: Path) -> None:
    """DELETE and PATCH of one session at once: one of them wins cleanly (no 5xx), and
    no session directory is left without ``startedat`` (one the purge would never see)."""
    statuses = [_race(api, api.start_upload("rc/app")) for _ in range(40)]
    assert all(patch < 500 and delete < 500 for patch, delete in statuses), statuses
    uploads = store_root / "docker/registry/v2/repositories/rc/app/_uploads"
    for session in uploads.iterdir() if uploads.exists() else []:
        assert session.name.startswith(".deleted-") or (session / "startedat").exists()
