"""write_upper_tar / write_dir_tar, checked by unpacking what they write."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.layer.changes import write_dir_tar, write_upper_tar
from dockyard.layer.compression import open_compressor, open_decompressed
from dockyard.layer.unpack import unpack_layer

from .helpers import NEEDS_ROOT, ROOT, tree

root_only = pytest.mark.skipif(not ROOT, reason=NEEDS_ROOT)


def make_tree(top: Path) -> None:
    (top / "etc/sub").mkdir(parents=True)
    (top / "etc/hosts").write_bytes(b"hosts")
    os.link(top / "etc/hosts", top / "etc/hosts.bak")
    (top / "etc/link").symlink_to("/etc/hosts")
    (top / "bin").mkdir()
    (top / "bin/su").write_bytes(b"su")
    os.chmod(top / "bin/su", 0o4755)
    os.mkfifo(top / "fifo")
    os.setxattr(top / "bin/su", "user.bin", b"\xff\x00\x01")
    settle(top)


def settle(top: Path) -> None:
    """Whole-second mtimes everywhere: layer tars keep seconds only, as docker's do."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in [*dirnames, *filenames]:
            os.utime(Path(dirpath, name), (1_500_000_000, 1_500_000_000), follow_symlinks=False)


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        return list(tar)


def test_dir_tar_round_trip(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    make_tree(src)
    out = io.BytesIO()
    write_dir_tar(src, out)
    names = [m.name for m in members(out.getvalue())]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert names[0] == "bin"  # no entry for the root itself
    unpack_layer(io.BytesIO(out.getvalue()), dest)
    assert tree(dest) == tree(src)
    hosts = {m.name: m for m in members(out.getvalue())}
    assert hosts["etc/hosts.bak"].islnk() and hosts["etc/hosts.bak"].linkname == "etc/hosts"


def test_dir_tar_is_deterministic(tmp_path: Path) -> None:
    make_tree(tmp_path)
    first, second = io.BytesIO(), io.BytesIO()
    write_dir_tar(tmp_path, first)
    write_dir_tar(tmp_path, second)
    assert first.getvalue() == second.getvalue()


def test_dir_tar_with_arcname(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/a").write_bytes(b"a")
    out = io.BytesIO()
    write_dir_tar(tmp_path / "etc", out, arcname="etc")
    assert [m.name for m in members(out.getvalue())] == ["etc", "etc/a"]


@root_only
def test_upper_tar_round_trip_with_whiteouts(tmp_path: Path) -> None:
    upper, dest = tmp_path / "upper", tmp_path / "dest"
    upper.mkdir()
    dest.mkdir()
    make_tree(upper)
    os.chown(upper / "etc/hosts", 1000, 1000)
    os.mknod(upper / "etc/gone", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "var/cache").mkdir(parents=True)
    (upper / "var/cache/new").write_bytes(b"n")
    os.setxattr(upper / "var/cache", "trusted.overlay.opaque", b"y")
    os.mknod(upper / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    settle(upper)

    out = io.BytesIO()
    write_upper_tar(upper, out)
    by_name = {m.name: m for m in members(out.getvalue())}
    assert by_name["etc/.wh.gone"].isreg() and by_name["etc/.wh.gone"].size == 0
    assert "var/cache/.wh..wh..opq" in by_name
    assert not any("trusted.overlay" in key for key in by_name["var/cache"].pax_headers)

    unpack_layer(io.BytesIO(out.getvalue()), dest)
    assert tree(dest) == tree(upper)


@root_only
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_layer_round_trip(tmp_path: Path, compression: str) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    make_tree(src)
    blob = io.BytesIO()
    writer = open_compressor(blob, "gzip" if compression == "gzip" else "zstd")
    write_upper_tar(src, writer)
    writer.close()
    blob.seek(0)
    with open_decompressed(blob) as stream:
        unpack_layer(stream, dest)
    assert tree(dest) == tree(src)
