"""podman pushes to and pulls from dockyard's registry (skipped only where podman is absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from tests.registry.interop_fixtures import busybox_rootfs_tar, dockyard_registry, free_port

pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed"),
]


def _podman(storage: Path, *args: str) -> str:
    """podman with a private vfs store, so the test touches no system image store."""
    conf = storage / "storage.conf"
    if not conf.exists():
        conf.write_text(
            f'[storage]\ndriver = "vfs"\nrunroot = "{storage}/run"\ngraphroot = "{storage}/graph"\n'
        )
    done = subprocess.run(
        ["podman", *args],
        env={"CONTAINERS_STORAGE_CONF": str(conf), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_podman_push_and_pull(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(busybox_rootfs_tar())
    port = free_port()
    server = dockyard_registry(
        None, port, tmp_path / "registry.log", "--root", str(tmp_path / "reg")
    )
    storage = tmp_path / "podman"
    storage.mkdir()
    try:
        _podman(storage, "import", str(rootfs), "localhost/pmbox:1")
        ref = f"{server.addr}/pm/box:1"
        _podman(storage, "push", "--tls-verify=false", "localhost/pmbox:1", ref)
        with urllib.request.urlopen(f"http://{server.addr}/v2/_catalog") as response:
            assert json.load(response) == {"repositories": ["pm/box"]}
        pushed_id = _podman(storage, "image", "inspect", "--format", "{{.Id}}", "localhost/pmbox:1")
        _podman(storage, "rmi", "-a", "-f")
        _podman(storage, "pull", "--tls-verify=false", ref)
        pulled_id = _podman(storage, "image", "inspect", "--format", "{{.Id}}", ref)
        assert pulled_id == pushed_id
    finally:
        server.stop()
        subprocess.run(["umount", "-R", str(storage / "graph")], capture_output=True, check=False)
