"""Thin ctypes wrappers for the few syscalls the stdlib lacks: mount, umount2, prctl.

Calling libc directly keeps ``run`` free of an extra ``mount`` process (a fork+exec
costs a few milliseconds; the syscall costs microseconds).
"""

from __future__ import annotations

import ctypes
import os

MS_RDONLY = 1
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    """mount(2); raises OSError with the errno on failure."""
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()),
        f"mount {target}",
    )


def umount(target: str, flags: int = 0) -> None:
    """umount2(2); raises OSError with the errno on failure."""
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def set_child_subreaper() -> None:
    """Make orphaned descendants (a detached container's init) our children to reap."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
_libc.unshare.argtypes = [ctypes.c_int]


CLONE_NEWNS = 0x00020000
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18


def unshare_mounts() -> None:
    """Move the calling process (single-threaded) into a mount namespace of its own whose
    mounts propagate nowhere: what it mounts then goes with it."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    mount("none", "/", "", MS_REC | MS_PRIVATE, "")


def bind_mount(source: str, target: str, read_only: bool = False) -> None:
    """``mount --rbind source target``; read-only if asked. A read-only one is made
    read-only first, on a private staging directory, and then bound onto ``target``
    (a bind keeps the flag): never remounted by a path someone could swap."""
    if not read_only:
        mount(source, target, "", MS_BIND | MS_REC, "")
        return
    import tempfile

    directory = os.path.isdir(source)
    if directory:
        staging = tempfile.mkdtemp(prefix="dockyard-ro-")
    else:
        handle, staging = tempfile.mkstemp(prefix="dockyard-ro-")
        os.close(handle)
    try:
        mount(source, staging, "", MS_BIND | MS_REC, "")
        try:
            mount("none", staging, "", MS_BIND | MS_REMOUNT | MS_RDONLY, "")
            mount(staging, target, "", MS_BIND | MS_REC, "")
        finally:
            umount(staging, MNT_DETACH)
    finally:
        (os.rmdir if directory else os.unlink)(staging)


def unshare_network() -> None:
    """Move the calling process into a new, empty network namespace."""
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")


def die_with_parent(signum: int) -> None:
    """Have the kernel send ``signum`` to us when our parent exits."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
