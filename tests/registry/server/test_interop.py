"""Real clients and the real peer against dockyard's registry: skopeo, docker, docker-registry."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.registry.interop_fixtures import (
    REPO_ROOT,
    Descriptor,
    LayoutWriter,
    Server,
    busybox_layout,
    busybox_rootfs_tar,
    deterministic_gzip,
    distribution_registry,
    dockyard_registry,
    free_port,
)

from dockyard.registry.server.htpasswd import hash_password
from dockyard.registry.server.token_issuer import generate_signing_key

pytestmark = pytest.mark.peer
SKOPEO = shutil.which("skopeo")
DISTRIBUTION = Path("/usr/bin/docker-registry")
DOCKER = Path("/usr/bin/docker")
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
needs_skopeo = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed")
needs_distribution = pytest.mark.skipif(
    not DISTRIBUTION.exists(), reason="docker-registry (CNCF distribution) is not installed"
)


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert SKOPEO is not None
    result = subprocess.run(
        [SKOPEO, *args], check=False, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed:\n{result.stderr}")
    return result


def push(layout: Path, server: Server, ref: str, *creds: str) -> subprocess.CompletedProcess[str]:
    return skopeo(
        "copy",
        "--dest-tls-verify=false",
        *creds,
        f"oci:{layout}:1",
        f"docker://{server.addr}/{ref}",
        check=False,
    )


def pull_digest(server: Server, ref: str, out: Path, *creds: str) -> str:
    """Copy an image out into an OCI layout; returns the manifest digest it arrived with."""
    skopeo(
        "copy", "--src-tls-verify=false", *creds, f"docker://{server.addr}/{ref}", f"oci:{out}:1"
    )
    index = json.loads((out / "index.json").read_text())
    digest: str = index["manifests"][0]["digest"]
    return digest


def blobs(layout: Path) -> set[str]:
    return {p.name for p in (layout / "blobs" / "sha256").iterdir()}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Descriptor]:
    layout = tmp_path_factory.mktemp("busybox") / "layout"
    return layout, busybox_layout(layout)


@pytest.fixture
def open_registry(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage: {{filesystem: {{rootdirectory: {tmp_path / 'root'}}},"
        " delete: {enabled: true}}\n"
    )
    server = dockyard_registry(config, free_port(), tmp_path / "dockyard.log")
    yield server
    server.stop()


@needs_skopeo
def test_skopeo_copies_in_and_out_with_the_same_digests(
    image: tuple[Path, Descriptor], open_registry: Server, tmp_path: Path
) -> None:
    layout, manifest = image
    assert push(layout, open_registry, "x/busybox:1").returncode == 0
    raw = skopeo(
        "inspect", "--raw", "--tls-verify=false", f"docker://{open_registry.addr}/x/busybox:1"
    )
    assert raw.stdout.encode() == (layout / "blobs/sha256" / manifest.digest[7:]).read_bytes()
    assert pull_digest(open_registry, "x/busybox:1", tmp_path / "out") == manifest.digest
    assert blobs(tmp_path / "out") == blobs(layout)


@needs_skopeo
def test_skopeo_with_basic_auth(image: tuple[Path, Descriptor], tmp_path: Path) -> None:
    layout, manifest = image
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"alice:{hash_password('s3cret', rounds=4)}\n")
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage: {{filesystem: {{rootdirectory: {tmp_path / 'root'}}}}}\n"
        f"auth: {{htpasswd: {{realm: basic-realm, path: {htpasswd}}}}}\n"
    )
    server = dockyard_registry(config, free_port(), tmp_path / "dockyard.log")
    try:
        assert push(layout, server, "x/busybox:1").returncode != 0
        assert push(layout, server, "x/busybox:1", "--dest-creds", "alice:wrong").returncode != 0
        assert push(layout, server, "x/busybox:1", "--dest-creds", "alice:s3cret").returncode == 0
        digest = pull_digest(server, "x/busybox:1", tmp_path / "out", "--src-creds", "alice:s3cret")
        assert digest == manifest.digest
    finally:
        server.stop()


def token_config(tmp_path: Path, port: int) -> Path:
    generate_signing_key(tmp_path / "token.key", tmp_path / "token.crt")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(
        f"alice:{hash_password('a-pw', rounds=4)}\nbob:{hash_password('b-pw', rounds=4)}\n"
    )
    config = tmp_path / "config.yml"
    config.write_text(f"""version: 0.1
