"""Spawning the runtime binary with posix_spawn: no ``subprocess`` import on ``run``.

``subprocess`` costs ~5 ms to import and a fork of the Python process; posix_spawn
(vfork+exec in glibc) costs neither.
"""

from __future__ import annotations

import os
import select
import signal
from collections.abc import Sequence


def spawn(
    argv: Sequence[str],
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    setsid: bool = False,
) -> int:
    """Start ``argv`` with the given fds as its stdio (``None`` inherits ours); return its pid.

    Only fds 0-2 are passed: Python opens every other fd close-on-exec.
    """
    actions = [
        (os.POSIX_SPAWN_DUP2, fd, target)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2))
        if fd is not None and fd != target
    ]
    # Python ignores SIGPIPE and SIGXFSZ; a child (and the container) must not inherit that.
    return os.posix_spawn(
        argv[0],
        list(argv),
        os.environ,
        file_actions=actions,
        setsid=setsid,
        setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
    )


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the code, or 128 + the signal."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def wait(pid: int) -> int:
    """Wait for a child and return its shell-style exit code (EINTR-safe via PEP 475)."""
    _, status = os.waitpid(pid, 0)
    return exit_code(status)


def run_captured(
    argv: Sequence[str], *, stdin: int | None = None, setsid: bool = False
) -> tuple[int, bytes, bytes]:
    """Run ``argv`` to completion; return (exit code, stdout, stderr)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = spawn(argv, stdin=stdin, stdout=out_w, stderr=err_w, setsid=setsid)
    finally:
        os.close(out_w)
        os.close(err_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    open_fds = [out_r, err_r]
    while open_fds:
        ready, _, _ = select.select(open_fds, [], [])
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                open_fds.remove(fd)
                os.close(fd)
    return wait(pid), b"".join(chunks[out_r]), b"".join(chunks[err_r])
