"""Copy-up: fill an empty volume with what the image has at the mount's destination.

As docker's ``CopyImagePathContent``: only into an empty volume, owners, modes,
times, xattrs, symlinks, hard links and device nodes kept, and the volume's root
takes the owner and mode of the image's directory.  The destination is resolved
*inside* the container's root (``resolve_in_root``): a symlink in the image, even
an absolute one or one full of ``..``, can never make us read the host's files.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
from pathlib import Path

from dockyard.errors import StoreError
from dockyard.runtime.rootpath import resolve_in_root


def _copy_xattrs(source: str, target: str) -> None:
    try:
        names = os.listxattr(source, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue  # overlayfs' own bookkeeping, meaningless outside it
        try:
            value = os.getxattr(source, name, follow_symlinks=False)
            os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                raise


def _copy_metadata(source: str, target: str, st: os.stat_result) -> None:
    os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(target, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid
    _copy_xattrs(source, target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_entry(
    source: str, target: str, st: os.stat_result, links: dict[tuple[int, int], str]
) -> None:
    mode = st.st_mode
    key = (st.st_dev, st.st_ino)
    if not stat.S_ISDIR(mode) and st.st_nlink > 1 and key in links:
        os.link(links[key], target)
        return
    if stat.S_ISREG(mode):
        shutil.copyfile(source, target, follow_symlinks=False)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        os.mknod(target, mode, st.st_rdev)
    else:
        return  # sockets are not copied (as tar does not)
    links[key] = target
    _copy_metadata(source, target, st)


def _copy_tree(source: str, target: str, links: dict[tuple[int, int], str]) -> None:
    for entry in os.scandir(source):
        st = entry.stat(follow_symlinks=False)
        destination = posixpath.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(destination, 0o700)
            _copy_tree(entry.path, destination, links)
            _copy_metadata(entry.path, destination, st)  # times last: copying changes them
        else:
            _copy_entry(entry.path, destination, st, links)


def copy_up(rootfs: Path, destination: str, volume: Path) -> bool:
    """Copy the image's content at ``destination`` into ``volume`` if the volume is empty.

    True if anything was copied; nothing happens when the image has no directory there.
    """
    source = resolve_in_root(rootfs, destination)
    if not source.is_dir() or source.is_symlink() or any(volume.iterdir()):
        return False
    try:
        _copy_tree(str(source), str(volume), {})
        _copy_metadata(str(source), str(volume), os.lstat(source))
    except OSError as exc:
        raise StoreError(f"copying {destination} into its volume: {exc}") from exc
    return True
