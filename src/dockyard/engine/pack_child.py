"""A tar written by a forked child into a pipe, for the parent to read as it comes.

``commit`` packs a container's upper directory and unpacks that tar into a new layer
at the same time. Both halves are Python: on two threads they take turns on the GIL
(a 10,000-file commit used about one core of two); in two processes they run side by
side. The child runs only the packer and leaves through ``os._exit``, never touching
the parent's database. A parent with other threads packs on a thread instead: forking
it could leave the child stuck on a lock one of them held.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, NoReturn, cast

from dockyard.errors import StoreError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_PIPE_SIZE = 1 << 20  # the default pipe-max-size: fewer wake-ups than 64 KiB
_MAX_MESSAGE = 4096
_READ = 128 << 10
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def packed_by_child(pack: Callable[[BinaryIO], None], what: str) -> Iterator[BinaryIO]:
    """Run ``pack(out)`` in a forked child; yield the read end of its output.

    Leaving the block waits for the child; if it failed and the block did not, the
    child's error is raised as a StoreError naming ``what``.
    """
    if threading.active_count() > 1:
        # Forking a process with other threads can leave the child stuck on a lock one
        # of them held; here a thread does the packing instead (slower, always safe).
        with _packed_by_thread(pack, what) as stream:
            yield stream
        return
    read_fd, write_fd = os.pipe()
    error_read, error_write = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    # A Ctrl-C between fork() and the child's try: would unwind the parent's stack in
    # the child (thaw the container, remove staging): hold signals across the fork.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child(pack, parent, read_fd, write_fd, error_read, error_write, held)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)
    os.close(write_fd)
    os.close(error_write)
    stream = cast(BinaryIO, _PipeReader(read_fd))  # a raw reader, as the tar code takes
    try:
        yield stream
        while stream.read(_PIPE_SIZE):  # let the child finish if we stopped early
            pass
    except Exception as exc:
        stream.close()  # a child still writing gets EPIPE and exits
        failure = _wait(pid, error_read)
        # A child that failed on its own (an unreadable file) explains the truncated
        # tar the reader saw; one that only lost its reader does not.
        if failure is not None and not failure.startswith(BrokenPipeError.__name__):
            raise StoreError(f"cannot pack {what}: {_message(failure)}") from exc
        raise
    except BaseException:
        stream.close()
        _wait(pid, error_read)
        raise
    stream.close()
    failure = _wait(pid, error_read)
    if failure is not None:
        raise StoreError(f"cannot pack {what}: {_message(failure)}")


class _PipeReader(io.RawIOBase):
    """The child's output as it comes: a read returns what the pipe holds, so the reader
    starts on the child's first bytes instead of waiting for a whole MiB, and takes at
    most ``_READ`` at a time, so what it has yet to read stays in the pipe, where the
    packer sees how far behind it is (``layer.shared.SharedWrites``)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        return os.read(self._fd, min(size, _READ))

    def readinto(self, buffer: WriteableBuffer) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _child(pack: Callable[[BinaryIO], None], parent: int, read_fd: int, write_fd: int,
           error_read: int, error_write: int, held: set[int | signal.Signals]) -> NoReturn:
    """The forked child: pack, report, and exit without running the parent's cleanup."""
    gc.disable()  # finalizers of the parent's objects (its database) must not run here
    status = 0
    try:
        # A parent killed (kill -9) mid-commit takes the packer with it at once: it would
        # go on writing files into the staging area until its next write to the pipe.
        from dockyard.runtime import _libc

        _libc.die_with_parent(signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the line above
            raise BrokenPipeError("the commit ended")
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        _close_all_but(write_fd, error_write)
        with open(write_fd, "wb", buffering=_PIPE_SIZE) as out:
            pack(out)
    except BaseException as exc:  # noqa: BLE001 — reported to the parent
        status = 1
        report = f"{type(exc).__name__}\n{exc}".encode(errors="replace")[:_MAX_MESSAGE]
        with contextlib.suppress(OSError):
            os.write(error_write, report)
    finally:
        os._exit(status)


def _close_all_but(*kept: int) -> None:
    """Close every inherited descriptor but stdio and ``kept``: the parent's lock files
    above all (a freeze lock held by a packer that outlives a killed parent would stop
    the container being thawed), and its database."""
    low = 3
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _message(failure: str) -> str:
    """The child's report (type name, newline, message) as one line for the user."""
    kind, _, text = failure.partition("\n")
    return text or kind


@contextlib.contextmanager
def _packed_by_thread(pack: Callable[[BinaryIO], None], what: str) -> Iterator[BinaryIO]:
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb", buffering=_PIPE_SIZE) as out:
                pack(out)
        except BaseException as exc:  # noqa: BLE001 — raised by the reader below
            failure.append(exc)

    writer = threading.Thread(target=produce, name="packer")
    writer.start()
    try:
        with open(read_fd, "rb", buffering=_PIPE_SIZE) as stream:
            yield stream
            while stream.read(_PIPE_SIZE):
                pass
    except Exception as exc:
        writer.join()  # the read end is closed: a packer still writing gets EPIPE
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise StoreError(f"cannot pack {what}: {failure[0]}") from exc
        raise
    finally:
        writer.join()
    if failure:
        raise StoreError(f"cannot pack {what}: {failure[0]}") from failure[0]


def _wait(pid: int, error_read: int) -> str | None:
    """Reap the child; its report (type name, newline, message), or None if it succeeded."""
    with open(error_read, "rb") as errors:
        message = errors.read(_MAX_MESSAGE).decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return message or f"the packer died ({os.waitstatus_to_exitcode(status)})"
