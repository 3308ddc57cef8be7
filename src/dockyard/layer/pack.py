"""Write a directory tree as a tar: an overlay upperdir as an OCI layer, or any tree.

Output is deterministic for a given tree: entries in lexical order (parents
first, as Go's filepath.Walk gives them), PAX format, mtimes truncated to
seconds and no user or group names, as docker writes layers. Hard links
within the tree become tar hard links to the first path seen.

Speed matters for ``commit`` of many small files: headers are built as bytes
(``tarheader``), each stat result from ``scandir`` is used once, small files
are read with one ``read`` and gathered with their headers into 1 MiB writes,
and large ones go to a pipe or file with ``sendfile`` (no copy through Python).
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import stat
import sys
import tarfile
import termios
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import StoreError
from dockyard.layer.safepath import LayerRoot
from dockyard.layer.shared import SharedLayer, SharedWrites, shareable_names
from dockyard.layer.tarheader import BLOCK, RECORD, entry_header
from dockyard.layer.tarstream import TarMember
from dockyard.layer.unpack import FileMaker
from dockyard.layer.whiteouts import (
    OPAQUE_MARKER,
    OPAQUE_XATTR,
    OVERLAY_XATTR_PREFIX,
    WHITEOUT_PREFIX,
    is_whiteout,
)

_FLUSH_AT = 1 << 20
# The first writes are small, so the reader (commit's unpacker) starts at once instead
# of after the first MiB (~1,000 small files, 80 ms of a 10,000-file commit).
_FIRST_FLUSH_AT = 16 << 10
# Sharing writes, the packer hands its output on in smaller pieces: the bytes in the
# pipe then tell how far the unpacker lags (``SharedWrites.pace``).
_SHARED_FLUSH_AT = 128 << 10
_SENDFILE_FROM = 256 << 10  # below this, one read into the gathered write is cheaper
_TYPES = {
    stat.S_IFREG: tarfile.REGTYPE,
    stat.S_IFDIR: tarfile.DIRTYPE,
    stat.S_IFLNK: tarfile.SYMTYPE,
    stat.S_IFCHR: tarfile.CHRTYPE,
    stat.S_IFBLK: tarfile.BLKTYPE,
    stat.S_IFIFO: tarfile.FIFOTYPE,
}
# O_NONBLOCK: a FIFO put in a regular file's place meanwhile must not block the open
# (regular files ignore it).
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
# What opening a listed regular file says if it is one no longer: a symlink (ELOOP), a
# socket or a whiteout device (ENXIO, ENODEV).
_NOT_A_FILE = frozenset({errno.ELOOP, errno.ENXIO, errno.ENODEV})
_FD_DEPTH = 32
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_XATTR_KEY = b"SCHILY.xattr."
_OPAQUE_KEY = OPAQUE_XATTR.encode()
_OVERLAY_KEYS = OVERLAY_XATTR_PREFIX.encode()
_WHITEOUT = WHITEOUT_PREFIX.encode()
_MARKER = OPAQUE_MARKER.encode()


def write_upper_tar(upper: Path, out: BinaryIO, *, share: SharedLayer | None = None) -> None:
    """An overlayfs upperdir as an OCI layer tar: whiteout devices become
    ``.wh.<name>``, opaque directories get a ``.wh..wh..opq`` entry.

    With ``share`` (whose ``diff`` is the empty directory the tar is being unpacked
    into, by an unpacker given the same ``share``) every directory and some small files
    are written there too, each before its entry is sent (see ``shared``).
    """
    writer = _TreeWriter(out, overlay=True)
    if share is not None:
        writer.shared = _SharedWriter(share)
        writer.max_flush = _SHARED_FLUSH_AT
        if writer.out_fd is not None:
            writer.shared.rule = SharedWrites(_pipe_size(writer.out_fd))
    writer.write(os.fspath(upper), "")


def write_dir_tar(src: Path, out: BinaryIO, *, arcname: str = "") -> None:
    """Any directory as a tar of its contents (``docker export``); with ``arcname``
    the directory itself is the top entry under that name (``docker cp``)."""
    writer = _TreeWriter(out, overlay=False)
    writer.write(os.fspath(src), arcname.strip("/"))


class _TreeWriter:
    def __init__(self, out: BinaryIO, overlay: bool) -> None:
        self.out = out
        self.overlay = overlay
        self.first_link: dict[tuple[int, int], bytes] = {}
        self.pending = bytearray()
        self.flush_at = _FIRST_FLUSH_AT
        self.max_flush = _FLUSH_AT
        self.written = 0
        self.out_fd = _sendfile_target(out)
        self.shared: _SharedWriter | None = None
        self.entries = 0  # the index of the next entry, as the unpacker counts them

    def write(self, top: str, arcname: str) -> None:
        try:
            if arcname:
                self._add(top, os.fsencode(arcname), os.lstat(top))
            self._walk(top, os.fsencode(arcname))
            self._emit(bytes(2 * BLOCK))  # the end-of-archive marker
            self._emit(bytes(-(self.written + len(self.pending)) % RECORD))
            self._flush()
        except BrokenPipeError:
            raise  # the reader stopped reading: its own error says why
        except OSError as exc:
            raise StoreError(f"cannot archive {top}: {exc}") from exc

    def _walk(self, directory: str, prefix: bytes, share: bool = True, depth: int = 0) -> None:
        """``share``: whether the packer may write below ``directory`` (``shared``)."""
        # Entries are reached through the directory's descriptor, held while its
        # subdirectories are walked: no walk of the whole path for each entry. Deeper
        # than _FD_DEPTH levels (or out of descriptors), by path.
        dir_fd: int | None = None
        if depth < _FD_DEPTH:
            try:
                dir_fd = os.open(directory, _OPEN_DIR)
            except OSError as exc:
                if exc.errno != errno.EMFILE:
                    raise
        try:
            with os.scandir(directory if dir_fd is None else dir_fd) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
            shareable = shareable_names([e.name for e in entries]) if share and self.shared else ()
            for entry in entries:
                encoded = os.fsencode(entry.name)
                name = prefix + b"/" + encoded if prefix else encoded
                here = entry.name in shareable
                path = f"{directory}/{entry.name}"
                target = path if dir_fd is None else entry.name
                if entry.is_file(follow_symlinks=False) and self._listed_file(
                    target, dir_fd, name, here
                ):
                    continue
                # Not entry.stat(): without d_type it holds the lstat is_file made.
                info = os.stat(target, dir_fd=dir_fd, follow_symlinks=False)
                self._add(path, name, info, here)
                if stat.S_ISDIR(info.st_mode):
                    self._walk(path, name, here, depth + 1)
        finally:
            if dir_fd is not None:
                os.close(dir_fd)

    def _listed_file(self, target: str, dir_fd: int | None, name: bytes, share: bool) -> bool:
        """Archive what the listing gave as a regular file: opened, then fstat (one
        lookup of the name, not two). False if it is something else by now (a container
        committed with --no-pause changes meanwhile): then it is looked at again."""
        try:
            fd = _open_file(target, dir_fd)
        except OSError as exc:
            if exc.errno in _NOT_A_FILE:
                return False
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return False
        self._file(fd, name, info, share)
        return True

    def _add(self, path: str, name: bytes, info: os.stat_result, share: bool = False) -> None:
        kind = _TYPES.get(stat.S_IFMT(info.st_mode))
        if kind is None:
            return  # sockets cannot be archived; docker skips them too
        if self.overlay and is_whiteout(info):
            parent, _, base = name.rpartition(b"/")
            name = (parent + b"/" if parent else b"") + _WHITEOUT + base
            self._entry(_header(name, tarfile.REGTYPE, info, mode=0o600))
            return
        if kind == tarfile.REGTYPE:
            self._file(_open_file(path, None), name, info, share)
            return
        xattrs = _xattrs(path)
        if kind == tarfile.DIRTYPE and share and self.shared is not None:
            self.shared.make_dir(name)
        linkname = os.readlink(os.fsencode(path)) if kind == tarfile.SYMTYPE else b""
        header_name = name + b"/" if kind == tarfile.DIRTYPE else name
        self._entry(_header(header_name, kind, info, linkname=linkname, xattrs=xattrs))
        if self.overlay and xattrs.get(_OPAQUE_KEY) == b"y":
            marker = name + b"/" + _MARKER
            self._entry(_header(marker, tarfile.REGTYPE, info, mode=info.st_mode & 0o777))

    def _file(self, fd: int, name: bytes, info: os.stat_result, share: bool) -> None:
        """A regular file open at ``fd`` (closed here)."""
        try:
            xattrs = _xattrs(fd)
            if info.st_nlink > 1:
                first = self.first_link.setdefault((info.st_dev, info.st_ino), name)
                if first != name:
                    self._entry(_header(name, tarfile.LNKTYPE, info, linkname=first, xattrs=xattrs))
                    return
            size = info.st_size
            shared = self.shared
            if (share and shared is not None and shared.layer.can_mark(self.entries)
                    and shared.rule.packer_writes(size)):  # fmt: skip
                data = _read_exactly(fd, size)
                shared.write(self.entries, name, info, xattrs, data)  # before it is sent
                self._entry(_header(name, tarfile.REGTYPE, info, size=size, xattrs=xattrs))
                self._emit(data + bytes(-size % BLOCK))
                return
            self._entry(_header(name, tarfile.REGTYPE, info, size=size, xattrs=xattrs))
            if self.out_fd is not None and size >= _SENDFILE_FROM:
                self._send(fd, size)
            else:
                self._read(fd, size)
            self._emit(bytes(-size % BLOCK))
        finally:
            os.close(fd)

    def _read(self, fd: int, size: int) -> None:
        while size:
            data = os.read(fd, min(size, _FLUSH_AT))
            if not data:
                raise OSError(errno.EIO, "file shrank while being archived")
            self._emit(data)
            size -= len(data)

    def _send(self, fd: int, size: int) -> None:
        """Copy in the kernel; the gathered bytes go first."""
        assert self.out_fd is not None
        self._flush()
        self.out.flush()
        offset = 0
        while offset < size:
            sent = os.sendfile(self.out_fd, fd, offset, size - offset)
            if not sent:
                raise OSError(errno.EIO, "file shrank while being archived")
            offset += sent
        self.written += size

    def _entry(self, header: bytes) -> None:
        self.entries += 1
        self._emit(header)

    def _emit(self, data: bytes) -> None:
        self.pending += data
        if len(self.pending) >= self.flush_at:
            self._flush()
            self.flush_at = min(2 * self.flush_at, self.max_flush)

    def _flush(self) -> None:
        # A fresh buffer each time: the stream may keep a reference to what it is given.
        data, self.pending = self.pending, bytearray()
        if not data:
            return
        self.out.write(data)
        self.written += len(data)
        if self.flush_at < _FLUSH_AT:
            self.out.flush()  # past a buffered stream's own buffer
        if self.shared is not None and self.out_fd is not None:
            self.shared.rule.pace(_unread(self.out_fd))


class _SharedWriter:
    """The packer's half of ``shared``: directories, and the files the rule gives it."""

    def __init__(self, layer: SharedLayer) -> None:
        self.layer = layer
        self.root = LayerRoot(os.fspath(layer.diff))
        self.files = FileMaker(self.root)
        self.rule = SharedWrites()

    def make_dir(self, name: bytes) -> None:
        """Every directory, before its entry: the packer's files may go in it before the
        unpacker gets there (which then finds it and merges, as with any directory)."""
        rel = os.fsdecode(name)
        parent, _, base = rel.rpartition("/")
        path = self.root.join(f"{self.root.parent_dir(rel)}/{base}" if parent else base)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise
        self.root.add_dir(rel)

    def write(self, index: int, name: bytes, info: os.stat_result, xattrs: dict[bytes, bytes],
              data: bytes) -> None:  # fmt: skip
        """The file of entry ``index`` as the unpacker would make it from the entry
        ``_header`` builds; then the entry is marked."""
        rel = os.fsdecode(name)
        member = TarMember(
            name=rel,
            kind=tarfile.REGTYPE,
            linkname="",
            mode=info.st_mode & 0o7777,
            uid=info.st_uid,
            gid=info.st_gid,
            size=len(data),
            mtime_ns=info.st_mtime_ns // 10**9 * 10**9,  # the header keeps seconds
            devmajor=0,
            devminor=0,
            xattrs={
                os.fsdecode(key): value
                for key, value in xattrs.items()
                if not key.startswith(_OVERLAY_KEYS)
            },
        )
        parent = self.root.parent_dir(rel)
        base = rel.rpartition("/")[2]
        path = self.root.join(f"{parent}/{base}" if parent else base)
        self.files.fill(self.files.create(path, member), member, (data,))
        self.layer.mark(index, rel)


