"""The container root filesystem: a kernel overlayfs mount of image layers + upper/.

Layout shared with the store (as docker's overlay2):

    <layers_root>/<id>/diff     a layer, unpacked once
    <layers_root>/<id>/link     the layer's short id (26 characters)
    <layers_root>/l/<SHORT>     symlink -> ../<id>/diff

mount(2) takes its options in one page (4096 bytes); 120 lowers of absolute
``<root>/layers/<64 hex>/diff`` paths do not fit.  When the absolute form is too
long we chdir into ``<layers_root>`` and pass ``l/SHORT:l/SHORT:...`` (29 bytes a
layer), as overlay2 does.  The mount is a direct syscall (ctypes): no ``mount``
process on the ``run`` hot path.
"""

from __future__ import annotations

import _thread
import errno
import os
from collections.abc import Sequence
from pathlib import Path

from dockyard.errors import StoreError
from dockyard.removal import remove_tree
from dockyard.runtime import _libc

LINKS_DIR = "l"
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# chdir is process-wide: serialise the relative-path mounts of this process. (The
# low-level lock: ``threading`` costs ``run`` 0.6 ms to import and nothing else of it.)
_chdir_lock = _thread.allocate_lock()


def ensure_short_link(layers_root: Path, layer_id: str) -> str:
    """Return the layer's short id, creating ``l/<SHORT>`` -> ``../<id>/diff`` once.

    Safe against concurrent callers: the ``link`` file is published with link(2),
    which fails if another process won the race; the loser removes its symlink.
    """
    link_file = layers_root / layer_id / "link"
    links = layers_root / LINKS_DIR
    target = f"../{layer_id}/diff"
    try:
        short = link_file.read_text().strip()
    except FileNotFoundError:
        pass
    else:
        _symlink_if_missing(target, links / short)
        return short
    import base64

    links.mkdir(exist_ok=True)
    short = base64.b32encode(os.urandom(16)).decode().rstrip("=")  # 26 chars, as docker
    os.symlink(target, links / short)
    tmp = link_file.with_name(f".link.{short}")
    tmp.write_text(short)
    try:
        os.link(tmp, link_file)
    except FileExistsError:
        os.unlink(links / short)
        short = link_file.read_text().strip()
        _symlink_if_missing(target, links / short)
    finally:
        os.unlink(tmp)
    return short


def _symlink_if_missing(target: str, link: Path) -> None:
    try:
        os.symlink(target, link)
    except FileExistsError:
        pass
    except FileNotFoundError:  # l/ itself is gone
        link.parent.mkdir(exist_ok=True)
        os.symlink(target, link)


INIT_LAYER_ID = "dockyard-init"
# Mount points the runtime would otherwise create in every new rootfs (~20 ms of
# overlay copy-up on ``run``): docker's "init layer", shared here by all containers.
_INIT_DIRS = ("proc", "sys", "dev", "dev/pts", "dev/shm", "dev/mqueue", "etc")
_INIT_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf", ".dockerenv")


def ensure_init_layer(layers_root: Path) -> Path:
    """The shared init layer's ``diff`` (created once); mount it as the top-most lower.

    It holds only empty mount points, so it never shows in a container's diff.
    """
    diff = layers_root / INIT_LAYER_ID / "diff"
    if diff.is_dir():
        return diff
    staging = layers_root / f".{INIT_LAYER_ID}.{os.getpid()}"
    for name in _INIT_DIRS:
        (staging / "diff" / name).mkdir(parents=True, exist_ok=True)
    for name in _INIT_FILES:
        (staging / "diff" / name).touch()
    try:
        os.rename(staging, layers_root / INIT_LAYER_ID)
    except OSError:  # another process made it first (ENOTEMPTY / EEXIST)
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return diff


