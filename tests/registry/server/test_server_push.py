"""Distribution spec conformance: the push workflow (blobs and manifests)."""

from __future__ import annotations

import http.client
import json

import pytest
from tests.registry.server.conftest import ServerFactory
from tests.registry.server.registry_harness import Client, digest_of, image_manifest, path_of

from dockyard.image import mediatypes as mt
from dockyard.registry.server.authz import Scope, denied


def test_monolithic_post(api: Client) -> None:
    data = b"monolithic"
    reply = api.request("POST", f"/v2/push/a/blobs/uploads/?digest={digest_of(data)}", data)
    assert reply.status == 201
    assert path_of(reply.headers["Location"]) == f"/v2/push/a/blobs/{digest_of(data)}"
    assert reply.headers["Docker-Content-Digest"] == digest_of(data)
    assert api.get(f"/v2/push/a/blobs/{digest_of(data)}").body == data


def test_post_then_put(api: Client) -> None:
    reply = api.request("POST", "/v2/push/a/blobs/uploads/")
    assert reply.status == 202
    assert reply.headers["Range"] == "0-0"
    upload_id = reply.headers["Docker-Upload-UUID"]
    location = path_of(reply.headers["Location"])
    assert location == f"/v2/push/a/blobs/uploads/{upload_id}"
    data = b"post then put"
    reply = api.request("PUT", f"{location}?digest={digest_of(data)}", data)
    assert reply.status == 201
    assert path_of(reply.headers["Location"]) == f"/v2/push/a/blobs/{digest_of(data)}"
    assert api.get(location).status == 404  # the session is gone


def test_chunked_upload_with_status_and_out_of_order(api: Client) -> None:
    data = bytes(range(256)) * 40
    location = api.start_upload("push/a")
    reply = api.request("PATCH", location, data[:4000], {"Content-Range": "0-3999"})
    assert reply.status == 202
    assert reply.headers["Range"] == "0-3999"
    location = path_of(reply.headers["Location"])
    status = api.get(location)
    assert status.status == 204
    assert status.headers["Range"] == "0-3999"
    assert status.headers["Docker-Upload-UUID"]
    # A chunk that skips ahead (or repeats) is refused with the current range.
    reply = api.request("PATCH", location, data[5000:6000], {"Content-Range": "5000-5999"})
    assert reply.status == 416
    assert reply.headers["Range"] == "0-3999"
    reply = api.request("PATCH", location, data[:10], {"Content-Range": "0-9"})
    assert reply.status == 416
    reply = api.request("PATCH", location, data[4000:8000], {"Content-Range": "4000-7999"})
    assert (reply.status, reply.headers["Range"]) == (202, "0-7999")
    # The last chunk travels with the closing PUT.
    reply = api.request(
        "PUT",
        f"{location}?digest={digest_of(data)}",
        data[8000:],
        {"Content-Range": f"8000-{len(data) - 1}"},
    )
    assert reply.status == 201, reply.body
    assert api.get(f"/v2/push/a/blobs/{digest_of(data)}").body == data


def test_content_range_length_mismatch(api: Client) -> None:
    location = api.start_upload("push/a")
    reply = api.request("PATCH", location, b"12345", {"Content-Range": "0-9"})
    assert (reply.status, reply.error_codes) == (400, ["SIZE_INVALID"])
    reply = api.request("PATCH", location, b"12345", {"Content-Range": "junk"})
    assert (reply.status, reply.error_codes) == (400, ["BLOB_UPLOAD_INVALID"])
    assert api.get(location).headers["Range"] == "0-0"


def test_streamed_patch_without_content_range(api: Client) -> None:
    """What docker sends: one PATCH, chunked transfer encoding, no Content-Range."""
    data = bytes(range(256)) * 20000  # ~5 MB in many pieces
    location = api.start_upload("push/stream")
    conn = http.client.HTTPConnection(api.host, api.port, timeout=30)
    conn.putrequest("PATCH", location)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.endheaders()
    for start in range(0, len(data), 65536):
        piece = data[start : start + 65536]
        conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    conn.send(b"0\r\n\r\n")
    response = conn.getresponse()
    response.read()
    assert response.status == 202
    assert response.headers["Range"] == f"0-{len(data) - 1}"
    conn.close()
    reply = api.request("PUT", f"{path_of(response.headers['Location'])}?digest={digest_of(data)}")
    assert reply.status == 201, reply.body
    assert api.get(f"/v2/push/stream/blobs/{digest_of(data)}").body == data


