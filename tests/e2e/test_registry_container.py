"""The walkthrough's private registry: ``run -d -p 5000:5000 -v DIR:/var/lib/registry
--privileged=true registry``, then commit, tag, push to it, pull back from it.

The registry is the CNCF one (Debian's docker-registry) in an image built like
registry:2 (``scripts/registry-image.sh``), reached through the published port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers
from tests.e2e.test_published_ports import free_port

REGISTRY_BINARY = "/usr/bin/docker-registry"
SCRIPT = Path(__file__).parents[2] / "scripts" / "registry-image.sh"

pytestmark = [
    *needs_containers,
    pytest.mark.skipif(
        not os.path.exists(REGISTRY_BINARY), reason="docker-registry is not installed"
    ),
]


def catalog(port: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/_catalog", timeout=5) as r:
                return list(json.loads(r.read())["repositories"])
        except (urllib.error.URLError, ConnectionError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"the registry container did not answer: {exc}") from exc
            time.sleep(0.05)


def test_walkthrough_private_registry_in_a_container(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    env = {**dockyard.env(), "DOCKYARD": DOCKYARD}
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True, capture_output=True, timeout=120)
    data = tmp_path / "myregistry"
    port = free_port()
    dockyard.run("run", "-d", "--name", "reg", "-p", f"{port}:5000",
                 "-v", f"{data}/:/var/lib/registry", "--privileged=true", "registry")  # fmt: skip
    try:
        _push_and_pull_through(dockyard, busybox, port, data)
    finally:
        dockyard.run("rm", "-f", "-v", "reg", "reg2", "u1", check=False)
    assert_nothing_left(dockyard)
    shutil.rmtree(data)


def _push_and_pull_through(dockyard: Dockyard, busybox: str, port: int, data: Path) -> None:
    registry = f"127.0.0.1:{port}"
    assert catalog(port) == []
    dockyard.run("run", "--name", "u1", busybox, "sh", "-c", "echo vim > /root/vim.txt")
    dockyard.run("commit", "-m=add vim", "-a=mhk", "u1", "mhk/busybox:1.3")
    dockyard.run("tag", "mhk/busybox:1.3", f"{registry}/mhk/busybox:1.3")
    pushed = dockyard.run("push", f"{registry}/mhk/busybox:1.3").stdout
    assert "1.3: digest: sha256:" in pushed
    assert catalog(port) == ["mhk/busybox"]
    # The registry's data is in the host directory, through the bind mount.
    assert (data / "docker/registry/v2/repositories/mhk/busybox/_manifests/tags/1.3").is_dir()

    dockyard.run("rm", "-f", "u1")
    dockyard.run("rmi", f"{registry}/mhk/busybox:1.3", "mhk/busybox:1.3")
    dockyard.run("pull", f"{registry}/mhk/busybox:1.3")
    ran = dockyard.run("run", "--rm", f"{registry}/mhk/busybox:1.3", "cat", "/root/vim.txt")
    assert ran.stdout == "vim\n"

    # The data outlives the container: a new one on the same directory serves it.
    dockyard.run("rm", "-f", "reg")
    dockyard.run("run", "-d", "--name", "reg2", "-p", f"{port}:5000",
                 "-v", f"{data}:/var/lib/registry", "registry")  # fmt: skip
    assert catalog(port) == ["mhk/busybox"]
