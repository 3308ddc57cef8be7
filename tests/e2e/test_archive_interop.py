"""Archive interop with the real docker engine and skopeo (issue 2).

docker save -> dockyard load keeps the image ID and diff_ids; dockyard save -> docker
load -> docker run works with the same ID; an OCI layout written by skopeo loads.
Expectations follow docker's own CLI behaviour (output lines, columns, IDs).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.fixtures_docker import (
    DockerImages,
    busybox_rootfs_tar,
    docker,
    docker_build_classic,
    docker_diff_ids,
    docker_image_id,
    docker_run,
    dockyard,
    require_dockerd,
    require_program,
    tar_directory,
)

pytestmark = [pytest.mark.docker, pytest.mark.peer]


@pytest.fixture
def images() -> Iterator[DockerImages]:
    require_dockerd()
    created = DockerImages()
    try:
        yield created
    finally:
        created.remove_all()


def build_two_layer_image(images: DockerImages, workdir: Path) -> str:
    """busybox imported by docker, plus one COPY layer: a real multi-layer docker image."""
    base = images.ref("dockyard-e2e/busybox-base")
    docker("import", busybox_rootfs_tar(), base)
    context = workdir / "context"
    context.mkdir()
    (context / "hello.txt").write_text("hello from a second layer\n")
    (context / "Dockerfile").write_text(
        f'FROM {base}\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n')
    ref = images.ref("dockyard-e2e/layered", "v1")
    docker_build_classic(context, ref)
    return ref


def docker_save(ref: str, dest: Path) -> Path:
    docker("save", "-o", dest, ref)
    return dest


def dockyard_inspect(root: Path, ref: str) -> dict[str, Any]:
    documents = json.loads(dockyard(root, "inspect", ref).stdout)
    assert isinstance(documents, list) and len(documents) == 1, documents
    document: dict[str, Any] = documents[0]
    return document


def table_rows(output: str) -> list[list[str]]:
    """docker's tables separate columns by two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def split_ref(ref: str) -> tuple[str, str]:
    repository, _, tag = ref.rpartition(":")
    return repository, tag


def test_docker_save_loads_into_dockyard(images: DockerImages, tmp_path: Path) -> None:
    ref = build_two_layer_image(images, tmp_path)
    archive = docker_save(ref, tmp_path / "docker-save.tar")
    root = tmp_path / "store"

    loaded = dockyard(root, "load", "-i", archive)

    assert f"Loaded image: {ref}" in loaded.stdout.splitlines()  # docker load's line
    document = dockyard_inspect(root, ref)
    assert document["Id"] == docker_image_id(ref)
    assert document["RootFS"]["Type"] == "layers"
    assert document["RootFS"]["Layers"] == docker_diff_ids(ref)
    assert len(document["RootFS"]["Layers"]) >= 2
    assert ref in document["RepoTags"]


def test_dockyard_images_lists_loaded_tag_like_docker(images: DockerImages,
                                                      tmp_path: Path) -> None:
    ref = build_two_layer_image(images, tmp_path)
    root = tmp_path / "store"
    dockyard(root, "load", "-i", docker_save(ref, tmp_path / "docker-save.tar"))

    header, *rows = table_rows(dockyard(root, "images").stdout)

    assert header == table_rows(docker("images").stdout)[0]  # REPOSITORY TAG IMAGE ID ...
    repository, tag = split_ref(ref)
    short_id = docker_image_id(ref).removeprefix("sha256:")[:12]
    assert [repository, tag, short_id] in [row[:3] for row in rows]


def test_dockyard_save_loads_and_runs_in_docker(images: DockerImages, tmp_path: Path) -> None:
    root = tmp_path / "store"
    ref = images.ref("mhk/busybox", "1.0")

    imported = dockyard(root, "import", busybox_rootfs_tar(), ref)
    dockyard(root, "save", "-o", tmp_path / "x.tar", ref)
    docker("load", "-i", tmp_path / "x.tar")

    dockyard_id = dockyard_inspect(root, ref)["Id"]
    assert imported.stdout.strip() == dockyard_id  # docker import prints the full ID
    assert docker_image_id(ref) == dockyard_id
    assert docker_run(ref, "echo", "hello").stdout == "hello\n"


def oci_layout_config_digest(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text())
    manifest_digest: str = index["manifests"][0]["digest"]
    algorithm, hex_digest = manifest_digest.split(":")
    manifest = json.loads((layout / "blobs" / algorithm / hex_digest).read_text())
    config_digest: str = manifest["config"]["digest"]
    return config_digest


def skopeo_copy_to_oci(archive: Path, layout: Path, tag: str) -> None:
    skopeo = require_program("skopeo")
    subprocess.run([skopeo, "copy", "--quiet", f"docker-archive:{archive}",
                    f"oci:{layout}:{tag}"], check=True, capture_output=True, text=True)


def test_skopeo_oci_layout_loads(images: DockerImages, tmp_path: Path) -> None:
    ref = build_two_layer_image(images, tmp_path)
    layout = tmp_path / "layout"
    skopeo_copy_to_oci(docker_save(ref, tmp_path / "docker-save.tar"), layout, "v1")
    layout_tar = tar_directory(layout, tmp_path / "layout.tar")
    root = tmp_path / "store"

    dockyard(root, "load", "-i", layout_tar)

    # skopeo rewrites the config as an OCI config, so its digest (not docker's ID) is the ID
    config_digest = oci_layout_config_digest(layout)
    document = dockyard_inspect(root, config_digest)
    assert document["Id"] == config_digest
    assert document["RootFS"]["Layers"] == docker_diff_ids(ref)
