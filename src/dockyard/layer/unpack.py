"""Unpack a layer tar into its own directory, ready to be an overlayfs lowerdir.

Docker's overlay2 semantics: ``.wh.<name>`` becomes a whiteout device,
``.wh..wh..opq`` an opaque directory; later entries replace earlier ones; a
directory entry over an existing directory merges. Nothing is ever written
outside the directory: names are cleaned (see ``safepath``), every directory
on the way is resolved inside it, and each file is created with ``O_EXCL`` /
``mkdir`` / ``symlink`` / ``link`` after removing what was there, so a symlink
at the last component is replaced, never followed.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from dockyard.errors import DockyardError, InvalidArchive, StoreError, UnsafeTarEntry
from dockyard.layer.safepath import LayerRoot, clean_name
from dockyard.layer.shared import SharedLayer
from dockyard.layer.tarsplit import TarSplitRecorder
from dockyard.layer.tarstream import TarMember, TarReader
from dockyard.layer.whiteouts import (
    OPAQUE_MARKER,
    OVERLAY_XATTR_PREFIX,
    WHITEOUT_META_PREFIX,
    WHITEOUT_PREFIX,
    make_whiteout,
    set_opaque,
)

_T = TypeVar("_T")


def _process_umask() -> int:
    """The umask, read without setting it (os.umask would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o777  # unknown: assume the worst, every file gets its chmod

_DEFAULT_ACL = "system.posix_acl_default"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DEVICE_TYPES = {tarfile.CHRTYPE: stat.S_IFCHR, tarfile.BLKTYPE: stat.S_IFBLK}
# Failures of the disk rather than of the archive.
_STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


@dataclass(frozen=True)
class UnpackStats:
    """``size`` is docker's layer size: file and symlink bytes, hard links counted once."""

    size: int
    entries: int


def unpack_layer(
    tar_stream: BinaryIO,
    dest: Path,
    recorder: TarSplitRecorder | None = None,
    *,
    shared: SharedLayer | None = None,
) -> UnpackStats:
    """Unpack an uncompressed tar read forward-only from ``tar_stream`` into ``dest``.

    ``dest`` must exist and be empty. The stream is read to its end so that a
    hashing reader sees every byte. A ``recorder`` collects what it needs to rebuild
    the exact tar from ``dest`` later (see ``tarsplit``). Raises ``InvalidArchive``
    (``UnsafeTarEntry`` for entries that try to leave ``dest``); on error the caller
    removes ``dest``. With ``shared`` (whose ``diff`` is ``dest``) the packer writes some
    of the files itself before sending their entries (see ``layer.shared``): those it
    marked are recorded, not written again.
    """
    reader = TarReader(tar_stream, recorder)
    unpacker = _Unpacker(LayerRoot(os.fspath(dest)), reader, recorder, shared)
    name = ""
    try:
        for member in reader:
            name = member.name
            unpacker.apply(member)
        unpacker.finish()
    except OSError as exc:
        raise _failure(name, exc) from exc
    except (ValueError, OverflowError) as exc:
        # A NUL in a name, an owner or time no syscall can take: the archive is bad.
        raise InvalidArchive(f"invalid tar entry {name!r}: {exc}") from exc
    reader.drain()
    return UnpackStats(size=unpacker.size, entries=unpacker.entries)


class FileMaker:
    """Makes a layer's regular files as the unpacker does (content, owner, xattrs, mode,
    time); commit's packer uses it for the files it writes itself (see ``shared``)."""

    def __init__(self, root: LayerRoot) -> None:
        self.root = root
        self.as_root = os.geteuid() == 0
        self.umask = _process_umask()
        # What a new file's owner already is, so chown can be skipped: the creator's
        # ids, unless a set-group-ID root hands its group down.
        setgid = os.stat(root.root).st_mode & stat.S_ISGID
        self.born_as = None if setgid else (os.geteuid(), os.getegid())
        # Below a default ACL the umask plays no part: every file gets its chmod.
        try:
            os.getxattr(root.root, _DEFAULT_ACL)
            self.inherits_acl = True
        except OSError:
            self.inherits_acl = False

    def _born_mode(self, member: TarMember) -> int:
        # Born with its final mode where the umask keeps it whole: one chmod less per
        # file, which counts in layers of many small files.
        # (Not for files with xattrs that are read-only for their owner: setxattr
        # checks the inode's mode, so they are set while it is still 0o600.)
        mode = member.mode & 0o7777
        fast = mode & ~self.umask == mode and not mode & 0o7000 and not self.inherits_acl
        return mode if fast and (mode & 0o200 or not member.xattrs) else 0o600

    def create(self, path: str, member: TarMember) -> int:
        """A new file at ``path`` (never through a symlink), open for ``fill``."""
        return os.open(path, _CREATE, self._born_mode(member))

    def fill(self, fd: int, member: TarMember, chunks: Iterable[bytes | memoryview]) -> None:
        """Write the content, then the owner, xattrs, mode and time; closes ``fd``."""
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
            mode = member.mode & 0o7777
            owned = self.as_root and (member.uid, member.gid) != self.born_as
            if owned:
                os.chown(fd, member.uid, member.gid)
            _set_xattrs(fd, member)
            if owned or self._born_mode(member) != mode:
                os.chmod(fd, mode)  # after chown, which clears setuid
            os.utime(fd, ns=(member.mtime_ns, member.mtime_ns))
        finally:
            os.close(fd)


class _Unpacker:
    def __init__(
        self,
        root: LayerRoot,
        reader: TarReader,
        recorder: TarSplitRecorder | None,
        shared: SharedLayer | None,
    ) -> None:
        self.root = root
        self.reader = reader
        self.recorder = recorder
        self.shared = shared
        self.files = FileMaker(root)
        self.as_root = self.files.as_root
        self.size = 0
        self.entries = 0
        # Directory modes and times are set last: writing into a directory
        # changes its mtime, and a read-only mode would stop a non-root unpack.
        self.dir_attrs: dict[str, tuple[int, int]] = {}
        # Default ACLs too: a file made below one would inherit what its entry lacks.
        self.default_acls: dict[str, bytes] = {}
        self.writers: dict[bytes, Callable[[str, TarMember], None]] = {
            tarfile.REGTYPE: self._file,
            tarfile.DIRTYPE: self._dir,
            tarfile.SYMTYPE: self._symlink,
            tarfile.LNKTYPE: self._hardlink,
            tarfile.FIFOTYPE: self._special,
            tarfile.CHRTYPE: self._special,
            tarfile.BLKTYPE: self._special,
        }

    def apply(self, member: TarMember) -> None:
        self.entries += 1
        rel = clean_name(member.name)
        if not rel:
            return  # the root itself: docker leaves the directory as it is
        base = rel.rpartition("/")[2]
        if rel.startswith(WHITEOUT_META_PREFIX) or (
            base.startswith(WHITEOUT_META_PREFIX) and base != OPAQUE_MARKER
        ):
            return  # aufs bookkeeping, meaningless here
        writer = self.writers.get(member.kind)
        if writer is None:
            raise InvalidArchive(f"tar entry {member.name!r} has unsupported type {member.kind!r}")
        parent = self.root.parent_dir(rel)
        if base == OPAQUE_MARKER:
            self._opaque(parent)
        elif base.startswith(WHITEOUT_PREFIX):
            self._whiteout(_child(parent, base[len(WHITEOUT_PREFIX) :]), member)
        else:
            writer(_child(parent, base), member)

    def finish(self) -> None:
        for rel, acl in self.default_acls.items():
            if self.root.is_dir(rel):
                _set_xattr(self.root.join(rel), _DEFAULT_ACL, acl)
        for rel, (mode, mtime_ns) in self.dir_attrs.items():
            if self.root.is_dir(rel):  # not replaced by a later entry
                path = self.root.join(rel)
                os.chmod(path, mode)
                os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    def _file(self, rel: str, member: TarMember) -> None:
        if self.shared is not None and self.shared.written_by_packer(self.entries - 1, member.name):
            self._written_by_packer(rel, member)
            return
        path = self.root.join(rel)
        fd = self._replacing(rel, lambda: self.files.create(path, member))
        if self.recorder is not None:
            self.recorder.file(rel, member.size)
        self.files.fill(fd, member, self.reader.data())
        self.size += member.size

    def _written_by_packer(self, rel: str, member: TarMember) -> None:
        """A file the packer wrote before it sent the entry: only recorded."""
        if self.recorder is not None:
            self.recorder.file(rel, member.size)
        for _ in self.reader.data():
            pass
        self.size += member.size

    def _dir(self, rel: str, member: TarMember) -> None:
        path = self.root.join(rel)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            if not (self.root.is_dir(rel) or stat.S_ISDIR(os.lstat(path).st_mode)):
                self._remove(rel)
                os.mkdir(path, 0o755)
        self.root.add_dir(rel)  # an existing directory merges with the entry
        self._owner(path, member)
        acl = member.xattrs.get(_DEFAULT_ACL)
        if acl is not None:
            self.default_acls[rel] = acl
            member.xattrs = {k: v for k, v in member.xattrs.items() if k != _DEFAULT_ACL}
        self._xattrs(path, member)
        self.dir_attrs[rel] = (member.mode & 0o7777, member.mtime_ns)

    def _symlink(self, rel: str, member: TarMember) -> None:
        path = self.root.join(rel)
        self._replacing(rel, lambda: os.symlink(member.linkname, path))
        self.size += len(os.fsencode(member.linkname))
        self._owner(path, member)
        self._xattrs(path, member)
        os.utime(path, ns=(member.mtime_ns, member.mtime_ns), follow_symlinks=False)

    def _hardlink(self, rel: str, member: TarMember) -> None:
        target_rel = clean_name(member.linkname)  # refuses ../ escapes
        found = self.root.lookup(target_rel) if target_rel else None
        target = self.root.join(found) if found else None
        if target is None or not os.path.lexists(target):
            raise UnsafeTarEntry(
                f"hard link {member.name!r} -> {member.linkname!r}: target is not in the layer"
            )
        if stat.S_ISDIR(os.lstat(target).st_mode):
            raise InvalidArchive(f"hard link {member.name!r} -> {member.linkname!r} is a directory")
        path = self.root.join(rel)
        # Metadata stays the target's, as GNU tar does: the inode is shared.
        self._replacing(rel, lambda: os.link(target, path, follow_symlinks=False))

    def _special(self, rel: str, member: TarMember) -> None:
        if member.kind == tarfile.FIFOTYPE:
            kind = stat.S_IFIFO
        elif self.as_root:
            kind = _DEVICE_TYPES[member.kind]
        else:
            return  # devices need CAP_MKNOD; docker skips them in user namespaces too
        path = self.root.join(rel)
        device = os.makedev(member.devmajor, member.devminor)
        self._replacing(rel, lambda: os.mknod(path, kind | 0o600, device))
        self._owner(path, member)
        self._xattrs(path, member)
        os.chmod(path, member.mode & 0o7777)
        os.utime(path, ns=(member.mtime_ns, member.mtime_ns), follow_symlinks=False)

    def _whiteout(self, rel: str, member: TarMember) -> None:
        if rel.rpartition("/")[2] in ("", ".", ".."):
            raise InvalidArchive(f"invalid whiteout {member.name!r}")
        path = self.root.join(rel)
        try:
            self._replacing(rel, lambda: make_whiteout(path))
        except PermissionError as exc:
            raise StoreError("unpacking a layer with whiteouts needs root (CAP_MKNOD)") from exc
        self._owner(path, member)
        os.utime(path, ns=(member.mtime_ns, member.mtime_ns), follow_symlinks=False)

    def _opaque(self, parent: str) -> None:
        try:
            set_opaque(self.root.join(parent))
        except PermissionError as exc:
            raise StoreError("unpacking an opaque directory needs root (trusted.* xattrs)") from exc

    def _replacing(self, rel: str, create: Callable[[], _T]) -> _T:
        """Run ``create``; if something is in the way, remove it and run it again."""
        try:
            return create()
        except FileExistsError:
            self._remove(rel)
        return create()

    def _remove(self, rel: str) -> None:
        if self.recorder is not None:
            self.recorder.removed(rel)
        path = self.root.join(rel)
        if stat.S_ISDIR(os.lstat(path).st_mode):
            shutil.rmtree(path)  # never follows symlinks
            self.root.forget(rel)
        else:
            os.unlink(path)

    def _owner(self, path: str, member: TarMember) -> None:
        if self.as_root:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)

    def _xattrs(self, target: str, member: TarMember) -> None:
        _set_xattrs(target, member)


def _set_xattrs(target: int | str, member: TarMember) -> None:
    for key, value in member.xattrs.items():
        if not key.startswith(OVERLAY_XATTR_PREFIX):  # only whiteouts may steer overlayfs
            _set_xattr(target, key, value)


def _set_xattr(target: int | str, key: str, value: bytes) -> None:
    try:
        if isinstance(target, int):
            os.setxattr(target, key, value)
        else:
            os.setxattr(target, key, value, follow_symlinks=False)
    except PermissionError:
        pass  # docker ignores EPERM too (e.g. trusted.* without root)


def _child(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _write_all(fd: int, chunk: bytes | memoryview) -> None:
    while chunk:
        chunk = chunk[os.write(fd, chunk) :]


def _failure(name: str, exc: OSError) -> DockyardError:
    message = f"cannot unpack {name!r}: {exc.strerror or exc}"
    if exc.errno in _STORE_ERRNOS:
        return StoreError(message)
    return InvalidArchive(message)
