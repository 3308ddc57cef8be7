"""remove_tree: a whole tree goes, nothing behind a symlink does."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.removal import remove_tree


def test_a_tree_with_links_goes_and_what_they_point_at_stays(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    top = tmp_path / "top"
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "a" / "b" / "c" / "f").write_text("x")
    (top / "a" / "g").write_text("y")
    (top / "to-dir").symlink_to(outside)  # a symlink to a directory: fwalk lists it as one
    (top / "a" / "to-file").symlink_to(outside / "keep")
    (top / "a" / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(top / "a" / "fifo")
    os.chmod(top / "a" / "b", 0o500)  # root removes from it anyway; others fall back
    remove_tree(top)
    assert not os.path.lexists(top)
    assert (outside / "keep").read_text() == "keep"


def test_a_missing_tree_is_no_error(tmp_path: Path) -> None:
    remove_tree(tmp_path / "gone")
    remove_tree(str(tmp_path / "gone"))
    assert list(tmp_path.iterdir()) == []