def _unread(fd: int) -> int:
    """Bytes written to the pipe (or file) ``fd`` and not yet read: 0 for a file."""
    try:
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, bytes(4)), sys.byteorder)
    except OSError:
        return 0


def _open_file(target: str, dir_fd: int | None) -> int:
    """A regular file open for reading; waits for a lease another process holds on it
    (O_NONBLOCK makes that EAGAIN) rather than fail."""
    try:
        return os.open(target, _OPEN, dir_fd=dir_fd)
    except BlockingIOError:
        return os.open(target, _OPEN & ~os.O_NONBLOCK, dir_fd=dir_fd)


def _pipe_size(fd: int) -> int:
    """The capacity of the pipe ``fd`` (1 MiB if it is no pipe: sharing is paced off)."""
    try:
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except OSError:
        return 1 << 20


def _read_exactly(fd: int, size: int) -> bytes:
    data = os.read(fd, size) if size else b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            raise OSError(errno.EIO, "file shrank while being archived")
        data += more
    return data


def _sendfile_target(out: BinaryIO) -> int | None:
    """``out``'s descriptor if bytes written there land unchanged in a pipe or file.

    Only plain file objects qualify: a compressor's ``fileno`` is its sink's.
    """
    raw = out.raw if type(out) is io.BufferedWriter else out
    if type(raw) is not io.FileIO:
        return None
    fd = raw.fileno()
    mode = os.fstat(fd).st_mode
    return fd if stat.S_ISFIFO(mode) or stat.S_ISREG(mode) else None


