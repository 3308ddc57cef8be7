"""Copy-up into an empty volume, and in-root resolution that never leaves the root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.runtime.rootpath import resolve_in_root
from dockyard.volumes.copyup import copy_up


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "file").write_text("image content\n")
    (root / "data" / "sub" / "deep").write_text("deep\n")
    os.link(root / "data" / "file", root / "data" / "hardlink")
    (root / "data" / "link").symlink_to("file")
    (root / "data" / "file").chmod(0o640)
    (root / "data").chmod(0o750)
    os.utime(root / "data" / "file", (1_000_000, 1_000_000))
    return root


@pytest.mark.parametrize(
    ("links", "path", "expected"),
    [
        ({}, "/data/file", "data/file"),
        ({"abs": "/etc"}, "/abs/passwd", "etc/passwd"),
        ({"up": "../../../../etc"}, "/up", "etc"),
        ({"dots": "/../../.."}, "/dots/x", "x"),
        ({"a": "b", "b": "/c/../d"}, "/a/e", "d/e"),
        ({}, "/../../../etc/shadow", "etc/shadow"),
    ],
)
def test_resolve_stays_in_root(
    tmp_path: Path, links: dict[str, str], path: str, expected: str
) -> None:
    root = tmp_path / "r"
    root.mkdir()
    for name, target in links.items():
        (root / name).symlink_to(target)
    assert resolve_in_root(root, path) == root / expected


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("/loop")
    with pytest.raises(Exception, match="too many levels"):
        resolve_in_root(tmp_path, "/loop/x")


def test_copy_up_keeps_modes_links_and_times(rootfs: Path, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    assert copy_up(rootfs, "/data", volume)
    assert (volume / "file").read_text() == "image content\n"
    assert (volume / "sub" / "deep").read_text() == "deep\n"
    assert stat.S_IMODE((volume / "file").stat().st_mode) == 0o640
    assert stat.S_IMODE(volume.stat().st_mode) == 0o750  # the volume's root takes the dir's mode
    assert (volume / "file").stat().st_mtime == 1_000_000
    assert (volume / "hardlink").stat().st_ino == (volume / "file").stat().st_ino
    assert os.readlink(volume / "link") == "file"


def test_no_copy_into_a_volume_with_content(rootfs: Path, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "mine").write_text("kept")
    assert not copy_up(rootfs, "/data", volume)
    assert sorted(p.name for p in volume.iterdir()) == ["mine"]


def test_nothing_to_copy_where_the_image_has_nothing(rootfs: Path, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    assert not copy_up(rootfs, "/missing", volume)
    assert not copy_up(rootfs, "/data/file", volume)  # a file: nothing to fill a directory with


def test_symlinked_destination_reads_inside_the_root(tmp_path: Path) -> None:
    """The image's /data -> /secret must copy <rootfs>/secret, never the host's /secret."""
    host_secret = tmp_path / "secret"
    host_secret.mkdir()
    (host_secret / "host-only").write_text("host")
    root = tmp_path / "rootfs"
    (root / "secret").mkdir(parents=True)
    (root / "secret" / "image-only").write_text("image")
    (root / "data").symlink_to(host_secret)  # absolute: the host path, as seen from outside
    volume = tmp_path / "volume"
    volume.mkdir()
    copy_up(root, "/data", volume)
    assert not (volume / "host-only").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_copy_up_keeps_owners(rootfs: Path, tmp_path: Path) -> None:
    os.chown(rootfs / "data" / "file", 1234, 5678)
    os.chown(rootfs / "data", 4321, 8765)
    volume = tmp_path / "volume"
    volume.mkdir()
    copy_up(rootfs, "/data", volume)
    st = (volume / "file").stat()
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert (volume.stat().st_uid, volume.stat().st_gid) == (4321, 8765)