storage: {{filesystem: {{rootdirectory: {tmp_path / "root"}}}}}
auth:
  token:
    realm: http://127.0.0.1:{port}/auth/token
    service: interop
    issuer: dockyard
    rootcertbundle: {tmp_path / "token.crt"}
dockyard:
  tokenissuer:
    signingkey: {tmp_path / "token.key"}
    htpasswd: {htpasswd}
    rules:
      - {{repository: "public/*", anonymous: true, actions: [pull]}}
      - {{repository: "*", users: [alice], actions: [pull, push]}}
""")
    return config


@needs_skopeo
def test_skopeo_with_tokens_from_the_built_in_issuer(
    image: tuple[Path, Descriptor], tmp_path: Path
) -> None:
    layout, manifest = image
    port = free_port()
    server = dockyard_registry(token_config(tmp_path, port), port, tmp_path / "dockyard.log")
    try:
        assert push(layout, server, "public/busybox:1").returncode != 0
        assert push(layout, server, "public/busybox:1", "--dest-creds", "bob:b-pw").returncode != 0
        ok = push(layout, server, "public/busybox:1", "--dest-creds", "alice:a-pw")
        assert ok.returncode == 0, ok.stderr
        assert push(layout, server, "alice/busybox:1", "--dest-creds", "alice:a-pw").returncode == 0
        # Anonymous pulls work where the rules allow them, and only there.
        assert pull_digest(server, "public/busybox:1", tmp_path / "anon") == manifest.digest
        refused = skopeo(
            "inspect", "--tls-verify=false", f"docker://{server.addr}/alice/busybox:1", check=False
        )
        assert refused.returncode != 0
    finally:
        server.stop()


@needs_skopeo
@needs_distribution
def test_a_directory_written_by_dockyard_is_served_by_distribution(
    image: tuple[Path, Descriptor], tmp_path: Path
) -> None:
    layout, manifest = image
    root = tmp_path / "root"
    server = dockyard_registry(None, free_port(), tmp_path / "dockyard.log", "--root", str(root))
    try:
        assert push(layout, server, "x/busybox:1").returncode == 0
    finally:
        server.stop()
    peer = distribution_registry(root, free_port(), tmp_path / "distribution.log")
    try:
        assert pull_digest(peer, "x/busybox:1", tmp_path / "out") == manifest.digest
        assert blobs(tmp_path / "out") == blobs(layout)
    finally:
        peer.stop()


@needs_skopeo
@needs_distribution
def test_a_directory_written_by_distribution_is_served_by_dockyard(
    image: tuple[Path, Descriptor], tmp_path: Path
) -> None:
    layout, manifest = image
    root = tmp_path / "root"
    peer = distribution_registry(root, free_port(), tmp_path / "distribution.log")
    try:
        assert push(layout, peer, "x/busybox:1").returncode == 0
    finally:
        peer.stop()
    server = dockyard_registry(None, free_port(), tmp_path / "dockyard.log", "--root", str(root))
    try:
        assert pull_digest(server, "x/busybox:1", tmp_path / "out") == manifest.digest
        assert blobs(tmp_path / "out") == blobs(layout)
    finally:
        server.stop()


# -- the docker engine -------------------------------------------------------------------


def docker(
    *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [str(DOCKER), *args],
        check=False,
        capture_output=True,
        input=stdin,
        timeout=180,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stderr.decode()}")
    return result


@pytest.fixture(scope="module")
def dockerd() -> None:
    if not DOCKER.exists() or not Path("/usr/sbin/dockerd").exists():
        pytest.skip("docker.io (dockerd and /usr/bin/docker) is not installed")
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root")
    subprocess.run([str(REPO_ROOT / "scripts" / "dockerd.sh"), "start"], check=True, timeout=60)


@pytest.mark.docker
def test_docker_push_pull_and_run(dockerd: None, open_registry: Server, tmp_path: Path) -> None:
    ref = f"{open_registry.addr}/x/busybox:{uuid.uuid4().hex[:8]}"
    docker("import", "--change", 'CMD ["sh"]', "-", ref, stdin=busybox_rootfs_tar())
    try:
        docker("push", ref)
        docker("rmi", ref)
        docker("pull", ref)
        run = docker("run", "--rm", "--network", "none", ref, "echo", "hello from dockyard")
        assert run.stdout.decode().strip() == "hello from dockyard"
    finally:
        docker("rmi", "-f", ref, check=False)


@pytest.mark.docker
def test_docker_login_and_push_with_token_auth(dockerd: None, tmp_path: Path) -> None:
    port = free_port()
    server = dockyard_registry(token_config(tmp_path, port), port, tmp_path / "dockyard.log")
    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    ref = f"{server.addr}/alice/busybox:{uuid.uuid4().hex[:8]}"
    try:
        docker("import", "-", ref, stdin=busybox_rootfs_tar(), env=env)
        assert docker("push", ref, check=False, env=env).returncode != 0
        docker("login", "-u", "alice", "--password-stdin", server.addr, stdin=b"a-pw", env=env)
        docker("push", ref, env=env)
        docker("rmi", ref, env=env)
        docker("pull", ref, env=env)
    finally:
        docker("rmi", "-f", ref, check=False, env=env)
        server.stop()


@needs_skopeo
@needs_distribution
def test_gc_on_a_directory_distribution_wrote(
    image: tuple[Path, Descriptor], tmp_path: Path
) -> None:
    layout, manifest = image
    other = tmp_path / "other"
    writer = LayoutWriter(other)
    layer = writer.add_bytes(deterministic_gzip(b"only in the deleted image" * 100), GZIP_LAYER)
    writer.add_image([layer], ["sha256:" + "0" * 64], "1")
    root = tmp_path / "root"
    peer = distribution_registry(root, free_port(), tmp_path / "distribution.log")
    try:
        assert push(layout, peer, "x/busybox:1").returncode == 0
        assert push(other, peer, "x/other:1").returncode == 0
        skopeo("delete", "--tls-verify=false", f"docker://{peer.addr}/x/other:1")
    finally:
        peer.stop()
    config = tmp_path / "gc.yml"
    config.write_text(f"version: 0.1\nstorage: {{filesystem: {{rootdirectory: {root}}}}}\n")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from dockyard.cli.main import main; main()",
            "registry",
            "garbage-collect",
            "--delete-untagged",
            "--grace",
            "0s",
            str(config),
        ],
        check=True,
        capture_output=True,
    )
    blob_dirs = {p.name for p in (root / "docker/registry/v2/blobs/sha256").glob("*/*")}
    assert layer.digest[7:] not in blob_dirs
    assert blobs(layout) <= blob_dirs
    peer = distribution_registry(root, free_port(), tmp_path / "distribution2.log")
    try:
        assert pull_digest(peer, "x/busybox:1", tmp_path / "out") == manifest.digest
    finally:
        peer.stop()


@needs_distribution
def test_distribution_accepts_tokens_from_the_built_in_issuer(tmp_path: Path) -> None:
    port, peer_port = free_port(), free_port()
    issuer = dockyard_registry(token_config(tmp_path, port), port, tmp_path / "dockyard.log")
    config = tmp_path / "distribution.yml"
    config.write_text(
        f"version: 0.1\nlog: {{level: error}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'peer'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{peer_port}}}\n"
        f"auth: {{token: {{realm: 'http://127.0.0.1:{port}/auth/token', service: interop,"
        f" issuer: dockyard, rootcertbundle: {tmp_path / 'token.crt'}}}}}\n"
    )
    peer = Server([str(DISTRIBUTION), "serve", str(config)], peer_port, tmp_path / "peer.log")
    try:
        credentials = base64.b64encode(b"alice:a-pw").decode()
        token_url = f"http://{issuer.addr}/auth/token?service=interop&scope=repository:x:pull"
        token_request = urllib.request.Request(
            token_url, headers={"Authorization": f"Basic {credentials}"}
        )
        with urllib.request.urlopen(token_request) as reply:
            token = json.load(reply)["token"]
        tags = urllib.request.Request(
            f"http://{peer.addr}/v2/x/tags/list", headers={"Authorization": f"Bearer {token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(tags)
        assert refused.value.code == 404  # authorized; the repository does not exist
    finally:
        peer.stop()
        issuer.stop()