def mount_rootfs(
    lowers: Sequence[Path],
    upper: Path,
    work: Path,
    merged: Path,
    links_dir: Path,
    *,
    volatile: bool = False,
) -> None:
    """Mount ``merged`` as overlayfs of ``lowers`` (top-most first) under ``upper``.

    ``links_dir`` is the layers root holding ``l/``; it is only used when the
    absolute option string would exceed a page, and then every lower must be
    ``<links_dir>/<id>/diff``.  Not thread-safe against other threads that use
    relative paths while a long mount runs (the process cwd changes briefly).

    ``volatile`` (for a throw-away upper, e.g. ``run --rm``) skips overlayfs' sync
    of the whole upper filesystem at unmount, which costs 30-400 ms on a busy disk;
    such an upper must not be mounted again (the kernel refuses to).
    """
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    # A volatile mount leaves this mark, and the kernel refuses the upper until it goes
    # (its writes may not have reached the disk). Ours are throw-away containers' (run
    # --rm) mounted again only when that run was killed: take the upper as it is.
    volatile_mark = work / "work" / "incompat" / "volatile"  # holds a file "dirty"
    if volatile_mark.exists():
        remove_tree(volatile_mark)
    if not lowers:  # overlayfs needs a lower; a scratch image has none
        empty = work.parent / "empty-lower"
        empty.mkdir(exist_ok=True)
        lowers = [empty]
    tail = f",upperdir={upper},workdir={work}{_extra_options()}"
    if volatile and _volatile_supported:
        tail += ",volatile"
    data = "lowerdir=" + ":".join(str(p) for p in lowers) + tail
    try:
        if len(data) < _PAGE_SIZE:
            _libc.mount("overlay", str(merged), "overlay", 0, data)
            return
        short = [
            f"{LINKS_DIR}/{ensure_short_link(links_dir, _layer_id(p, links_dir))}" for p in lowers
        ]
        data = "lowerdir=" + ":".join(short) + tail
        if len(data) >= _PAGE_SIZE:
            raise StoreError(f"too many layers to mount ({len(lowers)})")
        _mount_relative(links_dir, str(merged), data)
    except OSError as exc:
        if volatile and _volatile_supported and exc.errno == errno.EINVAL:
            _disable_volatile()  # a kernel before 5.10
            return mount_rootfs(lowers, upper, work, merged, links_dir)
        raise StoreError(f"cannot mount container rootfs at {merged}: {exc.strerror}") from exc


_volatile_supported = True


def _disable_volatile() -> None:
    global _volatile_supported
    _volatile_supported = False


def _layer_id(lower: Path, links_dir: Path) -> str:
    if lower.name != "diff" or lower.parent.parent != links_dir:
        raise StoreError(f"lower {lower} is not a layer under {links_dir}")
    return lower.parent.name


def _mount_relative(cwd: Path, target: str, data: str) -> None:
    with _chdir_lock:
        saved = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.chdir(cwd)
            _libc.mount("overlay", target, "overlay", 0, data)
        finally:
            os.fchdir(saved)
            os.close(saved)


_extra: str | None = None


def _extra_options() -> str:
    # index=off as docker: the index feature refuses lowers shared by several mounts.
    global _extra
    if _extra is None:
        _extra = ",index=off" if os.path.exists("/sys/module/overlay/parameters/index") else ""
    return _extra


def unmount_rootfs(merged: Path) -> None:
    """Unmount a container rootfs; a no-op if it is not mounted."""
    try:
        _libc.umount(str(merged))
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOENT):
            return
        if exc.errno != errno.EBUSY:
            raise StoreError(f"cannot unmount {merged}: {exc.strerror}") from exc
        try:  # still busy (a process holds it open): detach lazily, as docker does
            _libc.umount(str(merged), _libc.MNT_DETACH)
        except OSError as exc2:
            raise StoreError(f"cannot unmount {merged}: {exc2.strerror}") from exc2


def is_mounted(merged: Path) -> bool:
    """True if ``merged`` is a mount point."""
    return os.path.ismount(merged)
