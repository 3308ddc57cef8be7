"""Distribution spec conformance: the pull workflow."""

from __future__ import annotations

from tests.registry.server.registry_harness import Client, digest_of

from dockyard.image import mediatypes as mt


def test_base_endpoint(api: Client) -> None:
    reply = api.get("/v2/")
    assert reply.status == 200
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert reply.json() == {}


def test_manifest_by_tag_and_digest_is_byte_exact(api: Client) -> None:
    digest, raw = api.push_image("pull/app", "v1")
    for reference in ("v1", digest):
        reply = api.get(f"/v2/pull/app/manifests/{reference}")
        assert reply.status == 200
        assert reply.body == raw
        assert reply.headers["Content-Type"] == mt.OCI_MANIFEST
        assert reply.headers["Docker-Content-Digest"] == digest
        assert reply.headers["ETag"] == f'"{digest}"'


def test_manifest_head(api: Client) -> None:
    digest, raw = api.push_image("pull/app", "v1")
    reply = api.head("/v2/pull/app/manifests/v1")
    assert reply.status == 200
    assert reply.body == b""
    assert int(reply.headers["Content-Length"]) == len(raw)
    assert reply.headers["Docker-Content-Digest"] == digest


def test_manifest_if_none_match(api: Client) -> None:
    digest, _ = api.push_image("pull/app", "v1")
    reply = api.get("/v2/pull/app/manifests/v1", {"If-None-Match": f'"{digest}"'})
    assert reply.status == 304


def test_unknown_manifest_and_repository(api: Client) -> None:
    api.push_image("pull/app", "v1")
    reply = api.get("/v2/pull/app/manifests/nope")
    assert (reply.status, reply.error_codes) == (404, ["MANIFEST_UNKNOWN"])
    reply = api.get(f"/v2/pull/app/manifests/{digest_of(b'x')}")
    assert (reply.status, reply.error_codes) == (404, ["MANIFEST_UNKNOWN"])
    reply = api.get("/v2/pull/none/manifests/latest")
    assert (reply.status, reply.error_codes) == (404, ["NAME_UNKNOWN"])
    assert api.head("/v2/pull/none/manifests/latest").status == 404


def test_blob_get_and_head(api: Client) -> None:
    data = bytes(range(256)) * 100
    digest = api.push_blob("pull/blob", data)
    reply = api.get(f"/v2/pull/blob/blobs/{digest}")
    assert reply.status == 200
    assert reply.body == data
    assert reply.headers["Docker-Content-Digest"] == digest
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert reply.headers["ETag"] == f'"{digest}"'
    head = api.head(f"/v2/pull/blob/blobs/{digest}")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["Content-Length"]) == len(data)
    assert head.headers["Docker-Content-Digest"] == digest


def test_blob_ranges(api: Client) -> None:
    data = bytes(range(256)) * 4
    digest = api.push_blob("pull/blob", data)
    path = f"/v2/pull/blob/blobs/{digest}"
    reply = api.get(path, {"Range": "bytes=10-19"})
    assert reply.status == 206
    assert reply.body == data[10:20]
    assert reply.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    reply = api.get(path, {"Range": "bytes=1000-"})
    assert (reply.status, reply.body) == (206, data[1000:])
    reply = api.get(path, {"Range": "bytes=-24"})
    assert (reply.status, reply.body) == (206, data[-24:])
    reply = api.get(path, {"Range": "bytes=1000-5000"})
    assert reply.headers["Content-Range"] == f"bytes 1000-1023/{len(data)}"
    reply = api.get(path, {"Range": f"bytes={len(data)}-"})
    assert reply.status == 416
    assert reply.headers["Content-Range"] == f"bytes */{len(data)}"
    assert api.get(path, {"Range": "bytes=-0"}).status == 416
    # Malformed ranges are ignored, as RFC 9110 allows.
    assert api.get(path, {"Range": "bytes=9-3"}).status == 200
    assert api.get(path, {"Range": "lines=1-2"}).status == 200


def test_blob_unknown(api: Client) -> None:
    digest = api.push_blob("pull/blob", b"present")
    reply = api.get(f"/v2/pull/blob/blobs/{digest_of(b'absent')}")
    assert (reply.status, reply.error_codes) == (404, ["BLOB_UNKNOWN"])
    # Present in the registry but not linked into this repository.
    reply = api.get(f"/v2/pull/other/blobs/{digest}")
    assert (reply.status, reply.error_codes) == (404, ["BLOB_UNKNOWN"])
    assert api.head(f"/v2/pull/other/blobs/{digest}").status == 404


def test_large_blob_round_trip(api: Client) -> None:
    data = bytes(range(256)) * (12 * 4096 + 7)  # ~12 MB, several sendfile rounds
    digest = api.push_blob("pull/big", data)
    reply = api.get(f"/v2/pull/big/blobs/{digest}")
    assert reply.body == data
