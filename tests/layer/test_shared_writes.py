"""commit's shared writes (``layer.shared``): the packer writes some files into the new
layer itself, and the layer, its tar and its tar-split record are exactly what packing
and unpacking alone give."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
from pathlib import Path

import pytest

from dockyard.engine.pack_child import packed_by_child
from dockyard.errors import StoreError
from dockyard.layer.pack import write_upper_tar
from dockyard.layer.shared import (
    PACKER_WRITES_BELOW,
    SharedLayer,
    SharedWrites,
)
from dockyard.layer.tarsplit import TarSplitReader, TarSplitRecorder
from dockyard.layer.unpack import unpack_layer
from dockyard.store.streams import HashingReader, as_binary

from .helpers import NEEDS_ROOT, ROOT, tree

root_only = pytest.mark.skipif(not ROOT, reason=NEEDS_ROOT)


def make_upper(upper: Path, with_root_parts: bool) -> None:
    (upper / "many").mkdir(parents=True)
    for index in range(40):
        (upper / "many" / f"f{index}").write_bytes(b"x" * index)
    (upper / "sizes").mkdir(mode=0o700)
    for size in (0, 1, 511, 512, 513, PACKER_WRITES_BELOW - 1, PACKER_WRITES_BELOW):
        (upper / "sizes" / f"s{size}").write_bytes(os.urandom(size))
    (upper / "modes").mkdir()
    for mode in (0o600, 0o755, 0o4755, 0o2711, 0o444, 0o000):
        path = upper / "modes" / f"m{mode:o}"
        path.write_bytes(b"mode")
        os.chmod(path, mode)
    (upper / "modes" / "ro-xattr").write_bytes(b"x")
    os.setxattr(upper / "modes" / "ro-xattr", "user.note", b"\x00\xff")
    os.chmod(upper / "modes" / "ro-xattr", 0o444)
    (upper / "links").mkdir()
    (upper / "links" / "a").write_bytes(b"shared inode")
    os.link(upper / "links" / "a", upper / "links" / "b")
    os.link(upper / "links" / "a", upper / "many" / "c")
    (upper / "links" / "sym").symlink_to("../many/f3")
    long_dir = upper / ("d" * 90)
    long_dir.mkdir()
    (long_dir / ("n" * 60)).write_bytes(b"long name")
    (upper / "snow-\u2603").write_bytes(b"not ascii")
    (upper / os.fsdecode(b"bytes-\xff")).write_bytes(b"not utf-8")
    (upper / ".wh.dir" / "inside").mkdir(parents=True)
    (upper / ".wh.dir" / "inside" / "f").write_bytes(b"below a whiteout name")
    (upper / ".wh.dir" / "g").write_bytes(b"g")
    # `.wh.X` next to `X`: the tar whites X out, then gives it again.
    (upper / "twins").mkdir()
    (upper / "twins" / ".wh.foo").write_bytes(b"")
    for index in range(4):
        (upper / "twins" / "foo").mkdir(exist_ok=True)
        (upper / "twins" / "foo" / f"f{index}").write_bytes(b"below a whited-out name")
    (upper / "twins" / ".wh.bar").write_bytes(b"")
    (upper / "twins" / "bar").write_bytes(b"bar")
    if with_root_parts:
        os.chown(upper / "many" / "f5", 1000, 1001)
        os.chown(upper / "modes" / "m4755", 1000, 1000)  # chown clears setuid: set it again
        os.chmod(upper / "modes" / "m4755", 0o4755)
        os.mknod(upper / "many" / "gone", stat.S_IFCHR, os.makedev(0, 0))  # a whiteout
        (upper / "opaque").mkdir()
        (upper / "opaque" / "kept").write_bytes(b"k")
        os.setxattr(upper / "opaque", "trusted.overlay.opaque", b"y")
        os.mknod(upper / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        # A default ACL (u::r--,g::---,o::---): nothing the unpack makes may inherit it.
        (upper / "acl").mkdir()
        for index in range(6):
            (upper / "acl" / f"f{index}").write_bytes(b"acl")
        entries = [(0x01, 4), (0x04, 0), (0x20, 0)]  # USER_OBJ, GROUP_OBJ, OTHER
        acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, 0xFFFFFFFF)
                                              for t, p in entries)  # fmt: skip
        os.setxattr(upper / "acl", "system.posix_acl_default", acl)
    for dirpath, dirnames, filenames in os.walk(upper, topdown=False):
        for index, name in enumerate([*dirnames, *filenames]):
            stamp = 1_600_000_000_123_456_789 + index * 1_000_000_000
            os.utime(Path(dirpath, name), ns=(stamp, stamp), follow_symlinks=False)


def alone(upper: Path, dest: Path) -> bytes:
    """The tar, and the layer unpacked from it with no sharing."""
    out = io.BytesIO()
    write_upper_tar(upper, out)
    unpack_layer(io.BytesIO(out.getvalue()), dest)
    return out.getvalue()


def shared(upper: Path, dest: Path, record: Path) -> str:
    """Packed by a child that shares the writes; the tar's sha256, as commit hashes it."""
    recorder = TarSplitRecorder(record)
    share = SharedLayer(dest)
    with packed_by_child(lambda out: write_upper_tar(upper, out, share=share), "test") as raw:
        tar = HashingReader(raw)
        unpack_layer(as_binary(tar), dest, recorder, shared=share)
        tar.drain()
    share.close()
    assert recorder.finish()
    return tar.hasher.digest().hex


