"""Malformed names, tags, digests and upload ids: the right error, and no storage
access at all (the whole temporary directory, store and its parent, is unchanged)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.registry.server.registry_harness import Client, digest_of, tree

GOOD = digest_of(b"x")
UUID = "00000000-0000-4000-8000-000000000000"

CASES: list[tuple[str, str, int, str | None]] = [
    ("GET", "/v2/UPPER/manifests/latest", 400, "NAME_INVALID"),
    ("GET", "/v2/a//b/manifests/latest", 400, "NAME_INVALID"),
    ("GET", "/v2/-a/manifests/latest", 400, "NAME_INVALID"),
    ("GET", "/v2/a/%2e%2e/b/manifests/latest", 400, "NAME_INVALID"),
    ("PUT", "/v2/a/%2E%2E/%2E%2E/x/manifests/latest", 400, "NAME_INVALID"),
    ("GET", f"/v2/{'a' * 256}/manifests/latest", 400, "NAME_INVALID"),
    ("POST", "/v2/a/..%2F..%2Fescape/blobs/uploads/", 400, "NAME_INVALID"),
    ("GET", "/v2/a/blobs/sha256:..", 400, "DIGEST_INVALID"),
    ("GET", "/v2/a/blobs/sha256:..%2F..%2Fetc", 400, "DIGEST_INVALID"),
    ("GET", "/v2/a/blobs/sha256:abc", 400, "DIGEST_INVALID"),
    ("GET", f"/v2/a/blobs/md5:{'0' * 32}", 400, "DIGEST_INVALID"),
    ("HEAD", f"/v2/a/blobs/sha256:{'A' * 64}", 400, None),
    ("DELETE", "/v2/a/blobs/sha256:..", 400, "DIGEST_INVALID"),
    ("GET", "/v2/a/manifests/sha256:..", 400, "DIGEST_INVALID"),
    ("GET", "/v2/a/manifests/..", 400, "MANIFEST_INVALID"),
    ("PUT", "/v2/a/manifests/..", 400, "MANIFEST_INVALID"),
    ("PUT", "/v2/a/manifests/.hidden", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/a/manifests/{'t' * 129}", 400, "MANIFEST_INVALID"),
    ("PUT", f"/v2/a/manifests/{GOOD}?tag=..", 400, "MANIFEST_INVALID"),
    ("DELETE", "/v2/a/manifests/..", 400, "MANIFEST_INVALID"),
    ("POST", "/v2/a/blobs/uploads/?digest=sha256:../..", 400, "DIGEST_INVALID"),
    ("POST", "/v2/a/blobs/uploads/?mount=sha256:../..&from=b", 400, "DIGEST_INVALID"),
    ("PATCH", "/v2/a/blobs/uploads/..%2F..%2Fx", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("PATCH", "/v2/a/blobs/uploads/not-a-uuid", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("PUT", f"/v2/a/blobs/uploads/{UUID}?digest={GOOD}", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("PUT", f"/v2/a/blobs/uploads/{UUID}?digest=sha256:..", 400, "DIGEST_INVALID"),
    ("GET", f"/v2/a/blobs/uploads/{UUID}", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("DELETE", f"/v2/a/blobs/uploads/{UUID}", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("GET", "/v2/a/referrers/sha256:..", 400, "DIGEST_INVALID"),
    ("GET", "/v2/../../etc/tags/list", 400, "NAME_INVALID"),
    ("GET", "/v2/a/tags/list?n=-4", 400, None),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), CASES)
def test_malformed_request_touches_nothing(
    api: Client, store_root: Path, method: str, path: str, status: int, code: str | None
) -> None:
    api.push_image("a", "latest")
    api.start_upload("b")  # a real session the bad ids must not reach
    before = tree(store_root.parent)
    body = b'{"schemaVersion":2}' if method in ("PUT", "POST", "PATCH") else None
    reply = api.request(method, path, body)
    assert reply.status == status, reply.body
    if code is not None:
        assert reply.error_codes == [code]
    assert tree(store_root.parent) == before


def test_mount_from_bad_name_is_a_plain_session(api: Client, store_root: Path) -> None:
    outside = (
        tree(store_root.parent / "outside") if (store_root.parent / "outside").exists() else {}
    )
    reply = api.request("POST", f"/v2/a/blobs/uploads/?mount={GOOD}&from=../../outside")
    assert reply.status == 202
    assert outside == {}
    assert not (store_root.parent / "outside").exists()
