"""Write a directory tree as a tar: an overlay upperdir as an OCI layer, or any tree.

Output is deterministic for a given tree: entries in lexical order (parents
first, as Go's filepath.Walk gives them), PAX format, mtimes truncated to
seconds and no user or group names, as docker writes layers. Hard links
within the tree become tar hard links to the first path seen.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import StoreError
from dockyard.layer.whiteouts import (
    OPAQUE_MARKER,
    OVERLAY_XATTR_PREFIX,
    WHITEOUT_PREFIX,
    is_opaque,
    is_whiteout,
)

_COPY_BUFFER = 1 << 20
_TYPES = {
    stat.S_IFREG: tarfile.REGTYPE,
    stat.S_IFDIR: tarfile.DIRTYPE,
    stat.S_IFLNK: tarfile.SYMTYPE,
    stat.S_IFCHR: tarfile.CHRTYPE,
    stat.S_IFBLK: tarfile.BLKTYPE,
    stat.S_IFIFO: tarfile.FIFOTYPE,
}


def write_upper_tar(upper: Path, out: BinaryIO) -> None:
    """An overlayfs upperdir as an OCI layer tar: whiteout devices become
    ``.wh.<name>``, opaque directories get a ``.wh..wh..opq`` entry."""
    _TreeWriter(out, overlay=True).write(os.fspath(upper), "")


def write_dir_tar(src: Path, out: BinaryIO, *, arcname: str = "") -> None:
    """Any directory as a tar of its contents (``docker export``); with ``arcname``
    the directory itself is the top entry under that name (``docker cp``)."""
    writer = _TreeWriter(out, overlay=False)
    writer.write(os.fspath(src), arcname.strip("/"))


class _TreeWriter:
    def __init__(self, out: BinaryIO, overlay: bool) -> None:
        self.out = out
        self.overlay = overlay
        self.first_link: dict[tuple[int, int], str] = {}

    def write(self, top: str, arcname: str) -> None:
        try:
            with tarfile.open(
                fileobj=self.out,
                mode="w|",
                format=tarfile.PAX_FORMAT,
                bufsize=_COPY_BUFFER,
            ) as tar:
                tar.copybufsize = _COPY_BUFFER  # type: ignore[attr-defined]  # missing in typeshed
                if arcname:
                    self._add(tar, top, arcname, os.lstat(top))
                self._walk(tar, top, arcname)
        except OSError as exc:
            raise StoreError(f"cannot archive {top}: {exc}") from exc

    def _walk(self, tar: tarfile.TarFile, directory: str, prefix: str) -> None:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            name = f"{prefix}/{entry.name}" if prefix else entry.name
            info = entry.stat(follow_symlinks=False)
            self._add(tar, entry.path, name, info)
            if stat.S_ISDIR(info.st_mode):
                self._walk(tar, entry.path, name)

    def _add(self, tar: tarfile.TarFile, path: str, name: str, info: os.stat_result) -> None:
        kind = _TYPES.get(stat.S_IFMT(info.st_mode))
        if kind is None:
            return  # sockets cannot be archived; docker skips them too
        header = _header(name, info, kind)
        if self.overlay and is_whiteout(info):
            parent, _, base = name.rpartition("/")
            header.name = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base
            header.type, header.mode, header.devmajor = tarfile.REGTYPE, 0o600, 0
            tar.addfile(header)
            return
        header.pax_headers = _xattrs(path)
        if kind == tarfile.SYMTYPE:
            header.linkname = os.readlink(path)
        elif kind == tarfile.REGTYPE and info.st_nlink > 1:
            first = self.first_link.setdefault((info.st_dev, info.st_ino), name)
            if first != name:
                header.type, header.linkname = tarfile.LNKTYPE, first
        if header.type == tarfile.REGTYPE:
            header.size = info.st_size
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with open(fd, "rb", buffering=0) as data:
                tar.addfile(header, data)
        else:
            tar.addfile(header)
        if self.overlay and kind == tarfile.DIRTYPE and is_opaque(path):
            tar.addfile(_opaque_marker(header))


def _header(name: str, info: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    header = tarfile.TarInfo(name)
    header.type = kind
    header.mode = stat.S_IMODE(info.st_mode)
    header.uid, header.gid = info.st_uid, info.st_gid
    header.uname = header.gname = ""
    header.mtime = int(info.st_mtime)  # docker truncates to seconds
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        header.devmajor, header.devminor = os.major(info.st_rdev), os.minor(info.st_rdev)
    return header


def _opaque_marker(directory: tarfile.TarInfo) -> tarfile.TarInfo:
    """The ``.wh..wh..opq`` entry docker writes for an opaque directory."""
    marker = tarfile.TarInfo(f"{directory.name.rstrip('/')}/{OPAQUE_MARKER}")
    marker.mode = directory.mode & 0o777
    marker.uid, marker.gid = directory.uid, directory.gid
    marker.uname = marker.gname = ""
    marker.mtime = directory.mtime
    return marker


def _xattrs(path: str) -> dict[str, str]:
    """``SCHILY.xattr.*`` PAX records; binary values survive via surrogateescape."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    records = {}
    for key in sorted(names):
        if key.startswith(OVERLAY_XATTR_PREFIX):
            continue  # overlayfs bookkeeping; opacity is written as a marker entry
        value = os.getxattr(path, key, follow_symlinks=False)
        records[f"SCHILY.xattr.{key}"] = value.decode("utf-8", "surrogateescape")
    return records
