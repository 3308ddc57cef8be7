"""Table-driven breakout tests (after umoci's oci/layer and moby's pkg/archive).

Every case unpacks into ``parent/layer`` next to ``parent/victim``; whatever
the outcome, nothing outside ``layer`` may change, and the host must not see
the probe paths.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.errors import InvalidArchive, UnsafeTarEntry
from dockyard.layer.unpack import unpack_layer

from .helpers import (
    NEEDS_ROOT,
    ROOT,
    Entry,
    directory,
    file,
    hardlink,
    snapshot,
    symlink,
    tar_bytes,
)

PROBE = "dockyard-escape-probe"


@dataclass
class Case:
    id: str
    entries: list[Entry]
    raises: type[Exception] | None = None
    # path inside the layer -> "file:<content>", "dir", "link:<target>", "whiteout"
    expect: dict[str, str] | None = None
    root_only: bool = False


CASES = [
    Case("dotdot", [file("../evil", b"x")], raises=UnsafeTarEntry),
    Case("dotdot-deep", [file(f"../../etc/{PROBE}", b"x")], raises=UnsafeTarEntry),
    Case("dotdot-inner", [file("a/../../x", b"x")], raises=UnsafeTarEntry),
    Case("dotdot-dir", [directory("../victim")], raises=UnsafeTarEntry),
    Case("absolute", [file("/abs", b"x")], expect={"abs": "file:x"}),
    Case("absolute-dotdot", [file(f"/../../{PROBE}", b"x")], expect={PROBE: "file:x"}),
    Case(
        "symlink-to-root",
        [symlink("link", "/"), file(f"link/etc/{PROBE}", b"x")],
        expect={"link": "link:/", f"etc/{PROBE}": "file:x"},
    ),
    Case(
        "symlink-dotdot",
        [symlink("link", "../.."), file("link/x", b"x")],
        expect={"link": "link:../..", "x": "file:x"},
    ),
    Case(
        "symlink-to-victim",
        [symlink("link", "../victim"), file("link/hello", b"evil")],
        expect={"victim/hello": "file:evil"},
    ),
    Case(
        "symlink-chain",
        [symlink("a", "/b"), symlink("b", "../../../.."), file("a/x", b"x")],
        expect={"x": "file:x"},
    ),
    Case(
        "symlink-loop",
        [symlink("a", "b"), symlink("b", "a"), file("a/x", b"x")],
        raises=InvalidArchive,
    ),
    Case("through-file", [file("f", b"x"), file("f/x", b"x")], raises=InvalidArchive),
    Case("hardlink-dotdot", [hardlink("h", "../victim/hello")], raises=UnsafeTarEntry),
    Case("hardlink-absolute", [hardlink("h", "/etc/passwd")], raises=UnsafeTarEntry),
    Case(
        "hardlink-absolute-inside",
        [file("etc/passwd", b"root"), hardlink("h", "/etc/passwd")],
        expect={"h": "file:root", "etc/passwd": "file:root"},
    ),
    Case(
        "hardlink-through-symlink",
        [symlink("link", "/etc"), hardlink("h", "link/passwd")],
        raises=UnsafeTarEntry,
    ),
    Case(
        "hardlink-through-relative-symlink",
        [symlink("link", "../victim"), hardlink("h", "link/hello")],
        raises=UnsafeTarEntry,
    ),
    Case(
        "hardlink-to-outside-symlink",
        [symlink("s", "../victim/hello"), hardlink("h", "s")],
        expect={"h": "link:../victim/hello"},
    ),
    Case(
        "file-over-planted-symlink",
        [symlink("f", "../victim/hello"), file("f", b"new")],
        expect={"f": "file:new"},
    ),
    Case(
        "hardlink-over-planted-symlink",
        [file("t", b"t"), symlink("x", "../victim/hello"), hardlink("x", "t")],
        expect={"x": "file:t"},
    ),
    Case(
        "dir-over-planted-symlink",
        [symlink("d", "../victim"), Entry("d", tarfile.DIRTYPE, mode=0o777)],
        expect={"d": "dir"},
    ),
    Case(
        "dir-replaced-by-symlink",
        [directory("d"), file("d/x", b"x"), symlink("d", "../victim"), file("d/new", b"n")],
        expect={"d": "link:../victim", "victim/new": "file:n"},
    ),
    Case(
        "symlink-dir-metadata",
        [symlink("link", "../victim"), directory("link/sub", mode=0o700, mtime=5)],
        expect={"victim/sub": "dir"},
    ),
    Case(
        "whiteout-through-symlink",
        [symlink("w", "../victim"), file("w/.wh.hello")],
        expect={"victim/hello": "whiteout"},
        root_only=True,
    ),
    Case(
        "opaque-through-symlink",
        [symlink("o", "/victim"), file("o/.wh..wh..opq")],
        expect={"victim": "dir"},
        root_only=True,
    ),
    Case(
        "fifo-over-planted-symlink",
        [symlink("p", "../victim/hello"), Entry("p", tarfile.FIFOTYPE)],
        expect={"p": "fifo"},
    ),
]


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    parent = tmp_path / "parent"
    (parent / "victim").mkdir(parents=True)
    (parent / "victim" / "hello").write_bytes(b"hello")
    (parent / "layer").mkdir()
    os.utime(parent / "victim", ns=(10**9, 10**9))
    os.utime(parent, ns=(10**9, 10**9))
    return parent


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_nothing_escapes(case: Case, parent: Path) -> None:
    if case.root_only and not ROOT:
        pytest.skip(NEEDS_ROOT)
    layer = parent / "layer"
    before = snapshot(parent, exclude=layer)
    data = tar_bytes(*case.entries)
    if case.raises is not None:
        with pytest.raises(case.raises):
            unpack_layer(io.BytesIO(data), layer)
    else:
        unpack_layer(io.BytesIO(data), layer)
    assert snapshot(parent, exclude=layer) == before
    assert not Path("/etc", PROBE).exists()
    assert not Path("/", PROBE).exists()
    for rel, want in (case.expect or {}).items():
        assert _kind(layer / rel) == want, rel


def _kind(path: Path) -> str:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return f"link:{os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    if stat.S_ISFIFO(info.st_mode):
        return "fifo"
    if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
        return "whiteout"
    return f"file:{path.read_bytes().decode()}"
