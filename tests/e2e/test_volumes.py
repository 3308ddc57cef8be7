"""The seed's data-volume walkthrough end to end (section 7), each step its own process:
a bind mount seen from both sides across stop/start, volume inheritance with
--volumes-from (and a chain), and data that outlives every container."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers

pytestmark = needs_containers


def test_bind_mount_both_ways_across_stop_and_start(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    host = tmp_path / "myHostData"  # missing: -v creates it, as docker does
    try:
        dockyard.run(
            "run",
            "-d",
            "--name",
            "myu",
            "--privileged=true",
            "-v",
            f"{host}:/etc/myDockerData",
            busybox,
            "sleep",
            "300",
        )
        shown = json.loads(dockyard.run("inspect", "myu").stdout)[0]
        assert shown["Mounts"] == [
            {
                "Type": "bind",
                "Source": str(host),
                "Destination": "/etc/myDockerData",
                "Mode": "",
                "RW": True,
                "Propagation": "rprivate",
            }
        ]
        assert shown["HostConfig"]["Binds"] == [f"{host}:/etc/myDockerData"]
        assert shown["HostConfig"]["Privileged"] is True

        dockyard.run(
            "exec", "myu", "sh", "-c", "echo 'docker update 123' > /etc/myDockerData/a.log"
        )
        assert (host / "a.log").read_text() == "docker update 123\n"
        with (host / "a.log").open("a") as log:
            log.write("host update 456\n")
        seen = dockyard.run("exec", "myu", "cat", "/etc/myDockerData/a.log").stdout
        assert seen.splitlines() == ["docker update 123", "host update 456"]

        dockyard.run("stop", "-t", "1", "myu")
        with (host / "a.log").open("a") as log:
            log.write("host update 789\n")
        dockyard.run("start", "myu")
        seen = dockyard.run("exec", "myu", "cat", "/etc/myDockerData/a.log").stdout
        assert seen.splitlines() == ["docker update 123", "host update 456", "host update 789"]
    finally:
        dockyard.run("rm", "-f", "myu", check=False)
    assert (host / "a.log").read_text().count("\n") == 3  # the data outlives the container
    assert_nothing_left(dockyard)


def test_volumes_from_shares_and_chains(dockyard: Dockyard, busybox: str, tmp_path: Path) -> None:
    host = tmp_path / "mydocker" / "u"
    dockyard.run(
        "run",
        "--name",
        "u1",
        "--privileged=true",
        "-v",
        f"{host}:/tmp",
        busybox,
        "touch",
        "/tmp/u1_data.txt",
    )
    listed = dockyard.run(
        "run",
        "--name",
        "u2",
        "--privileged=true",
        "--volumes-from",
        "u1",
        busybox,
        "sh",
        "-c",
        "ls /tmp; touch /tmp/u2_data.txt",
    ).stdout
    assert listed.split() == ["u1_data.txt"]
    both = ["u1_data.txt", "u2_data.txt"]
    assert dockyard.run("start", "-a", "u1").returncode == 0  # u1 sees u2's file too
    assert (
        dockyard.run("run", "--rm", "--volumes-from", "u1", busybox, "ls", "/tmp").stdout.split()
        == both
    )
    assert sorted(p.name for p in host.iterdir()) == both

    # u3 inherits from u2, which inherited from u1: the same host directory, read-only here.
    failed = dockyard.run(
        "run",
        "--name",
        "u3",
        "--volumes-from",
        "u2:ro",
        busybox,
        "sh",
        "-c",
        "ls /tmp; touch /tmp/u3_data.txt",
        check=False,
    )
    assert failed.stdout.split() == both and "Read-only file system" in failed.stderr
    mounts = json.loads(dockyard.run("inspect", "u3").stdout)[0]["Mounts"]
    assert mounts == [
        {
            "Type": "bind",
            "Source": str(host),
            "Destination": "/tmp",
            "Mode": "",
            "RW": False,
            "Propagation": "rprivate",
        }
    ]
    inspected = json.loads(dockyard.run("inspect", "u2").stdout)[0]
    assert inspected["HostConfig"]["VolumesFrom"] == ["u1"]
    assert inspected["Mounts"][0]["RW"] is True

    dockyard.run("rm", "-f", "u1", "u2", "u3")
    assert sorted(p.name for p in host.iterdir()) == both
    assert_nothing_left(dockyard)


def test_named_volume_outlives_its_containers(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run(
        "run", "--name", "writer", "-v", "mydata:/data", busybox, "sh", "-c", "echo kept > /data/f"
    )
    shown = json.loads(dockyard.run("inspect", "writer").stdout)[0]
    source = str(dockyard.root / "volumes" / "mydata" / "_data")
    assert shown["Mounts"] == [
        {
            "Type": "volume",
            "Name": "mydata",
            "Source": source,
            "Destination": "/data",
            "Driver": "local",
            "Mode": "z",
            "RW": True,
            "Propagation": "",
        }
    ]
    dockyard.run("rm", "-f", "-v", "writer")  # -v removes anonymous volumes only
    assert (Path(source) / "f").read_text() == "kept\n"
    assert dockyard.run("volume", "ls", "-q").stdout.split() == ["mydata"]
    seen = dockyard.run("run", "--rm", "-v", "mydata:/other", busybox, "cat", "/other/f")
    assert seen.stdout == "kept\n"
    assert dockyard.run("volume", "ls", "-q").stdout.split() == ["mydata"]
    assert_nothing_left(dockyard)
