"""Building tars entry by entry and snapshotting trees, for the layer tests."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = os.geteuid() == 0
NEEDS_ROOT = "needs root (mknod, chown, trusted.* xattrs, overlayfs)"


@dataclass
class Entry:
    """One tar member to write; ``kind`` is a tarfile type flag."""

    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000
    devmajor: int = 0
    devminor: int = 0
    pax: dict[str, str] = field(default_factory=dict)


def file(name: str, data: bytes = b"", mode: int = 0o644, mtime: int = 1_600_000_000) -> Entry:
    return Entry(name, tarfile.REGTYPE, data, mode=mode, mtime=mtime)


def directory(name: str, mode: int = 0o755, mtime: int = 1_600_000_000) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=mode, mtime=mtime)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.LNKTYPE, linkname=target)


def tar_bytes(*entries: Entry, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.linkname = entry.linkname
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.mtime = entry.mtime
            info.devmajor, info.devminor = entry.devmajor, entry.devminor
            info.pax_headers = dict(entry.pax)
            if entry.kind == tarfile.REGTYPE:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
    return out.getvalue()


def snapshot(top: Path, exclude: Path | None = None) -> dict[str, tuple[object, ...]]:
    """Everything observable about a tree: type, mode, owner, size, times, links, xattrs, data."""
    result: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if exclude is not None and Path(dirpath) == exclude.parent:
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) != exclude]
        for name in [".", *dirnames, *filenames]:
            path = Path(dirpath, name)
            result[str(path.relative_to(top))] = describe(path)
    return result


def describe(path: Path) -> tuple[object, ...]:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        content: object = os.readlink(path)
    elif stat.S_ISREG(info.st_mode):
        content = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        content = info.st_rdev
    try:
        xattrs = sorted(
            (k, os.getxattr(path, k, follow_symlinks=False))
            for k in os.listxattr(path, follow_symlinks=False)
        )
    except OSError:
        xattrs = []
    mtime = info.st_mtime_ns
    return (info.st_mode, info.st_uid, info.st_gid, info.st_nlink, mtime, content, xattrs)


def tree(top: Path) -> dict[str, tuple[object, ...]]:
    """A layer directory's content, with hard links shown as shared inode groups."""
    result: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            info = os.lstat(path)
            result[str(path.relative_to(top))] = (*describe(path), info.st_ino)
    inodes = sorted({v[-1] for v in result.values()}, key=str)
    names = {ino: min(k for k, v in result.items() if v[-1] == ino) for ino in inodes}
    return {k: (*v[:-1], names[v[-1]]) for k, v in result.items()}