def _xattrs(target: str | int) -> dict[bytes, bytes]:
    """The entry's xattrs but overlayfs's own, by name; ``listxattr`` once, then values."""
    try:
        if isinstance(target, int):
            names = os.listxattr(target)
        else:
            names = os.listxattr(target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    values = {}
    for key in sorted(names):
        if "=" in key:
            continue  # a PAX record cannot carry it (Go's tar writer refuses it too)
        if isinstance(target, int):
            value = os.getxattr(target, key)
        else:
            value = os.getxattr(target, key, follow_symlinks=False)
        values[os.fsencode(key)] = value
    return values


def _header(
    name: bytes,
    kind: bytes,
    info: os.stat_result,
    *,
    mode: int | None = None,
    size: int = 0,
    linkname: bytes = b"",
    xattrs: dict[bytes, bytes] | None = None,
) -> bytes:
    """The header of one entry from its lstat result; xattrs as ``SCHILY.xattr.*`` records."""
    records = [
        (_XATTR_KEY + key, value)
        for key, value in (xattrs or {}).items()
        if not key.startswith(_OVERLAY_KEYS)  # overlayfs bookkeeping stays out of layers
    ]
    return entry_header(
        name,
        kind,
        info.st_mode if mode is None else mode,
        info.st_uid,
        info.st_gid,
        size,
        info.st_mtime_ns // 10**9,  # docker truncates to seconds
        linkname,
        (os.major(info.st_rdev), os.minor(info.st_rdev)),
        records,
    )
