"""Many dockyard processes at once, and kill -9 at any point, leave a consistent store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.conftest import DOCKYARD, Dockyard
from tests.imagefactory import FakeImage, tar_bytes, write_docker_archive


def assert_consistent(root: Path) -> None:
    """Every row points at complete files; no image lacks a layer or blob."""
    conn = sqlite3.connect(root / "dockyard.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    for (diff_id,) in conn.execute("SELECT diff_id FROM layers"):
        layer = root / "layers" / diff_id.split(":")[1]
        assert (layer / "diff").is_dir() and (layer / "meta.json").is_file(), diff_id
    for digest, diff_id in conn.execute("SELECT digest, diff_id FROM blobs"):
        blob = root / "blobs" / "sha256" / digest.split(":")[1]
        rebuilt = root / "layers" / diff_id.split(":")[1] / "tar-split.gz"
        assert blob.is_file() or (digest == diff_id and rebuilt.is_file()), digest
    missing = conn.execute(
        "SELECT image_id, diff_id FROM image_layers WHERE diff_id NOT IN (SELECT diff_id FROM "
        "layers) OR blob NOT IN (SELECT digest FROM blobs)"
    ).fetchall()
    assert missing == []
    conn.close()


def test_parallel_loads_and_removals(dockyard: Dockyard, tmp_path: Path) -> None:
    base = tar_bytes({"bin/base": os.urandom(300_000)}, dirs=("bin",))
    archives = []
    for i in range(8):
        image = FakeImage([base, tar_bytes({f"own{i}": os.urandom(50_000)})], tags=[f"p:{i}"])
        archives.append(write_docker_archive(tmp_path / f"p{i}.tar", [image]))
    env = dockyard.env()
    procs = [
        subprocess.Popen([DOCKYARD, "load", "-i", str(a)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        for a in archives
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    tags = dockyard.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(tags) == [f"p:{i}" for i in range(8)]
    assert_consistent(dockyard.root)
    # Removing and re-loading concurrently: each image ends either present or absent, whole.
    procs = [
        subprocess.Popen([DOCKYARD, *(["rmi", f"p:{i}"] if i % 2 else ["load", "-i", str(a)])],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i, a in enumerate(archives)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    tags = dockyard.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(tags) == [f"p:{i}" for i in range(0, 8, 2)]
    assert_consistent(dockyard.root)


def test_kill_during_load_leaves_store_consistent(dockyard: Dockyard, tmp_path: Path) -> None:
    big = tar_bytes({f"f{i}": os.urandom(4_000_000) for i in range(30)})
    archive = write_docker_archive(tmp_path / "big.tar", [FakeImage([big], tags=["big:1"])])
    for delay in (0.05, 0.3, 0.8):
        dockyard.run("images")  # the store exists before the kill
        proc = subprocess.Popen([DOCKYARD, "load", "-i", str(archive)], env=dockyard.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_consistent(dockyard.root)
        listed = dockyard.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        assert listed in ([], ["big:1"])
        dockyard.run("rmi", "big:1", check=False)
    # A later process clears what the killed ones left in tmp/ and loads normally.
    assert "Loaded image: big:1" in dockyard.run("load", "-i", str(archive)).stdout
    assert [p.name for p in (dockyard.root / "tmp").iterdir()] == []
    assert_consistent(dockyard.root)
