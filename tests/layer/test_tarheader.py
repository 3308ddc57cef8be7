"""entry_header writes what tarfile writes (PAX format); the writer's output paths agree."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from dockyard.layer.pack import write_dir_tar
from dockyard.layer.tarheader import entry_header

Case = tuple[str, bytes, int, int, int, int, int, str, tuple[int, int], dict[str, str]]
CASES: list[Case] = [
    ("etc/hosts", tarfile.REGTYPE, 0o644, 0, 0, 5, 1_500_000_000, "", (0, 0), {}),
    ("etc/", tarfile.DIRTYPE, 0o40755, 1000, 1000, 0, 1_500_000_000, "", (0, 0), {}),
    ("bin/su", tarfile.REGTYPE, 0o104755, 0, 0, 2, 0, "", (0, 0), {"SCHILY.xattr.user.a": "b"}),
    ("link", tarfile.SYMTYPE, 0o777, 0, 0, 0, 1, "/etc/hosts", (0, 0), {}),
    ("hard", tarfile.LNKTYPE, 0o644, 0, 0, 0, 1, "etc/hosts", (0, 0), {}),
    ("dev/null", tarfile.CHRTYPE, 0o666, 0, 0, 0, 1, "", (1, 3), {}),
    ("dev/sda", tarfile.BLKTYPE, 0o660, 0, 6, 0, 1, "", (8, 0), {}),
    ("fifo", tarfile.FIFOTYPE, 0o600, 0, 0, 0, 1, "", (0, 0), {}),
    ("d" * 99 + "/" + "f" * 150, tarfile.REGTYPE, 0o644, 0, 0, 1, 1, "", (0, 0), {}),
    ("l", tarfile.SYMTYPE, 0o777, 0, 0, 0, 1, "t" * 101, (0, 0), {}),
    ("héllo", tarfile.REGTYPE, 0o644, 0, 0, 1, 1, "wörld", (0, 0), {}),
    (os.fsdecode(b"bad\xff"), tarfile.REGTYPE, 0o644, 0, 0, 1, 1, "", (0, 0), {}),
    ("big", tarfile.REGTYPE, 0o644, 3_000_000, 8**7, 8**11, -5, "", (0, 0), {}),
    ("x", tarfile.REGTYPE, 0o644, 0, 0, 1, 1, "", (0, 0), {"SCHILY.xattr.user.bin": "\udcff\x00"}),
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_header_matches_tarfile(case: Case) -> None:
    name, kind, mode, uid, gid, size, mtime, linkname, device, pax = case
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
    info.size, info.mtime, info.linkname = size, mtime, linkname
    info.devmajor, info.devminor = device
    info.uname = info.gname = ""
    info.pax_headers = dict(pax)
    expected = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    records = [(os.fsencode(k), os.fsencode(v)) for k, v in pax.items()]
    encoded = os.fsencode(name)
    got = entry_header(
        encoded, kind, mode, uid, gid, size, mtime, os.fsencode(linkname), device, records
    )
    assert got == expected


def make_tree(top: Path) -> None:
    (top / "small").mkdir(parents=True)
    for i in range(50):
        (top / "small" / f"f{i}").write_bytes(b"%d\n" % i)
    (top / "large").write_bytes(os.urandom(3 << 20))  # sent with sendfile to a pipe or file
    os.link(top / "large", top / "large.link")


def test_pipe_file_and_memory_outputs_agree(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src)
    memory = io.BytesIO()
    write_dir_tar(src, memory)

    with open(tmp_path / "out.tar", "wb") as out:
        write_dir_tar(src, out)
    assert (tmp_path / "out.tar").read_bytes() == memory.getvalue()

    read_fd, write_fd = os.pipe()
    received: list[bytes] = []

    def drain() -> None:
        with open(read_fd, "rb") as pipe_out:
            received.append(pipe_out.read())

    reader = threading.Thread(target=drain)
    reader.start()
    with open(write_fd, "wb", buffering=1 << 20) as pipe:
        write_dir_tar(src, pipe)
    reader.join()
    assert received[0] == memory.getvalue()

    with tarfile.open(fileobj=io.BytesIO(memory.getvalue())) as tar:
        large = tar.extractfile("large")
        assert large is not None and large.read() == (src / "large").read_bytes()
    assert len(memory.getvalue()) % (20 * 512) == 0
