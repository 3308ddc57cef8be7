from __future__ import annotations

import json

import pytest

from dockyard.errors import InvalidDocument, UnsupportedMediaType
from dockyard.image import mediatypes as mt
from dockyard.image.config import decode_config
from dockyard.image.manifest import decode_manifest

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def manifest(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": {"mediaType": mt.DOCKER_CONFIG, "digest": D1, "size": 10},
        "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D2, "size": 20}],
    }
    doc.update(overrides)
    return doc


def test_docker_manifest_keeps_its_exact_bytes() -> None:
    raw = b'{ "schemaVersion":2,\n' + json.dumps(manifest())[1:].encode()
    document = decode_manifest(raw)
    assert document.raw == raw
    assert document.media_type == mt.DOCKER_MANIFEST
    assert [d.digest for d in document.references()] == [D1, D2]


def test_oci_manifest_without_media_type_is_detected() -> None:
    doc = manifest()
    del doc["mediaType"]
    assert decode_manifest(json.dumps(doc).encode()).media_type == mt.OCI_MANIFEST


def test_index_is_recognised() -> None:
    raw = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_INDEX,
        "manifests": [{"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 5,
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }).encode()
    document = decode_manifest(raw)
    assert document.is_index
    platform = document.index.manifests[0].platform
    assert platform is not None and platform.matches("linux", "amd64")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "malformed manifest"),
        (b"[]", "malformed manifest"),
        (json.dumps(manifest(schemaVersion=1)).encode(), "schemaVersion"),
        (json.dumps(manifest(config={"mediaType": "x", "digest": "sha256:../..", "size": 1}))
         .encode(), "malformed manifest"),
        (json.dumps(manifest(layers=[{"mediaType": "x", "digest": D1, "size": -1}])).encode(),
         "malformed manifest"),
        (json.dumps(manifest(mediaType="application/x-unknown")).encode(), "unsupported"),
        (json.dumps({"schemaVersion": 2}).encode(), "cannot tell"),
    ],
)
def test_malformed_manifests_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidDocument, match=message):
        decode_manifest(raw)


def test_schema1_is_refused_clearly() -> None:
    raw = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(UnsupportedMediaType, match="schema 1"):
        decode_manifest(raw)


def test_content_type_must_agree_with_media_type() -> None:
    with pytest.raises(InvalidDocument, match="does not match"):
        decode_manifest(json.dumps(manifest()).encode(), mt.OCI_MANIFEST)


def config(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [D1]},
        "history": [{"created_by": "x"}, {"created_by": "env", "empty_layer": True}],
        "config": {"Env": ["A=b"], "Cmd": ["sh"]},
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_config_decodes_fields() -> None:
    decoded = decode_config(config())
    assert [str(d) for d in decoded.parsed.diff_ids()] == [D1]
    assert decoded.parsed.config is not None and decoded.parsed.config.cmd == ["sh"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (config(rootfs={"type": "layers", "diff_ids": ["sha256:zz"]}), "invalid"),
        (config(rootfs={"type": "other", "diff_ids": []}), "rootfs type"),
        (config(history=[]), "history has 0 non-empty entries"),
        (config(config={"Cmd": "not a list"}), "malformed image config"),
        (b"{", "malformed image config"),
    ],
)
def test_malformed_configs_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidDocument, match=message):
        decode_config(raw)
