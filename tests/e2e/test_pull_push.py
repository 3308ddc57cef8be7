"""pull, push, login and logout through the real CLI against real registries on 127.0.0.1:
dockyard's own and CNCF distribution, plain HTTP, htpasswd, TLS, bearer tokens, mirrors."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from tests.conftest import Dockyard
from tests.registry.client.registries import KINDS, htpasswd, make_tls, start, token_auth

pytestmark = pytest.mark.peer


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No daemon.json, certs.d or docker login of the machine leaks into a test."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("DOCKYARD_CONFIG", str(tmp_path / "daemon.json"))
    monkeypatch.setenv("DOCKYARD_CERTS_D", str(tmp_path / "certs.d"))
    return tmp_path / "daemon.json"


def image_id(dockyard: Dockyard, ref: str) -> str:
    return dockyard.run("inspect", "-f", "{{.Id}}", ref).stdout.strip()


@pytest.mark.parametrize("kind", KINDS)
def test_the_seed_flow(kind: str, tmp_path: Path, dockyard: Dockyard, busybox: str) -> None:
    registry = start(kind, tmp_path)
    try:
        ref = f"{registry.addr}/mhk/ubuntu:1.3"
        original = image_id(dockyard, busybox)
        dockyard.run("tag", busybox, ref)
        pushed = dockyard.run("push", ref).stdout
        assert f"The push refers to repository [{registry.addr}/mhk/ubuntu]" in pushed
        assert ": Pushed" in pushed
        digest_line = pushed.strip().splitlines()[-1]
        assert digest_line.startswith("1.3: digest: sha256:") and " size: " in digest_line
        with urllib.request.urlopen(f"http://{registry.addr}/v2/_catalog") as response:
            # Byte for byte what the seed shows `curl` printing (both servers write this).
            assert response.read() == b'{"repositories":["mhk/ubuntu"]}\n'
        again = dockyard.run("push", ref).stdout
        assert "Layer already exists" in again and again.strip().splitlines()[-1] == digest_line
        dockyard.run("rmi", ref, busybox)
        pulled = dockyard.run("pull", ref).stdout
        assert pulled.strip().splitlines()[-1] == ref
        assert f"Digest: {digest_line.split()[2]}" in pulled
        assert image_id(dockyard, ref) == original
    finally:
        registry.server.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_htpasswd_login_push_pull_logout(
    kind: str, tmp_path: Path, dockyard: Dockyard, busybox: str
) -> None:
    users = htpasswd(tmp_path / "htpasswd", "mhk", "s3cret")
    registry = start(kind, tmp_path, f"auth:\n  htpasswd: {{realm: test, path: {users}}}\n")
    try:
        ref = f"{registry.addr}/mhk/app:1"
        dockyard.run("tag", busybox, ref)
        refused = dockyard.fails("push", ref)
        assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
        assert "unauthorized: authentication required" in refused.stderr  # docker's words
        bad = dockyard.fails("login", registry.addr, "-u", "mhk", "-p", "wrong")
        assert bad.returncode == 1
        assert bad.stderr.strip().splitlines()[-1].startswith(
            f'Error response from daemon: Get "http://{registry.addr}/v2/": unauthorized'
        )
        good = dockyard.run("login", registry.addr, "-u", "mhk", "--password-stdin",
                            input=b"s3cret\n")
        assert good.stdout.strip() == "Login Succeeded"
        config = json.loads((tmp_path / "docker-config" / "config.json").read_text())
        assert config["auths"][registry.addr] == {"auth": "bWhrOnMzY3JldA=="}  # mhk:s3cret
        dockyard.run("push", ref)
        dockyard.run("rmi", ref)
        dockyard.run("pull", ref)
        assert dockyard.run("logout", registry.addr).stdout.strip() == (
            f"Removing login credentials for {registry.addr}"
        )
        dockyard.run("rmi", ref)
        denied = dockyard.fails("pull", ref)
        assert denied.returncode == 1 and len(denied.stderr.strip().splitlines()) == 1
    finally:
        registry.server.stop()


def test_bearer_tokens_from_the_built_in_issuer(
    tmp_path: Path, dockyard: Dockyard, busybox: str
) -> None:
    auth, port = token_auth(tmp_path)
    registry = start("dockyard", tmp_path, auth, port=port)
    try:
        ref = f"{registry.addr}/alice/app:1"
        dockyard.run("tag", busybox, ref)
        anonymous = dockyard.fails("push", ref)
        assert anonymous.returncode == 1 and len(anonymous.stderr.strip().splitlines()) == 1
        wrong = dockyard.fails("login", registry.addr, "-u", "alice", "-p", "nope")
        assert "unauthorized" in wrong.stderr
        dockyard.run("login", registry.addr, "-u", "alice", "-p", "a-pw")
        dockyard.run("push", ref)
        # A second repository of alice's: the layer is mounted, not uploaded again.
        dockyard.run("tag", busybox, f"{registry.addr}/alice/copy:1")
        mounted = dockyard.run("push", f"{registry.addr}/alice/copy:1").stdout
        assert "Mounted from alice/app" in mounted
        dockyard.run("rmi", ref)
        dockyard.run("pull", ref)
        dockyard.run("logout", registry.addr)
        denied = dockyard.fails("pull", f"{registry.addr}/alice/other:1")
        assert "pull access denied for" in denied.stderr
    finally:
        registry.server.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_tls_with_a_private_ca(
    kind: str, tmp_path: Path, dockyard: Dockyard, busybox: str, private_config: Path
) -> None:
    ca, cert, key = make_tls(tmp_path / "tls")
    registry = start(kind, tmp_path, tls=(cert, key))
    # Loopback is insecure by default (docker's rule): make it verify like any host.
    private_config.write_text(json.dumps({"loopback-insecure": False}))
    try:
        ref = f"{registry.addr}/tls/app:1"
        dockyard.run("tag", busybox, ref)
        refused = dockyard.fails("push", ref)
        assert "certificate" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
        trust = tmp_path / "certs.d" / registry.addr
        trust.mkdir(parents=True)
        (trust / "ca.crt").write_bytes(ca.read_bytes())
        dockyard.run("push", ref)
        dockyard.run("rmi", ref)
        dockyard.run("pull", ref)
    finally:
        registry.server.stop()


def test_registry_mirror_serves_docker_hub_names(
    tmp_path: Path, dockyard: Dockyard, busybox: str, private_config: Path
) -> None:
    mirror = start("distribution", tmp_path)
    try:
        dockyard.run("tag", busybox, f"{mirror.addr}/library/busybox:latest")
        dockyard.run("push", f"{mirror.addr}/library/busybox:latest")
        dockyard.run("rmi", f"{mirror.addr}/library/busybox:latest", busybox)
        private_config.write_text(json.dumps({"registry-mirrors": [f"http://{mirror.addr}"]}))
        pulled = dockyard.run("pull", "busybox").stdout
        assert "Using default tag: latest" in pulled
        assert "latest: Pulling from library/busybox" in pulled
        assert "Status: Downloaded newer image for busybox:latest" in pulled
        assert pulled.strip().splitlines()[-1] == "docker.io/library/busybox:latest"
    finally:
        mirror.server.stop()


@pytest.mark.parametrize("fault", ["layer missing", "config corrupt"])
def test_a_mirror_that_lacks_a_blob_hands_over_to_the_next(
    tmp_path: Path, dockyard: Dockyard, busybox: str, private_config: Path, fault: str
) -> None:
    """docker's pull goes on with the next endpoint when a mirror fails half-way: a blob
    it lacks, or a config whose bytes are not those of its digest."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    broken, whole = start("distribution", tmp_path / "a"), start("distribution", tmp_path / "b")
    try:
        for mirror in (broken, whole):
            dockyard.run("tag", busybox, f"{mirror.addr}/library/busybox:latest")
            dockyard.run("push", f"{mirror.addr}/library/busybox:latest")
            dockyard.run("rmi", f"{mirror.addr}/library/busybox:latest")
        blobs = list((tmp_path / "a").rglob("blobs/sha256/*/*/data"))
        layers = [data for data in blobs if data.stat().st_size > 100_000]  # not the JSON
        assert len(layers) == 1
        if fault == "layer missing":
            layers[0].unlink()
        else:
            configs = [d for d in blobs if b'"rootfs"' in d.read_bytes()[:100_000]]
            assert len(configs) == 1
            configs[0].write_bytes(configs[0].read_bytes().replace(b'"os"', b'"OS"'))
        dockyard.run("rmi", busybox)
        mirrors = [f"http://{broken.addr}", f"http://{whole.addr}"]
        private_config.write_text(json.dumps({"registry-mirrors": mirrors}))
        pulled = dockyard.run("pull", "busybox").stdout
        assert "Status: Downloaded newer image for busybox:latest" in pulled
        assert dockyard.run("run", "--rm", "busybox", "echo", "whole").stdout == "whole\n"
    finally:
        broken.server.stop()
        whole.server.stop()


