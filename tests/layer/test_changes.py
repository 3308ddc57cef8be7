"""upper_changes on hand-made upperdirs and on a real overlayfs mount."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.layer.changes import Change, upper_changes
from dockyard.layer.pack import write_upper_tar
from dockyard.layer.unpack import unpack_layer

from .helpers import NEEDS_ROOT, ROOT, directory, file, snapshot, symlink, tar_bytes

pytestmark = pytest.mark.skipif(not ROOT, reason=NEEDS_ROOT)


def listing(changes: list[Change]) -> list[str]:
    return [f"{c.kind} {c.path}" for c in changes]


def test_handmade_upper(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    upper.mkdir()
    unpack_layer(
        io.BytesIO(
            tar_bytes(
                directory("etc"),
                file("etc/passwd", b"root"),
                file("etc/group", b"root"),
                directory("var/cache"),
                file("var/cache/a", b"a"),
                file("var/cache/b", b"b"),
            )
        ),
        lower,
    )
    (upper / "etc").mkdir()
    shutil.copystat(lower / "etc", upper / "etc")
    (upper / "etc/passwd").write_bytes(b"root\nme")
    os.mknod(upper / "etc/group", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "var/cache").mkdir(parents=True)
    os.setxattr(upper / "var/cache", "trusted.overlay.opaque", b"y")
    (upper / "var/cache/b").write_bytes(b"new b")
    (upper / "new").write_bytes(b"n")
    assert listing(upper_changes(upper, [lower])) == [
        "C /etc",
        "D /etc/group",
        "C /etc/passwd",
        "A /new",
        "C /var",
        "C /var/cache",
        "D /var/cache/a",
        "C /var/cache/b",
    ]


def test_whiteout_in_a_higher_lower_hides_the_lower_below(tmp_path: Path) -> None:
    base, top, upper = tmp_path / "base", tmp_path / "top", tmp_path / "upper"
    for path in (base, top, upper):
        path.mkdir()
    (base / "f").write_bytes(b"f")
    os.mknod(top / "f", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "f").write_bytes(b"again")
    assert listing(upper_changes(upper, [top, base])) == ["A /f"]


@pytest.fixture
def overlay(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """(lower, upper, merged) of a mounted overlayfs; unmounted afterwards."""
    lower, upper, work, merged = (tmp_path / n for n in ("lower", "upper", "work", "merged"))
    for path in (lower, upper, work, merged):
        path.mkdir()
    unpack_layer(
        io.BytesIO(
            tar_bytes(
                directory("etc"),
                file("etc/passwd", b"root:x:0:0"),
                file("etc/hostname", b"old"),
                directory("usr/share/doc"),
                file("usr/share/doc/a", b"a"),
                file("usr/share/doc/b", b"b"),
                directory("tmp"),
                file("tmp/junk", b"j"),
                symlink("bin", "usr/bin"),
            )
        ),
        lower,
    )
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount overlayfs: {result.stderr.decode().strip()}")
    try:
        yield lower, upper, merged
    finally:
        subprocess.run(["umount", str(merged)], check=False)


def test_real_overlay_changes_and_commit(overlay: tuple[Path, Path, Path], tmp_path: Path) -> None:
    lower, upper, merged = overlay
    (merged / "etc/hostname").write_bytes(b"new")
    (merged / "etc/motd").write_bytes(b"hi")
    (merged / "tmp/junk").unlink()
    shutil.rmtree(merged / "usr/share/doc")
    (merged / "usr/share/doc").mkdir()
    (merged / "usr/share/doc/c").write_bytes(b"c")
    expected_view = snapshot(merged)
    subprocess.run(["umount", str(merged)], check=True)

    assert listing(upper_changes(upper, [lower])) == [
        "C /etc",
        "C /etc/hostname",
        "A /etc/motd",
        "C /tmp",
        "D /tmp/junk",
        "C /usr/share",  # its mtime changed: doc was removed and made again
        "C /usr/share/doc",
        "D /usr/share/doc/a",
        "D /usr/share/doc/b",
        "A /usr/share/doc/c",
    ]

    # Commit: the upper as a layer, unpacked on its own, stacked on the lower,
    # shows exactly what the container saw.
    blob = io.BytesIO()
    write_upper_tar(upper, blob)
    committed = tmp_path / "committed"
    committed.mkdir()
    unpack_layer(io.BytesIO(blob.getvalue()), committed)
    options = f"lowerdir={committed}:{lower}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True)
    try:
        view = snapshot(merged)
    finally:
        subprocess.run(["umount", str(merged)], check=True)
    # Layers keep whole seconds; the root's times belong to the top layer.
    assert seconds(view) == seconds(expected_view)


def seconds(view: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
    def whole(mtime: object) -> object:
        return mtime // 10**9 if isinstance(mtime, int) else mtime

    return {k: (*v[:4], whole(v[4]), *v[5:]) for k, v in view.items() if k != "."}
