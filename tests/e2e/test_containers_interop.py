"""A committed image saved by dockyard loads into docker, and docker sees the same files."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Dockyard
from tests.e2e.container_helpers import needs_containers
from tests.e2e.fixtures_docker import DockerImages, docker, docker_run, require_dockerd

pytestmark = needs_containers


def test_committed_image_runs_in_docker(dockyard: Dockyard, busybox: str, tmp_path: Path) -> None:
    require_dockerd()
    images = DockerImages()
    ref = images.ref("dockyard-commit")
    try:
        dockyard.run("run", "--name", "c1", busybox, "sh", "-c",
                     "mkdir -p /opt/app && echo vim > /opt/app/vim; rm /etc/group")
        dockyard.run("commit", "-m", "add vim", "c1", ref)
        archive = tmp_path / "committed.tar"
        dockyard.run("save", "-o", str(archive), ref)
        docker("load", "-i", archive)
        seen = docker_run(ref, "sh", "-c", "cat /opt/app/vim; ls /etc/group || echo gone")
        assert seen.stdout.split() == ["vim", "gone"]
        ours = dockyard.run("run", "--rm", ref, "sh", "-c", "ls -R /opt /etc | sort").stdout
        theirs = docker_run(ref, "sh", "-c", "ls -R /opt /etc | sort").stdout
        # docker's init layer adds /etc/mtab (-> /proc/mounts); ours does not.
        assert ours.split() == [name for name in theirs.split() if name != "mtab"]
    finally:
        images.remove_all()
