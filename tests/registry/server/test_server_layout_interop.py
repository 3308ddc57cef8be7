"""The storage directory is shared with CNCF distribution (Debian's docker-registry
2.8): what one writes, the other serves."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.registry.server.conftest import ServerFactory
from tests.registry.server.registry_harness import Client, digest_of, free_port, wait_healthy

from dockyard.image import mediatypes as mt

DISTRIBUTION = Path("/usr/bin/docker-registry")
ACCEPT = {"Accept": f"{mt.OCI_MANIFEST}, {mt.OCI_INDEX}, {mt.DOCKER_MANIFEST}"}

pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(not DISTRIBUTION.exists(), reason="/usr/bin/docker-registry is missing"),
]


@pytest.fixture
def distribution(store_root: Path, tmp_path: Path) -> Iterator[Client]:
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {store_root}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        [str(DISTRIBUTION), "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Client("127.0.0.1", port)
    try:
        wait_healthy(client, process)
        yield client
    finally:
        process.terminate()
        process.wait(10)


def _push_with_post_put(client: Client, repo: str, data: bytes) -> str:
    """distribution 2.8 has no single-POST upload: POST a session, then PUT."""
    location = client.start_upload(repo)
    separator = "&" if "?" in location else "?"
    reply = client.request("PUT", f"{location}{separator}digest={digest_of(data)}", data)
    assert reply.status == 201, reply.body
    return digest_of(data)


def test_dockyard_writes_distribution_serves(
    make_server: ServerFactory, distribution: Client
) -> None:
    api = make_server(delete_enabled=True).client
    digest, raw = api.push_image("interop/app", "v1")
    layer = json.loads(raw)["layers"][0]["digest"]
    reply = distribution.get("/v2/interop/app/manifests/v1", ACCEPT)
    assert reply.status == 200, reply.body
    assert reply.body == raw
    assert reply.headers["Docker-Content-Digest"] == digest
    assert distribution.get(f"/v2/interop/app/manifests/{digest}", ACCEPT).body == raw
    assert (
        distribution.get(f"/v2/interop/app/blobs/{layer}").body
        == api.get(f"/v2/interop/app/blobs/{layer}").body
    )
    assert distribution.get("/v2/interop/app/tags/list").json()["tags"] == ["v1"]
    assert distribution.get("/v2/_catalog").json()["repositories"] == ["interop/app"]
    # Deleting through distribution is seen by dockyard.
    reply = distribution.request("DELETE", f"/v2/interop/app/manifests/{digest}")
    assert reply.status == 202
    assert api.get("/v2/interop/app/manifests/v1").status == 404


def test_distribution_writes_dockyard_serves(
    make_server: ServerFactory, distribution: Client
) -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"a layer pushed to distribution"
    config_digest = _push_with_post_put(distribution, "interop/other", config)
    layer_digest = _push_with_post_put(distribution, "interop/other", layer)
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [
                {"mediaType": mt.DOCKER_LAYER_GZIP, "digest": layer_digest, "size": len(layer)}
            ],
        }
    ).encode()
    reply = distribution.push_manifest("interop/other", "latest", raw, mt.DOCKER_MANIFEST)
    assert reply.status == 201, reply.body
    api = make_server().client
    reply = api.get("/v2/interop/other/manifests/latest")
    assert reply.status == 200
    assert reply.body == raw
    assert reply.headers["Content-Type"] == mt.DOCKER_MANIFEST
    assert reply.headers["Docker-Content-Digest"] == digest_of(raw)
    assert api.get(f"/v2/interop/other/blobs/{layer_digest}").body == layer
    assert api.get("/v2/interop/other/tags/list").json()["tags"] == ["latest"]
    assert api.get("/v2/_catalog").json()["repositories"] == ["interop/other"]


def test_upload_started_on_distribution_finishes_on_dockyard(
    make_server: ServerFactory, distribution: Client
) -> None:
    data = b"0123456789" * 1000
    location = distribution.start_upload("interop/resume")
    reply = distribution.request("PATCH", location, data[:4000])
    assert reply.status == 202, reply.body
    api = make_server().client
    path = location.split("?")[0]
    assert api.get(path).headers["Range"] == "0-3999"
    reply = api.request("PATCH", path, data[4000:], {"Content-Range": f"4000-{len(data) - 1}"})
    assert reply.status == 202
    assert api.request("PUT", f"{path}?digest={digest_of(data)}").status == 201
    assert distribution.get(f"/v2/interop/resume/blobs/{digest_of(data)}").body == data
