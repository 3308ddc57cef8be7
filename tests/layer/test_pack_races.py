"""The packer under a tree that changes while it reads it (``commit --no-pause`` of a
running container), a tree deeper than the descriptors left, and a reader that fails."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine.pack_child import packed_by_child
from dockyard.layer import pack
from dockyard.layer.pack import write_upper_tar

from .helpers import NEEDS_ROOT, ROOT


@pytest.fixture
def alarm() -> Iterator[None]:
    """A packer stuck in open() fails the test instead of hanging it."""

    def stuck(_signum: int, _frame: object) -> None:
        raise TimeoutError("the packer blocked")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _swap(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "whiteout":
        os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
    else:
        os.symlink("a", path)


@pytest.mark.parametrize(
    ("kind", "tar_type"),
    [
        ("fifo", tarfile.FIFOTYPE),
        pytest.param(
            "whiteout", tarfile.REGTYPE, marks=pytest.mark.skipif(not ROOT, reason=NEEDS_ROOT)
        ),
        ("symlink", tarfile.SYMTYPE),
    ],
)
def test_a_file_replaced_after_the_listing_is_archived_as_what_it_became(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alarm: None, kind: str, tar_type: bytes
) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    original = pack._TreeWriter._file

    def swap_b_while_a_is_read(
        self: pack._TreeWriter, fd: int, name: bytes, info: os.stat_result, share: bool
    ) -> None:
        if name == b"a":  # the container replaces b meanwhile
            _swap(tmp_path / "b", kind)
        original(self, fd, name, info, share)

    monkeypatch.setattr(pack._TreeWriter, "_file", swap_b_while_a_is_read)
    out = io.BytesIO()
    write_upper_tar(tmp_path, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        members = {m.name: m.type for m in tar}
    name = ".wh.b" if kind == "whiteout" else "b"  # a whiteout device is a deletion
    assert members == {"a": tarfile.REGTYPE, name: tar_type}


def test_a_tree_deeper_than_the_descriptors_left_is_archived_by_path(tmp_path: Path) -> None:
    script = """
import io, os, resource, sys
from pathlib import Path
from dockyard.layer.pack import write_upper_tar
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
out = io.BytesIO()
write_upper_tar(Path(sys.argv[1]), out)
sys.stdout.buffer.write(out.getvalue())
"""
    deep = tmp_path / "top"
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY)
    for _ in range(150):  # more levels than descriptors
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    with open(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "wb") as bottom:
        bottom.write(b"deep")
    os.close(fd)
    done = subprocess.run([sys.executable, "-c", script, str(deep)], capture_output=True,
                          check=True)  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        members = tar.getmembers()
    assert len(members) == 151
    assert members[-1].name == "/".join(["d"] * 150 + ["f"]) and members[-1].size == 4


def test_the_readers_own_error_is_not_masked_by_the_packers_broken_pipe(tmp_path: Path) -> None:
    """commit's bad ``-c`` fails the reader while the packer sends a large file."""
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "big").write_bytes(os.urandom(8 << 20))  # sent with sendfile, past the pipe
    packing = packed_by_child(lambda out: write_upper_tar(upper, out), "test")
    with pytest.raises(ValueError, match="bad -c"), packing as stream:
        stream.read(1)
        raise ValueError("bad -c")


def test_a_file_under_a_lease_is_waited_for(tmp_path: Path, alarm: None) -> None:
    """O_NONBLOCK makes opening a file another process holds a write lease on fail with
    EAGAIN: the packer opens it again, waiting for the holder to let go."""
    script = """
import fcntl, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
signal.signal(signal.SIGIO, lambda *_: fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK))
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print("leased", flush=True)
time.sleep(30)
"""
    (tmp_path / "leased").write_bytes(b"data")
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "leased")],
                              stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"leased\n"
        out = io.BytesIO()
        write_upper_tar(tmp_path, out)
    finally:
        holder.kill()
        holder.wait()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        member = tar.extractfile("leased")
        assert member is not None and member.read() == b"data"