def test_digest_mismatch_keeps_nothing(api: Client, store_root: object) -> None:
    location = api.start_upload("push/a")
    wrong = digest_of(b"something else")
    reply = api.request("PUT", f"{location}?digest={wrong}", b"actual content")
    assert (reply.status, reply.error_codes) == (400, ["DIGEST_INVALID"])
    assert api.head(f"/v2/push/a/blobs/{wrong}").status == 404
    assert api.head(f"/v2/push/a/blobs/{digest_of(b'actual content')}").status == 404
    assert api.get(location).status == 404
    reply = api.request("PUT", f"{api.start_upload('push/a')}", b"x")
    assert (reply.status, reply.error_codes) == (400, ["DIGEST_INVALID"])


def test_cancel_upload(api: Client) -> None:
    location = api.start_upload("push/a")
    reply = api.request("DELETE", location)
    assert reply.status == 204
    reply = api.get(location)
    assert (reply.status, reply.error_codes) == (404, ["BLOB_UPLOAD_UNKNOWN"])
    assert api.request("PATCH", location, b"x").status == 404
    assert api.request("DELETE", location).status == 404


def test_cross_repository_mount(api: Client) -> None:
    digest = api.push_blob("push/source", b"shared layer")
    reply = api.request("POST", f"/v2/push/target/blobs/uploads/?mount={digest}&from=push/source")
    assert reply.status == 201
    assert path_of(reply.headers["Location"]) == f"/v2/push/target/blobs/{digest}"
    assert reply.headers["Docker-Content-Digest"] == digest
    assert api.get(f"/v2/push/target/blobs/{digest}").body == b"shared layer"
    missing = digest_of(b"missing")
    reply = api.request("POST", f"/v2/push/target/blobs/uploads/?mount={missing}&from=push/source")
    assert reply.status == 202
    assert "/blobs/uploads/" in reply.headers["Location"]
    reply = api.request("POST", f"/v2/push/other/blobs/uploads/?mount={digest}&from=push/nope")
    assert reply.status == 202


class _PullOnlyOn:
    """Allows everything except pulling from one repository."""

    def __init__(self, forbidden: str) -> None:
        self.forbidden = forbidden
        self.seen: list[list[Scope]] = []

    async def authorize(self, request: object, scopes: list[Scope]) -> None:
        self.seen.append(scopes)
        if any(scope.name == self.forbidden for scope in scopes):
            raise denied(scopes)


def test_mount_from_unreadable_repository_starts_a_session(make_server: ServerFactory) -> None:
    authorizer = _PullOnlyOn("push/secret")
    open_api = make_server().client
    digest = open_api.push_blob("push/secret", b"secret layer")
    api = make_server(authorizer=authorizer).client
    reply = api.request("POST", f"/v2/push/mine/blobs/uploads/?mount={digest}&from=push/secret")
    assert reply.status == 202
    assert api.head(f"/v2/push/mine/blobs/{digest}").status == 404
    assert [Scope("repository", "push/mine", ("pull", "push"))] in authorizer.seen
    assert [Scope("repository", "push/secret", ("pull",))] in authorizer.seen
    reply = api.get(f"/v2/push/secret/blobs/{digest}")
    assert (reply.status, reply.error_codes) == (403, ["DENIED"])


def test_location_keeps_client_host_and_forwarded_headers(api: Client) -> None:
    reply = api.request("POST", "/v2/push/a/blobs/uploads/", headers={"Host": "reg.example:8443"})
    assert reply.headers["Location"].startswith("http://reg.example:8443/v2/push/a/blobs/uploads/")
    reply = api.request(
        "POST",
        "/v2/push/a/blobs/uploads/",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "front.example"},
    )
    assert reply.headers["Location"].startswith("https://front.example/v2/push/a/")


def test_relative_urls(make_server: ServerFactory) -> None:
    api = make_server(relative_urls=True).client
    reply = api.request("POST", "/v2/push/a/blobs/uploads/")
    assert reply.headers["Location"].startswith("/v2/push/a/blobs/uploads/")


def _blobs(api: Client, repo: str) -> tuple[str, int, str, int]:
    config, layer = b'{"os":"linux","architecture":"arm64"}', b"layer bytes"
    return api.push_blob(repo, config), len(config), api.push_blob(repo, layer), len(layer)


