"""Distribution spec conformance: content management, read-only mode, ops endpoints."""

from __future__ import annotations

from tests.registry.server.conftest import ServerFactory
from tests.registry.server.registry_harness import Client, digest_of


def test_delete_tag(api: Client) -> None:
    digest, raw = api.push_image("mgmt/a", "v1")
    api.push_manifest("mgmt/a", "v2", raw)
    reply = api.request("DELETE", "/v2/mgmt/a/manifests/v1")
    assert reply.status == 202
    assert api.get("/v2/mgmt/a/manifests/v1").status == 404
    assert api.get("/v2/mgmt/a/manifests/v2").status == 200
    assert api.get(f"/v2/mgmt/a/manifests/{digest}").status == 200
    assert api.get("/v2/mgmt/a/tags/list").json()["tags"] == ["v2"]
    reply = api.request("DELETE", "/v2/mgmt/a/manifests/v1")
    assert (reply.status, reply.error_codes) == (404, ["MANIFEST_UNKNOWN"])


def test_delete_manifest_untags_it(api: Client) -> None:
    digest, raw = api.push_image("mgmt/a", "v1")
    api.push_manifest("mgmt/a", "v2", raw)
    other, _ = api.push_image("mgmt/a", "v3")
    reply = api.request("DELETE", f"/v2/mgmt/a/manifests/{digest}")
    assert reply.status == 202
    for reference in ("v1", "v2", digest):
        assert api.get(f"/v2/mgmt/a/manifests/{reference}").status == 404
    assert api.get("/v2/mgmt/a/tags/list").json()["tags"] == ["v3"]
    reply = api.request("DELETE", f"/v2/mgmt/a/manifests/{digest}")
    assert (reply.status, reply.error_codes) == (404, ["MANIFEST_UNKNOWN"])
    reply = api.request("DELETE", f"/v2/mgmt/none/manifests/{other}")
    assert reply.status == 404


def test_delete_blob(api: Client) -> None:
    digest = api.push_blob("mgmt/b", b"blob to delete")
    api.push_blob("mgmt/c", b"blob to delete")
    reply = api.request("DELETE", f"/v2/mgmt/b/blobs/{digest}")
    assert reply.status == 202
    assert api.head(f"/v2/mgmt/b/blobs/{digest}").status == 404
    assert api.head(f"/v2/mgmt/c/blobs/{digest}").status == 200  # only unlinked from mgmt/b
    reply = api.request("DELETE", f"/v2/mgmt/b/blobs/{digest}")
    assert (reply.status, reply.error_codes) == (404, ["BLOB_UNKNOWN"])


def test_deletes_disabled(make_server: ServerFactory) -> None:
    api = make_server(delete_enabled=False).client
    digest, _ = api.push_image("mgmt/a", "v1")
    blob = api.push_blob("mgmt/a", b"b")
    for path in ("manifests/v1", f"manifests/{digest}", f"blobs/{blob}"):
        reply = api.request("DELETE", f"/v2/mgmt/a/{path}")
        assert (reply.status, reply.error_codes) == (405, ["UNSUPPORTED"])
    assert api.get("/v2/mgmt/a/manifests/v1").status == 200
    assert api.head(f"/v2/mgmt/a/blobs/{blob}").status == 200


def test_readonly(make_server: ServerFactory) -> None:
    digest, raw = make_server().client.push_image("mgmt/a", "v1")
    api = make_server(readonly=True, delete_enabled=True).client
    assert api.get("/v2/mgmt/a/manifests/v1").body == raw
    writes = [
        ("POST", "/v2/mgmt/a/blobs/uploads/"),
        ("POST", f"/v2/mgmt/a/blobs/uploads/?digest={digest_of(b'x')}"),
        ("PUT", "/v2/mgmt/a/manifests/v2"),
        ("DELETE", "/v2/mgmt/a/manifests/v1"),
        ("DELETE", f"/v2/mgmt/a/blobs/{digest}"),
        ("PATCH", "/v2/mgmt/a/blobs/uploads/00000000-0000-4000-8000-000000000000"),
    ]
    for method, path in writes:
        reply = api.request(method, path, b"x" if method != "DELETE" else None)
        assert (reply.status, reply.error_codes) == (405, ["UNSUPPORTED"]), (method, path)


def test_wrong_method(api: Client) -> None:
    reply = api.request("POST", "/v2/mgmt/a/manifests/latest")
    assert (reply.status, reply.error_codes) == (405, ["UNSUPPORTED"])
    assert api.request("DELETE", "/v2/").status == 405
    assert api.get("/v2/mgmt/a/unknown/thing").status == 404


def test_health_and_metrics(api: Client) -> None:
    assert api.get("/debug/health").json() == {}
    data = b"counted bytes"
    digest = api.push_blob("mgmt/m", data)
    api.get(f"/v2/mgmt/m/blobs/{digest}")
    api.get("/v2/mgmt/m/manifests/missing")
    reply = api.get("/metrics")
    assert reply.status == 200
    text = reply.body.decode()
    assert 'dockyard_registry_http_requests_total{method="GET",status="200"' in text
    assert 'dockyard_registry_http_requests_total{method="GET",status="404"' in text
    assert 'dockyard_registry_http_requests_total{method="POST",status="201"' in text
    sent = [line for line in text.splitlines() if line.startswith("dockyard_registry_bytes_sent")]
    assert int(sent[0].split()[-1]) >= len(data)
