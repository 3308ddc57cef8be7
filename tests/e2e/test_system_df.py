"""``system df`` counts images, containers and volumes as docker does."""

from __future__ import annotations

import os

import pytest
from tests.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _row(output: str, kind: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(kind))
    return line[len(kind) :].split()


def test_df_counts_containers_and_active_images(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run(
        "run",
        "--name",
        "writer",
        busybox,
        "sh",
        "-c",
        "dd if=/dev/zero of=/root/blob bs=1000 count=300 2>/dev/null",
    )
    dockyard.run("volume", "create", "spare")
    out = dockyard.run("system", "df").stdout
    assert _row(out, "Images")[:2] == ["1", "1"]  # one image, used by a container
    containers = _row(out, "Containers")
    assert containers[:2] == ["1", "0"] and containers[2] == "300kB"
    assert _row(out, "Local Volumes")[:2] == ["1", "0"]
    verbose = dockyard.run("system", "df", "-v").stdout
    listed = [line for line in verbose.splitlines() if line.rstrip().endswith("writer")]
    assert len(listed) == 1 and "300kB" in listed[0] and "Exited (0)" in listed[0]
    assert any(line.startswith("spare") for line in verbose.splitlines())


def test_df_reclaimable_images_as_docker_counts_them(dockyard: Dockyard, busybox: str) -> None:
    """docker: every layer's bytes but what in-use images hold alone; a layer an in-use
    image shares with another image counts as reclaimable."""
    dockyard.run("run", "--name", "user", busybox, "sh", "-c", "echo hi > /hello")
    images = _row(dockyard.run("system", "df").stdout, "Images")
    assert images[:2] == ["1", "1"] and images[3:] == ["0B", "(0%)"]
    dockyard.run("commit", "user", "df/committed:1")
    images = _row(dockyard.run("system", "df").stdout, "Images")
    assert images[:2] == ["2", "1"]
    assert images[3] == images[2] and images[4] == "(100%)"  # busybox's layer is shared now
