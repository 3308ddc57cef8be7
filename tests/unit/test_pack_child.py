"""packed_by_child: a forked packer's output, its failures, and an early-stopping reader."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from dockyard.engine.pack_child import packed_by_child
from dockyard.errors import StoreError

DATA = os.urandom(3 << 20)


def write_data(out: BinaryIO) -> None:
    out.write(DATA)


def fail_midway(out: BinaryIO) -> None:
    out.write(DATA[:1000])
    out.flush()
    raise OSError("upper/etc/shadow: Permission denied")


def test_the_reader_gets_every_byte_the_child_wrote() -> None:
    with packed_by_child(write_data, "test data") as stream:
        assert stream.read() == DATA


def test_a_failing_child_is_reported_with_its_message() -> None:
    with (
        pytest.raises(StoreError, match=r"cannot pack the changes: .*shadow: Permission denied"),
        packed_by_child(fail_midway, "the changes") as stream,
    ):
        stream.read()


def test_an_early_stop_keeps_the_readers_error_and_does_not_hang() -> None:
    # The child is still writing (3 MiB > the pipe) when the reader gives up: closing
    # the pipe must end it, and the block must return with the reader's own error.
    with (
        pytest.raises(ValueError, match="reader gave up"),
        packed_by_child(write_data, "test data") as stream,
    ):
        stream.read(10)
        raise ValueError("reader gave up")


def test_a_parent_with_other_threads_packs_on_a_thread_instead() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with packed_by_child(write_data, "test data") as stream:
            assert stream.read() == DATA
        with (
            pytest.raises(StoreError, match=r"cannot pack the changes: .*Permission denied"),
            packed_by_child(fail_midway, "the changes") as stream,
        ):
            stream.read()
    finally:
        stop.set()
        other.join()


def fail_inside_a_file(out: BinaryIO) -> None:
    out.write(DATA[:5000])
    raise PermissionError(13, "Permission denied", "upper/etc/shadow")


def read_as_tar(stream: BinaryIO) -> None:
    if len(stream.read()) != len(DATA):
        raise StoreError("truncated tar: data of 'etc/shadow' ends early")


@pytest.mark.parametrize("threaded", [False, True])
def test_the_packers_own_failure_wins_over_the_truncation_it_caused(threaded: bool) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    if threaded:
        other.start()
    try:
        with (
            pytest.raises(StoreError, match=r"cannot pack the changes: .*Permission denied"),
            packed_by_child(fail_inside_a_file, "the changes") as stream,
        ):
            read_as_tar(stream)
    finally:
        stop.set()
        if threaded:
            other.join()


_LOCK_REPORT = """
import os, sys
from dockyard.engine.pack_child import packed_by_child
lock = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

def report_lock(out):
    try:
        os.fstat(lock)
    except OSError:
        out.write(b"closed")
    else:
        out.write(b"inherited")

with packed_by_child(report_lock, "the lock report") as stream:
    sys.stdout.write(stream.read().decode())
"""


def test_the_child_holds_none_of_the_parents_descriptors(tmp_path: Path) -> None:
    """A lock the parent holds (a container's freeze lock) must die with the parent,
    not live on in a packer that outlives it. (In a fresh interpreter: this one has
    other threads by now, and a threaded parent packs on a thread.)"""
    done = subprocess.run([sys.executable, "-c", _LOCK_REPORT, str(tmp_path / "freeze.lock")],
                          capture_output=True, text=True, check=True)
    assert done.stdout == "closed"
