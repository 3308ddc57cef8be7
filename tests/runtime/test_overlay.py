"""The overlayfs root filesystem: many layers, copy-up, whiteouts, short links."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import StoreError
from dockyard.runtime.overlay import (
    ensure_short_link,
    is_mounted,
    mount_rootfs,
    unmount_rootfs,
)

from .conftest import needs_root


def make_layers(layers_root: Path, count: int) -> list[Path]:
    """``count`` layers, bottom first; layer i holds file-i and its own version of 'shared'."""
    diffs = []
    for i in range(count):
        diff = layers_root / f"{i:064x}" / "diff"
        diff.mkdir(parents=True)
        (diff / f"file-{i}").write_text(str(i))
        (diff / "shared").write_text(str(i))
        diffs.append(diff)
    return diffs


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """Two layers (base has dir/ and gone), mounted; returns (merged, upper, base layer)."""
    layers = tmp_path / "layers"
    base, top = make_layers(layers, 2)
    (base / "dir").mkdir()
    (base / "dir" / "inner").write_text("x")
    (base / "gone").write_text("delete me")
    merged = tmp_path / "c" / "merged"
    upper = tmp_path / "c" / "upper"
    mount_rootfs([top, base], upper, tmp_path / "c" / "work", merged, layers)
    yield merged, upper, base
    unmount_rootfs(merged)


def test_short_link_is_stable_and_points_at_diff(tmp_path: Path) -> None:
    (tmp_path / ("a" * 64) / "diff").mkdir(parents=True)
    short = ensure_short_link(tmp_path, "a" * 64)
    assert len(short) == 26
    assert ensure_short_link(tmp_path, "a" * 64) == short
    assert os.readlink(tmp_path / "l" / short) == f"../{'a' * 64}/diff"


def test_short_link_is_recreated_if_missing(tmp_path: Path) -> None:
    (tmp_path / ("c" * 64) / "diff").mkdir(parents=True)
    short = ensure_short_link(tmp_path, "c" * 64)
    (tmp_path / "l" / short).unlink()
    assert ensure_short_link(tmp_path, "c" * 64) == short
    assert (tmp_path / "l" / short).resolve() == (tmp_path / ("c" * 64) / "diff")


@needs_root
def test_writes_go_to_upper_only(mounted: tuple[Path, Path, Path]) -> None:
    merged, upper, base = mounted
    assert is_mounted(merged)
    assert (merged / "shared").read_text() == "1"  # the top-most layer wins
    (merged / "new").write_text("new")
    (merged / "file-0").write_text("changed")
    assert (upper / "new").read_text() == "new"
    assert (upper / "file-0").read_text() == "changed"
    assert (base / "file-0").read_text() == "0"
    assert not (base / "new").exists()


@needs_root
def test_deleting_a_lower_file_leaves_a_whiteout(mounted: tuple[Path, Path, Path]) -> None:
    merged, upper, base = mounted
    (merged / "gone").unlink()
    st = os.lstat(upper / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert (base / "gone").exists()
    assert not (merged / "gone").exists()


@needs_root
def test_replaced_directory_is_opaque(mounted: tuple[Path, Path, Path]) -> None:
    merged, upper, _ = mounted
    (merged / "dir" / "inner").unlink()
    (merged / "dir").rmdir()
    (merged / "dir").mkdir()
    assert os.getxattr(upper / "dir", "trusted.overlay.opaque") == b"y"


@needs_root
def test_120_layers_mount_with_short_links(tmp_path: Path) -> None:
    layers = tmp_path / "layers-with-a-long-name-to-make-the-options-longer" / "layers"
    diffs = make_layers(layers, 120)
    merged = tmp_path / "c" / "merged"
    cwd = os.getcwd()
    mount_rootfs(
        list(reversed(diffs)), tmp_path / "c" / "upper", tmp_path / "c" / "work", merged, layers
    )
    try:
        assert os.getcwd() == cwd
        assert (merged / "shared").read_text() == "119"
        assert sorted(p.name for p in merged.iterdir() if p.name.startswith("file-")) == sorted(
            f"file-{i}" for i in range(120)
        )
        assert len(os.listdir(layers / "l")) == 120
    finally:
        unmount_rootfs(merged)
    assert not is_mounted(merged)


@needs_root
def test_too_long_lowers_outside_the_layers_root_are_refused(tmp_path: Path) -> None:
    diffs = make_layers(tmp_path / "layers", 120)
    with pytest.raises(StoreError):
        mount_rootfs(diffs, tmp_path / "u", tmp_path / "w", tmp_path / "m", tmp_path / "elsewhere")


def test_unmount_of_a_plain_directory_is_a_no_op(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("umount(2) needs root")
    unmount_rootfs(tmp_path)
    unmount_rootfs(tmp_path / "missing")


@needs_root
def test_an_upper_once_mounted_volatile_mounts_again(tmp_path: Path) -> None:
    """A ``run --rm`` killed before its removal leaves an upper the kernel refuses after
    a volatile mount (incompat/volatile/dirty in the workdir): it is taken as it is."""
    layers = tmp_path / "layers"
    (lower,) = make_layers(layers, 1)
    merged, upper, work = tmp_path / "m", tmp_path / "u", tmp_path / "w"
    mount_rootfs([lower], upper, work, merged, layers, volatile=True)
    (merged / "kept").write_text("written")
    unmount_rootfs(merged)
    assert (work / "work" / "incompat" / "volatile").exists()
    mount_rootfs([lower], upper, work, merged, layers)
    try:
        assert (merged / "kept").read_text() == "written"
    finally:
        unmount_rootfs(merged)
