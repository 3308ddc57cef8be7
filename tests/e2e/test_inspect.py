"""``inspect`` finds containers, images and volumes in docker's order, or by --type."""

from __future__ import annotations

import json

from tests.conftest import Dockyard


def test_inspect_finds_volumes_and_honours_type(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("volume", "create", "data1")
    volume = json.loads(dockyard.run("inspect", "data1").stdout)[0]
    assert volume["Name"] == "data1" and volume["Driver"] == "local"
    assert volume["Mountpoint"].endswith("/volumes/data1/_data")
    typed = dockyard.run("inspect", "--type", "volume", "-f", "{{.Scope}}", "data1")
    assert typed.stdout.strip() == "local"
    image_only = dockyard.fails("inspect", "--type", "image", "data1")
    assert "No such object: data1" in image_only.stderr
    mixed = dockyard.fails("inspect", "-f", "{{.Name}}", "data1", "nosuch")
    assert mixed.stdout.strip() == "data1"
    assert mixed.stderr.strip() == "Error: No such object: nosuch"
    assert json.loads(dockyard.run("inspect", busybox).stdout)[0]["RepoTags"] == [
        "busybox:latest"
    ]