def written_by_packer(upper: Path, dest: Path) -> set[str]:
    """What the packer writes into the layer on its own (no unpacker reading)."""
    write_upper_tar(upper, io.BytesIO(), share=SharedLayer(dest))
    return {
        str(Path(top, name).relative_to(dest))
        for top, _, files in os.walk(dest)
        for name in files
    }


@pytest.mark.parametrize("with_root_parts", [pytest.param(True, marks=root_only), False])
def test_shared_writes_give_the_same_layer_tar_and_record(
    tmp_path: Path, with_root_parts: bool
) -> None:
    upper, plain, split = tmp_path / "upper", tmp_path / "plain", tmp_path / "split"
    upper.mkdir()
    plain.mkdir()
    split.mkdir()
    make_upper(upper, with_root_parts)

    expected_tar = alone(upper, plain)
    digest = shared(upper, split, tmp_path / "record.gz")

    assert digest == hashlib.sha256(expected_tar).hexdigest()
    # `.wh.dir` has no entry of its own (the unpacker makes a whiteout of it): it is
    # made on the way to what is below it, at the time of the unpack.
    implicit = ".wh.dir"
    split_tree, plain_tree = tree(split), tree(plain)
    assert split_tree[implicit][:4] == plain_tree[implicit][:4]
    del split_tree[implicit], plain_tree[implicit]
    assert split_tree == plain_tree
    (tmp_path / "packer-only").mkdir()
    by_packer = written_by_packer(upper, tmp_path / "packer-only")
    many = {name for name in by_packer if name.startswith("many/f")}
    assert 15 <= len(many) <= 25  # about every other one of the 40
    assert not any("/.wh." in f"/{name}" for name in by_packer)
    assert not any(name.startswith(("twins/foo", "twins/bar")) for name in by_packer)
    if with_root_parts:  # the ACL reached the directory, and no file inherited it
        assert os.getxattr(split / "acl", "system.posix_acl_default")
        assert all(os.stat(split / "acl" / f"f{i}").st_mode & 0o777 == 0o644 for i in range(6))
    with TarSplitReader(tmp_path / "record.gz", split) as again:
        assert b"".join(iter(lambda: again.read(1 << 20), b"")) == expected_tar


def test_the_unpacker_leaves_marked_files_and_refuses_a_mark_for_another_name(
    tmp_path: Path,
) -> None:
    upper, dest = tmp_path / "upper", tmp_path / "dest"
    upper.mkdir()
    dest.mkdir()
    for index in range(4):
        (upper / f"f{index}").write_bytes(b"data")
    out = io.BytesIO()
    write_upper_tar(upper, out)
    share = SharedLayer(dest)
    (dest / "f1").write_bytes(b"what the packer made")
    share.mark(1, "f1")  # entries: f0, f1, f2, f3
    unpack_layer(io.BytesIO(out.getvalue()), dest, shared=share)
    assert (dest / "f1").read_bytes() == b"what the packer made"  # not written again
    assert [(dest / f"f{i}").read_bytes() for i in (0, 2, 3)] == [b"data"] * 3

    again = tmp_path / "again"
    again.mkdir()
    shifted = SharedLayer(again)
    shifted.mark(2, "f1")  # counted one entry off
    with pytest.raises(StoreError, match="the packer marked entry 2 for another name than 'f2'"):
        unpack_layer(io.BytesIO(out.getvalue()), again, shared=shifted)


def test_the_packer_takes_more_of_the_files_the_further_the_unpacker_lags() -> None:
    rule = SharedWrites(1 << 20)

    def taken(backlog: int) -> int:
        rule.pace(backlog)
        return sum(rule.packer_writes(100) for _ in range(100))

    assert taken(0) == 0  # the unpacker may run dry: it makes them all
    assert taken(64 << 10) == 0  # a sixteenth of the pipe: still too little
    assert taken((64 << 10) + 1) == 50  # about even: every other one
    assert taken(512 << 10) == 100  # half the pipe: it lags, the packer makes them all
    assert SharedWrites(64 << 10).behind == 32 << 10  # a pipe left at its default size
    assert not rule.packer_writes(PACKER_WRITES_BELOW)  # large ones always go whole
