"""Distribution spec conformance: content discovery (tags, catalog, referrers)."""

from __future__ import annotations

import json

from tests.registry.server.registry_harness import Client, digest_of

from dockyard.image import mediatypes as mt


def _tag_all(api: Client, repo: str, tags: list[str]) -> None:
    _, raw = api.push_image(repo)
    for tag in tags:
        assert api.push_manifest(repo, tag, raw).status == 201


def test_tags_list_sorted(api: Client) -> None:
    _tag_all(api, "disc/t", ["b", "a", "C", "a1", "0"])
    reply = api.get("/v2/disc/t/tags/list")
    assert reply.status == 200
    assert reply.json() == {"name": "disc/t", "tags": ["0", "C", "a", "a1", "b"]}
    assert "Link" not in reply.headers


def test_tags_pagination(api: Client) -> None:
    _tag_all(api, "disc/t", ["t1", "t2", "t3", "t4", "t5"])
    reply = api.get("/v2/disc/t/tags/list?n=2")
    assert reply.json()["tags"] == ["t1", "t2"]
    assert reply.headers["Link"] == '</v2/disc/t/tags/list?n=2&last=t2>; rel="next"'
    reply = api.get("/v2/disc/t/tags/list?n=2&last=t2")
    assert reply.json()["tags"] == ["t3", "t4"]
    reply = api.get("/v2/disc/t/tags/list?n=2&last=t4")
    assert reply.json()["tags"] == ["t5"]
    assert "Link" not in reply.headers
    reply = api.get("/v2/disc/t/tags/list?last=t3")
    assert reply.json()["tags"] == ["t4", "t5"]
    reply = api.get("/v2/disc/t/tags/list?n=0")
    assert reply.json()["tags"] == [] and "Link" not in reply.headers
    reply = api.get("/v2/disc/t/tags/list?n=5")
    assert len(reply.json()["tags"]) == 5 and "Link" not in reply.headers
    assert api.get("/v2/disc/t/tags/list?n=-1").status == 400
    assert api.get("/v2/disc/t/tags/list?n=x").status == 400


def test_tags_of_unknown_repository(api: Client) -> None:
    reply = api.get("/v2/disc/none/tags/list")
    assert (reply.status, reply.error_codes) == (404, ["NAME_UNKNOWN"])
    api.push_blob("disc/blobonly", b"x")
    assert api.get("/v2/disc/blobonly/tags/list").json() == {"name": "disc/blobonly", "tags": []}


def test_catalog_pagination(api: Client) -> None:
    for repo in ["zeta", "alpha/one", "alpha/two", "alpha", "mid-dle"]:
        api.push_image(repo, "latest")
    reply = api.get("/v2/_catalog")
    assert reply.json() == {"repositories": ["alpha", "alpha/one", "alpha/two", "mid-dle", "zeta"]}
    reply = api.get("/v2/_catalog?n=2")
    assert reply.json()["repositories"] == ["alpha", "alpha/one"]
    assert reply.headers["Link"] == '</v2/_catalog?n=2&last=alpha%2Fone>; rel="next"'
    reply = api.get("/v2/_catalog?n=2&last=alpha/one")
    assert reply.json()["repositories"] == ["alpha/two", "mid-dle"]
    reply = api.get("/v2/_catalog?n=2&last=mid-dle")
    assert reply.json()["repositories"] == ["zeta"] and "Link" not in reply.headers
    reply = api.get("/v2/_catalog?n=0")
    assert reply.json()["repositories"] == [] and "Link" not in reply.headers


def _artifact(api: Client, repo: str, subject: str, subject_size: int, kind: str) -> bytes:
    empty = api.push_blob(repo, b"{}")
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "artifactType": kind,
            "config": {"mediaType": mt.OCI_EMPTY, "digest": empty, "size": 2},
            "layers": [{"mediaType": mt.OCI_EMPTY, "digest": empty, "size": 2}],
            "subject": {"mediaType": mt.OCI_MANIFEST, "digest": subject, "size": subject_size},
            "annotations": {"org.example.kind": kind},
        }
    ).encode()


def test_referrers(api: Client) -> None:
    subject, subject_raw = api.push_image("disc/r", "v1")
    sbom = _artifact(api, "disc/r", subject, len(subject_raw), "application/vnd.example.sbom")
    sig = _artifact(api, "disc/r", subject, len(subject_raw), "application/vnd.example.sig")
    for raw in (sbom, sig):
        reply = api.push_manifest("disc/r", digest_of(raw), raw)
        assert reply.status == 201
        assert reply.headers["OCI-Subject"] == subject
    reply = api.get(f"/v2/disc/r/referrers/{subject}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == mt.OCI_INDEX
    assert "OCI-Filters-Applied" not in reply.headers
    index = reply.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == mt.OCI_INDEX
    by_type = {entry["artifactType"]: entry for entry in index["manifests"]}
    assert set(by_type) == {"application/vnd.example.sbom", "application/vnd.example.sig"}
    entry = by_type["application/vnd.example.sbom"]
    assert entry == {
        "mediaType": mt.OCI_MANIFEST,
        "digest": digest_of(sbom),
        "size": len(sbom),
        "artifactType": "application/vnd.example.sbom",
        "annotations": {"org.example.kind": "application/vnd.example.sbom"},
    }
    reply = api.get(f"/v2/disc/r/referrers/{subject}?artifactType=application/vnd.example.sig")
    assert reply.headers["OCI-Filters-Applied"] == "artifactType"
    assert [e["digest"] for e in reply.json()["manifests"]] == [digest_of(sig)]
    # Deleting a referrer removes it from the list.
    assert api.request("DELETE", f"/v2/disc/r/manifests/{digest_of(sig)}").status == 202
    reply = api.get(f"/v2/disc/r/referrers/{subject}")
    assert [e["digest"] for e in reply.json()["manifests"]] == [digest_of(sbom)]


def test_referrer_before_subject_and_config_media_type(api: Client) -> None:
    subject = digest_of(b"not pushed yet")
    config = api.push_blob("disc/r2", b'{"kind":"x"}')
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.example.config", "digest": config, "size": 12},
            "layers": [],
            "subject": {"mediaType": mt.OCI_MANIFEST, "digest": subject, "size": 14},
        }
    ).encode()
    reply = api.push_manifest("disc/r2", digest_of(raw), raw)
    assert reply.status == 201 and reply.headers["OCI-Subject"] == subject
    entries = api.get(f"/v2/disc/r2/referrers/{subject}").json()["manifests"]
    assert [e["artifactType"] for e in entries] == ["application/vnd.example.config"]


def test_referrers_unknown_subject_and_bad_digest(api: Client) -> None:
    reply = api.get(f"/v2/disc/none/referrers/{digest_of(b'nothing')}")
    assert reply.status == 200
    assert reply.json() == {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
    reply = api.get("/v2/disc/none/referrers/sha256:nothex")
    assert (reply.status, reply.error_codes) == (400, ["DIGEST_INVALID"])
