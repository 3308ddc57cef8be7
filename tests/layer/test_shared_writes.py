"""commit's shared writes (``layer.shared``): the packer writes some files into the new
layer itself, and the layer, its tar and its tar-split record are exactly what packing
and unpacking alone give."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.engine.pack_child import packed_by_child
from dockyard.errors import StoreError
from dockyard.layer.pack import write_upper_tar
from dockyard.layer.shared import PACKER_WRITES_BELOW, SharedWrites
from dockyard.layer.tarsplit import TarSplitReader, TarSplitRecorder
from dockyard.layer.tarstream import TarReader
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
    if with_root_parts:
        os.chown(upper / "many" / "f5", 1000, 1001)
        os.chown(upper / "modes" / "m4755", 1000, 1000)  # chown clears setuid: set it again
        os.chmod(upper / "modes" / "m4755", 0o4755)
        os.mknod(upper / "many" / "gone", stat.S_IFCHR, os.makedev(0, 0))  # a whiteout
        (upper / "opaque").mkdir()
        (upper / "opaque" / "kept").write_bytes(b"k")
        os.setxattr(upper / "opaque", "trusted.overlay.opaque", b"y")
        os.mknod(upper / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
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
    with packed_by_child(lambda out: write_upper_tar(upper, out, share_with=dest), "test") as raw:
        tar = HashingReader(raw)
        unpack_layer(as_binary(tar), dest, recorder, shared_writes=True)
        tar.drain()
    assert recorder.finish()
    return tar.hasher.digest().hex


def written_by_packer(tar: bytes) -> list[str]:
    rule = SharedWrites()
    reader = TarReader(io.BytesIO(tar))
    names = []
    for member in reader:
        if member.kind == tarfile.REGTYPE and rule.packer_writes(member.name, member.size):
            names.append(member.name)
        for _ in reader.data():
            pass
    return names


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
    by_packer = written_by_packer(expected_tar)
    assert "many/f2" in by_packer and len(by_packer) > 20  # the packer did its half
    assert not any("/.wh." in f"/{name}" for name in by_packer)
    with TarSplitReader(tmp_path / "record.gz", split) as again:
        assert b"".join(iter(lambda: again.read(1 << 20), b"")) == expected_tar


def test_a_file_the_packer_did_not_write_fails_the_unpack(tmp_path: Path) -> None:
    upper, dest = tmp_path / "upper", tmp_path / "dest"
    upper.mkdir()
    dest.mkdir()
    for index in range(4):
        (upper / f"f{index}").write_bytes(b"data")
    out = io.BytesIO()
    write_upper_tar(upper, out)  # no share_with: the packer wrote nothing
    with pytest.raises(StoreError, match="the packer did not write 'f1'"):
        unpack_layer(io.BytesIO(out.getvalue()), dest, shared_writes=True)