def test_manifest_put_by_tag_and_digest(api: Client) -> None:
    raw = image_manifest(*_blobs(api, "push/m"))
    digest = digest_of(raw)
    reply = api.push_manifest("push/m", "latest", raw)
    assert reply.status == 201
    assert reply.headers["Docker-Content-Digest"] == digest
    assert path_of(reply.headers["Location"]) == f"/v2/push/m/manifests/{digest}"
    assert "OCI-Subject" not in reply.headers
    assert api.push_manifest("push/m", digest, raw).status == 201
    reply = api.push_manifest("push/m", digest_of(b"other"), raw)
    assert (reply.status, reply.error_codes) == (400, ["DIGEST_INVALID"])


def test_manifest_put_with_extra_tags(api: Client) -> None:
    raw = image_manifest(*_blobs(api, "push/m"))
    reply = api.push_manifest("push/m", f"{digest_of(raw)}?tag=1.0&tag=1", raw)
    assert reply.status == 201
    assert reply.headers["OCI-Tag"] == "1.0, 1"
    assert api.get("/v2/push/m/tags/list").json()["tags"] == ["1", "1.0"]


def test_docker_schema2_manifest_and_list(api: Client) -> None:
    config_digest, config_size, layer_digest, layer_size = _blobs(api, "push/d")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [
                {"mediaType": mt.DOCKER_LAYER_GZIP, "digest": layer_digest, "size": layer_size}
            ],
        }
    ).encode()
    assert api.push_manifest("push/d", "amd64", manifest, mt.DOCKER_MANIFEST).status == 201
    listing = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST_LIST,
            "manifests": [
                {
                    "mediaType": mt.DOCKER_MANIFEST,
                    "digest": digest_of(manifest),
                    "size": len(manifest),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    ).encode()
    assert api.push_manifest("push/d", "latest", listing, mt.DOCKER_MANIFEST_LIST).status == 201
    reply = api.get("/v2/push/d/manifests/latest")
    assert reply.headers["Content-Type"] == mt.DOCKER_MANIFEST_LIST and reply.body == listing
    reply = api.get("/v2/push/d/manifests/amd64")
    assert reply.headers["Content-Type"] == mt.DOCKER_MANIFEST and reply.body == manifest


def test_manifest_with_missing_blobs(api: Client) -> None:
    config_digest, config_size, _, _ = _blobs(api, "push/m")
    missing = digest_of(b"never pushed")
    raw = image_manifest(config_digest, config_size, missing, 12)
    reply = api.push_manifest("push/m", "latest", raw)
    assert (reply.status, reply.error_codes) == (400, ["MANIFEST_BLOB_UNKNOWN"])
    assert reply.json()["errors"][0]["detail"] == [missing]
    assert api.get("/v2/push/m/manifests/latest").status == 404


def test_index_with_missing_child(api: Client) -> None:
    api.push_image("push/i", "x")
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [{"mediaType": mt.OCI_MANIFEST, "digest": digest_of(b"no"), "size": 2}],
        }
    ).encode()
    reply = api.push_manifest("push/i", "latest", index, mt.OCI_INDEX)
    assert (reply.status, reply.error_codes) == (400, ["MANIFEST_BLOB_UNKNOWN"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", mt.OCI_MANIFEST),
        (b'{"schemaVersion": 2}', mt.OCI_MANIFEST),
        (b'{"schemaVersion":1,"fsLayers":[]}', mt.DOCKER_SCHEMA1),
        (
            json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}).encode(),
            mt.OCI_MANIFEST,
        ),
    ],
)
def test_invalid_manifests(api: Client, body: bytes, content_type: str) -> None:
    reply = api.push_manifest("push/bad", "latest", body, content_type)
    assert (reply.status, reply.error_codes) == (400, ["MANIFEST_INVALID"])


def test_manifest_size_limit(make_server: ServerFactory) -> None:
    api = make_server(max_manifest_bytes=4 * 1024 * 1024).client
    config_digest, config_size, layer_digest, layer_size = _blobs(api, "push/big")
    padding = {"annotations": {"pad": "x" * (4 * 1024 * 1024 - 2000)}}
    raw = image_manifest(config_digest, config_size, layer_digest, layer_size, padding)
    assert len(raw) < 4 * 1024 * 1024
    assert api.push_manifest("push/big", "ok", raw).status == 201
    assert api.get("/v2/push/big/manifests/ok").body == raw
    padding = {"annotations": {"pad": "x" * (4 * 1024 * 1024 + 10)}}
    raw = image_manifest(config_digest, config_size, layer_digest, layer_size, padding)
    reply = api.push_manifest("push/big", "huge", raw)
    assert (reply.status, reply.error_codes) == (413, ["MANIFEST_INVALID"])
    assert api.get("/v2/push/big/manifests/huge").status == 404
