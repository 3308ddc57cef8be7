"""``run -p``: refused clearly without a bridge network, discarded with host networking."""

from __future__ import annotations

import os

import pytest
from tests.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def test_publish_needs_host_network(dockyard: Dockyard, busybox: str) -> None:
    before = dockyard.snapshot()
    refused = dockyard.fails("run", "-d", "-p", "5000:5000", busybox, "true")
    assert refused.returncode == 125
    assert refused.stderr.strip().splitlines() == [
        "Error: publishing ports (-p) needs a bridge network, which dockyard does not have "
        "yet: use --network host, where the container's ports are the host's"
    ]
    assert dockyard.snapshot() == before
    ran = dockyard.run("run", "--rm", "--network", "host", "-p", "5000:5000", busybox, "echo", "up")
    assert ran.stdout == "up\n"
    assert "Published ports are discarded when using host network mode" in ran.stderr
