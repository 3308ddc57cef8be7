"""unpack_layer: entry types, metadata, whiteouts, replacement, stats, bad input."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import InvalidArchive
from dockyard.layer.unpack import UnpackStats, unpack_layer

from .helpers import NEEDS_ROOT, ROOT, Entry, directory, file, hardlink, symlink, tar_bytes

root_only = pytest.mark.skipif(not ROOT, reason=NEEDS_ROOT)


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    path = tmp_path / "layer"
    path.mkdir()
    return path


def unpack(layer: Path, *entries: Entry, fmt: int = tarfile.PAX_FORMAT) -> UnpackStats:
    return unpack_layer(io.BytesIO(tar_bytes(*entries, fmt=fmt)), layer)


def test_types_and_stats(layer: Path) -> None:
    stats = unpack(
        layer,
        directory("etc", mode=0o750, mtime=1_000),
        file("etc/hosts", b"127.0.0.1", mode=0o600, mtime=2_000),
        symlink("etc/alias", "hosts"),
        hardlink("etc/hosts2", "etc/hosts"),
        Entry("run/fifo", tarfile.FIFOTYPE, mode=0o640),
        file("bin/su", b"su", mode=0o4755),
    )
    assert stats == UnpackStats(size=len(b"127.0.0.1") + len(b"hosts") + 2, entries=6)
    assert (layer / "etc/hosts").read_bytes() == b"127.0.0.1"
    assert stat.S_IMODE(os.stat(layer / "etc/hosts").st_mode) == 0o600
    assert os.stat(layer / "etc/hosts").st_mtime == 2_000
    assert os.stat(layer / "etc/hosts").st_nlink == 2
    assert os.readlink(layer / "etc/alias") == "hosts"
    assert stat.S_ISFIFO(os.lstat(layer / "run/fifo").st_mode)
    assert stat.S_IMODE(os.stat(layer / "bin/su").st_mode) == 0o4755
    # Directory attributes are set after their contents were written.
    assert stat.S_IMODE(os.stat(layer / "etc").st_mode) == 0o750
    assert os.stat(layer / "etc").st_mtime == 1_000
    # Implicit parents are created 0755.
    assert stat.S_IMODE(os.stat(layer / "run").st_mode) == 0o755


@root_only
def test_ownership_devices_and_xattrs(layer: Path) -> None:
    owned = file("owned", b"x", mode=0o2755)
    owned.uid, owned.gid = 1234, 5678
    owned.pax = {"SCHILY.xattr.user.note": "hi", "SCHILY.xattr.trusted.overlay.opaque": "y"}
    unpack(
        layer,
        owned,
        Entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        Entry("dev/loop0", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=0),
    )
    info = os.stat(layer / "owned")
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o2755)
    assert os.getxattr(layer / "owned", "user.note") == b"hi"
    # Only whiteout markers may set overlayfs xattrs.
    assert "trusted.overlay.opaque" not in os.listxattr(layer / "owned")
    null = os.stat(layer / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_ISBLK(os.stat(layer / "dev/loop0").st_mode)


def test_binary_xattr_value(layer: Path) -> None:
    entry = file("cap", b"x")
    entry.pax = {"SCHILY.xattr.user.bin": b"\x01\xff\x00z".decode("utf-8", "surrogateescape")}
    unpack(layer, entry)
    assert os.getxattr(layer / "cap", "user.bin") == b"\x01\xff\x00z"


@root_only
def test_whiteouts_and_opaque(layer: Path) -> None:
    stats = unpack(
        layer,
        directory("etc"),
        file("etc/.wh.passwd"),
        file("var/cache/.wh..wh..opq"),
        file("var/cache/kept", b"k"),
        file(".wh..wh.plnk/123.456"),
        file("etc/.wh..wh.aufs"),
    )
    info = os.lstat(layer / "etc/passwd")
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == 0 and stat.S_IMODE(info.st_mode) == 0
    assert not (layer / "etc/.wh.passwd").exists()
    assert os.getxattr(layer / "var/cache", "trusted.overlay.opaque") == b"y"
    assert (layer / "var/cache/kept").read_bytes() == b"k"
    assert not (layer / "var/cache/.wh..wh..opq").exists()
    assert not (layer / ".wh..wh.plnk").exists()
    assert sorted(os.listdir(layer / "etc")) == ["passwd"]
    assert stats.size == 1


def test_later_entries_replace_earlier(layer: Path) -> None:
    unpack(
        layer,
        directory("a"),
        file("a/inner", b"i"),
        file("a", b"now a file"),
        file("b", b"old"),
        directory("b", mode=0o700),
        file("b/x", b"x"),
        file("c", b"old"),
        file("c", b"new"),
        symlink("d", "c"),
        file("d", b"plain"),
    )
    assert (layer / "a").read_bytes() == b"now a file"
    assert stat.S_IMODE(os.stat(layer / "b").st_mode) == 0o700
    assert (layer / "b/x").read_bytes() == b"x"
    assert (layer / "c").read_bytes() == b"new"
    assert not (layer / "d").is_symlink()
    assert (layer / "d").read_bytes() == b"plain"


def test_directory_entry_merges_with_existing(layer: Path) -> None:
    unpack(layer, file("a/x", b"x"), directory("a", mode=0o711, mtime=7))
    assert (layer / "a/x").read_bytes() == b"x"
    assert stat.S_IMODE(os.stat(layer / "a").st_mode) == 0o711
    assert os.stat(layer / "a").st_mtime == 7


def test_root_entry_leaves_dest_alone(layer: Path) -> None:
    os.chmod(layer, 0o755)
    unpack(layer, directory("./", mode=0o700), file("./x", b"x"))
    assert stat.S_IMODE(os.stat(layer).st_mode) == 0o755
    assert (layer / "x").read_bytes() == b"x"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names(layer: Path, fmt: int) -> None:
    deep = "/".join(["d" * 60] * 2) + "/" + "f" * 90
    entries = [file(deep, b"deep")]
    if fmt != tarfile.USTAR_FORMAT:
        entries.append(symlink("s", "t" * 150))
    unpack(layer, *entries, fmt=fmt)
    assert (layer / deep).read_bytes() == b"deep"
    if fmt != tarfile.USTAR_FORMAT:
        assert os.readlink(layer / "s") == "t" * 150


def test_pax_overrides_and_unicode(layer: Path) -> None:
    entry = file("café/ünï.txt", b"x")
    entry.pax = {"mtime": "1234567890.5"}
    unpack(layer, entry)
    assert os.stat(layer / "café/ünï.txt").st_mtime_ns == 1_234_567_890_500_000_000


def test_large_file_in_chunks(layer: Path) -> None:
    data = os.urandom(3 << 20) + b"tail"
    stats = unpack(layer, file("big", data), file("after", b"a"))
    assert (layer / "big").read_bytes() == data
    assert (layer / "after").read_bytes() == b"a"
    assert stats.size == len(data) + 1


def test_reads_stream_to_the_end(layer: Path) -> None:
    stream = io.BytesIO(tar_bytes(file("x", b"x")) + b"\0" * 4096 + b"trailing")
    unpack_layer(stream, layer)
    assert stream.read() == b""


def test_empty_stream_is_an_empty_layer(layer: Path) -> None:
    assert unpack_layer(io.BytesIO(b""), layer) == UnpackStats(size=0, entries=0)


@pytest.mark.parametrize("cut", [100, 512 + 100, 1024 + 7])
def test_truncated_tar(layer: Path, cut: int) -> None:
    data = tar_bytes(file("x", b"y" * 2000))
    with pytest.raises(InvalidArchive, match="truncated"):
        unpack_layer(io.BytesIO(data[:cut]), layer)


@pytest.mark.parametrize(
    "garbage",
    [b"this is not a tar file at all" * 40, os.urandom(4096), b"\x1f\x8b" + bytes(600)],
)
def test_garbage(layer: Path, garbage: bytes) -> None:
    with pytest.raises(InvalidArchive):
        unpack_layer(io.BytesIO(garbage), layer)


def test_bad_checksum(layer: Path) -> None:
    data = bytearray(tar_bytes(file("x", b"x")))
    data[0] ^= 1  # the name changes, the checksum does not
    with pytest.raises(InvalidArchive, match="checksum"):
        unpack_layer(io.BytesIO(bytes(data)), layer)


def test_malformed_pax(layer: Path) -> None:
    data = bytearray(tar_bytes(Entry("x", pax={"comment": "hello"})))
    at = data.index(b"comment")
    data[at - 3 : at - 1] = b"99"  # a record length running past the header
    with pytest.raises(InvalidArchive, match="PAX"):
        unpack_layer(io.BytesIO(bytes(data)), layer)


def test_sparse_is_refused(layer: Path) -> None:
    entry = file("s", b"x")
    entry.pax = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
    with pytest.raises(InvalidArchive, match="sparse"):
        unpack(layer, entry)


def test_hardlink_to_directory_is_refused(layer: Path) -> None:
    with pytest.raises(InvalidArchive, match="directory"):
        unpack(layer, directory("d"), hardlink("h", "d"))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_file_modes_survive_any_umask(layer: Path, umask: int) -> None:
    modes = [0o644, 0o755, 0o600, 0o777, 0o4755, 0o2711, 0o1644, 0o000, 0o444]
    previous = os.umask(umask)
    try:
        unpack(layer, *(file(f"f{mode:o}", b"x", mode=mode) for mode in modes))
    finally:
        os.umask(previous)
    assert {m: stat.S_IMODE(os.stat(layer / f"f{m:o}").st_mode) for m in modes} == {
        m: m for m in modes
    }