def test_unknown_image_is_one_line(tmp_path: Path, dockyard: Dockyard) -> None:
    registry = start("dockyard", tmp_path)
    try:
        result = dockyard.fails("pull", f"{registry.addr}/no/such:thing")
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        # docker's words for a private registry's NAME_UNKNOWN
        assert lines[0].startswith(f"Error: repository {registry.addr}/no/such not found: ")
        assert dockyard.fails("push", f"{registry.addr}/no/such:thing").returncode == 1
    finally:
        registry.server.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_push_cut_off_half_way_starts_the_upload_again(
    kind: str, tmp_path: Path, dockyard: Dockyard
) -> None:
    """As docker's pusher: a blob upload that fails is started again in a new session (a
    registry need not take back the part of the bytes it got: CNCF's does not)."""
    import os

    from tests.imagefactory import tar_bytes
    from tests.registry.client.cutting_proxy import CuttingProxy

    rootfs = tmp_path / "big.tar"
    rootfs.write_bytes(tar_bytes({"big": os.urandom(6 << 20)}))
    original = dockyard.run("import", str(rootfs), "big:1").stdout.strip()
    registry = start(kind, tmp_path)
    proxy = CuttingProxy(registry.server.port, b"PATCH", cut_at=3_000_000)
    try:
        through = f"127.0.0.1:{proxy.port}/cut/big:1"
        dockyard.run("tag", "big:1", through)
        pushed = dockyard.run("push", through).stdout
        assert "Retrying in 1 second" in pushed and ": Pushed" in pushed
        assert proxy.cuts_left == 0
        dockyard.run("rmi", through, "big:1")
        dockyard.run("pull", f"{registry.addr}/cut/big:1")
        assert image_id(dockyard, f"{registry.addr}/cut/big:1") == original
    finally:
        proxy.close()
        registry.server.stop()
