"""Interop with docker and skopeo through a CNCF distribution registry: what docker
pushes dockyard pulls, what dockyard pushes docker pulls, with the same digests."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import Dockyard
from tests.e2e.fixtures_docker import DockerImages, docker, docker_image_id, require_dockerd
from tests.registry.client.registries import Registry, start

pytestmark = [pytest.mark.docker, pytest.mark.peer]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    server = start("distribution", tmp_path)
    yield server
    server.server.stop()


@pytest.fixture
def docker_images() -> Iterator[DockerImages]:
    require_dockerd()
    images = DockerImages()
    yield images
    images.remove_all()


def pushed_digest(output: str) -> str:
    match = re.search(r"digest: (sha256:[0-9a-f]{64}) size: \d+", output)
    assert match, output
    return match.group(1)


def test_dockyard_pulls_what_docker_pushed(
    registry: Registry, docker_images: DockerImages, dockyard: Dockyard, busybox_tar: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("DOCKYARD_CONFIG", str(tmp_path / "daemon.json"))
    ref = f"{registry.addr}/{docker_images.ref('interop/from-docker', '1')}"
    docker_images.refs.append(ref)
    docker("import", busybox_tar, ref)
    digest = pushed_digest(docker("push", ref).stdout)
    pulled = dockyard.run("pull", ref).stdout
    assert f"Digest: {digest}" in pulled
    assert dockyard.run("inspect", "-f", "{{.Id}}", ref).stdout.strip() == docker_image_id(ref)


def test_docker_and_skopeo_pull_what_dockyard_pushed(
    registry: Registry, docker_images: DockerImages, dockyard: Dockyard, busybox: str,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("DOCKYARD_CONFIG", str(tmp_path / "daemon.json"))
    ref = f"{registry.addr}/{docker_images.ref('interop/from-dockyard', '1')}"
    docker_images.refs.append(ref)
    dockyard.run("tag", busybox, ref)
    digest = pushed_digest(dockyard.run("push", ref).stdout)
    docker("pull", ref)
    repo_digests = json.loads(
        docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref).stdout
    )
    assert f"{ref.rsplit(':', 1)[0]}@{digest}" in repo_digests
    assert docker_image_id(ref) == dockyard.run("inspect", "-f", "{{.Id}}", ref).stdout.strip()
    skopeo = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert json.loads(skopeo.stdout)["Digest"] == digest
