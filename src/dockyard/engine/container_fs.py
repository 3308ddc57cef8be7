"""A container's filesystem from outside: ``diff``, ``export`` and ``cp``.

``diff`` reads upper/ against the lowers and needs no mount; ``export`` and ``cp``
see the merged view, mounting a stopped container's rootfs for the time they need
it.  Paths inside the container resolve like a chroot (``safepath``): a symlink in
the container never leads to the host.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.engine.container_ops import frozen
from dockyard.engine.container_start import container_lock, lower_dirs, mount_container
from dockyard.engine.containers import container_dir
from dockyard.errors import ConfigError, DockyardError, NotFound
from dockyard.layer.changes import Change, upper_changes
from dockyard.layer.pack import write_dir_tar
from dockyard.layer.safepath import LayerRoot, clean_name
from dockyard.layer.unpack import unpack_layer
from dockyard.runtime.overlay import is_mounted, unmount_rootfs
from dockyard.runtime.rootpath import resolve_in_root
from dockyard.store.containers import ContainerRecord, resolve_container
from dockyard.store.lite import StoreView


def container_changes(store: StoreView, name: str) -> list[Change]:
    record = resolve_container(store.conn, name)
    upper = container_dir(store, record.id) / "upper"
    upper.mkdir(exist_ok=True)
    return upper_changes(upper, lower_dirs(store, record))


@contextlib.contextmanager
def mounted_rootfs(store: StoreView, record: ContainerRecord) -> Iterator[Path]:
    """The merged rootfs, mounted for the block if it was not (under the container lock).

    A running container is frozen meanwhile: it cannot swap a directory for a symlink
    while we walk its files (the CVE-2018-15664 race)."""
    merged = container_dir(store, record.id) / "merged"
    if is_mounted(merged):
        with frozen(store, record):
            yield merged
        return
    with container_lock(store, record.id):
        merged = mount_container(store, record)
        try:
            yield merged
        finally:
            unmount_rootfs(merged)


@contextlib.contextmanager
def rootfs_with_mounts(store: StoreView, record: ContainerRecord) -> Iterator[Path]:
    """The container's filesystem as it sees it, for ``cp``: the merged rootfs with its
    volumes, binds and /etc files mounted over it, as docker's ``mountVolumes``.

    They are mounted in a mount namespace of this process's own, which goes with it:
    a copy into a volume lands in the volume, not under it in the upper layer; a
    read-only one refuses it; and replacing a mount point fails (busy) instead of
    detaching the running container's mount from under it."""
    from dockyard.runtime import _libc

    _libc.unshare_mounts()
    with mounted_rootfs(store, record) as merged:
        for destination, source, read_only in _container_mounts(store, record):
            # One at a time, parents first: /data/sub of -v a:/data -v b:/data/sub is
            # made and opened in a, once a is mounted, not in the rootfs under it.
            target = resolve_in_root(merged, destination)
            fd = _mount_point(merged, target, Path(source).is_dir())
            if fd is None:
                continue
            try:  # onto the very directory opened: nothing swapped since
                _libc.bind_mount(source, f"/proc/self/fd/{fd}", read_only)
            finally:
                os.close(fd)
        if record.host_config.get("ReadonlyRootfs"):  # the rootfs mount only, not the binds
            _libc.mount("none", str(merged), "", _libc.MS_BIND | _libc.MS_REMOUNT
                        | _libc.MS_RDONLY, "")  # fmt: skip
        yield merged


def _mount_point(root: Path, target: Path, directory: bool) -> int | None:
    """An O_PATH descriptor of the mount point ``target`` (made if missing, as docker
    makes it at create and runc at start), reached one component at a time from
    ``root`` without following a symlink: another container sharing a volume with
    this one cannot swap a directory on the way for a link to the host. None where
    that is not possible (a symlink, an entry of the other kind, a read-only root)."""
    parts = target.relative_to(root).parts
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            as_directory = directory or not last
            if not last or directory:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            else:
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o644, dir_fd=fd))  # fmt: skip
            flags = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
            inner = os.open(part, flags | (os.O_DIRECTORY if as_directory else 0), dir_fd=fd)
            os.close(fd)
            fd = inner
            if not as_directory and not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotADirectoryError(part)
    except OSError:
        os.close(fd)
        return None
    return fd


def _container_mounts(store: StoreView, record: ContainerRecord) -> list[tuple[str, str, bool]]:
    """(destination, host source, read-only) of the container's mounts, parents first;
    tmpfs ones have nothing to show while it is stopped, and are left out."""
    from dockyard.volumes.model import sort_by_depth
    from dockyard.volumes.mounts import mount_points, runtime_mount

    found = []
    for point in sort_by_depth(mount_points(store, record.id)):
        if point.type != "tmpfs":
            mount = runtime_mount(store, point)
            found.append((mount.destination, mount.source, not point.rw))
    directory = container_dir(store, record.id)
    taken = {destination for destination, _, _ in found}
    for name in ("hostname", "hosts", "resolv.conf"):
        if (directory / name).exists() and f"/etc/{name}" not in taken:
            found.append((f"/etc/{name}", str(directory / name), False))
    return found


def export_container(store: StoreView, name: str, out: BinaryIO) -> None:
    """The merged filesystem as one tar (docker export)."""
    record = resolve_container(store.conn, name)
    with mounted_rootfs(store, record) as merged:
        write_dir_tar(merged, out)


def _inside(merged: Path, path: str, record: ContainerRecord) -> Path:
    """``path`` in the container as a host path (directories resolved in the root)."""
    rel = LayerRoot(str(merged)).lookup(clean_name(path))
    if rel is None:
        raise NotFound(f"Could not find the file {path} in container {record.name}")
    return merged / rel if rel else merged


def _copy(source: Path, dest: Path, contents_only: bool, name: str = "") -> None:
    """docker cp's rules: into an existing directory (as ``name``, by default the
    source's), or as the new name ``dest``."""
    if dest.is_dir() and not contents_only:
        dest = dest / (name or source.name)
    elif dest.is_symlink():  # the user's own link, followed as docker does
        dest = Path(os.path.realpath(dest))
    _copy_tree(str(source), str(dest), {})


def _copy_tree(source: str, dest: str, linked: dict[tuple[int, int], str]) -> None:
    """Copy the container's ``source`` to the host's ``dest``, never through what is at
    ``dest`` already: a symlink there (an earlier copy of the container's) or an entry
    of another kind is replaced, as docker's untar does, not followed or written into.
    Files hard-linked together in the container are hard-linked on the host (``linked``:
    the first copy of each inode), as docker's tar keeps them."""
    info = os.lstat(source)
    is_dir = stat.S_ISDIR(info.st_mode)
    dest_is_dir = os.path.isdir(dest) and not os.path.islink(dest)
    # docker refuses these rather than lose what the host has there
    if dest_is_dir and not is_dir:
        raise ConfigError(f"cannot overwrite directory {dest!r} with non-directory")
    if is_dir and os.path.lexists(dest) and not dest_is_dir and not os.path.islink(dest):
        raise ConfigError(f"cannot overwrite non-directory {dest!r} with directory")
    if is_dir:
        if not dest_is_dir:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)  # a link an earlier copy left: the link itself
            os.mkdir(dest, 0o700)
        with os.scandir(source) as entries:
            for entry in entries:
                _copy_tree(entry.path, os.path.join(dest, entry.name), linked)
        shutil.copystat(source, dest, follow_symlinks=False)
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(dest)  # a file or a link itself, never what it points at
    key = (info.st_dev, info.st_ino)
    if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode) and key in linked:
        os.link(linked[key], dest, follow_symlinks=False)
        return
    _copy_entry(source, dest)
    if info.st_nlink > 1:
        linked[key] = dest


def _copy_entry(source: str, dest: str) -> None:
    """One file of the container onto the host (``dest`` is free): a device node or FIFO
    is made anew (never opened: a node the container made for a host device would read
    the host's device, as root, and a FIFO would block), a socket is left out, as
    docker does."""
    info = os.lstat(source)
    if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
        shutil.copy2(source, dest, follow_symlinks=False)
        return
    if stat.S_ISSOCK(info.st_mode):
        return
    os.mknod(dest, info.st_mode, info.st_rdev)
    shutil.copystat(source, dest, follow_symlinks=False)


def copy_from_container(store: StoreView, name: str, path: str, dest: str, out: BinaryIO,
                        follow_link: bool = False) -> None:  # fmt: skip
    """``cp CONTAINER:PATH DEST`` (``-`` writes a tar to ``out``); ``follow_link`` (-L):
    a symlink at PATH is followed (inside the container) and its target copied under
    the link's name."""
    record = resolve_container(store.conn, name)
    with rootfs_with_mounts(store, record) as merged:
        source = _inside(merged, path, record)
        if not os.path.lexists(source):
            raise NotFound(f"Could not find the file {path} in container {record.name}")
        link_name = source.name
        if follow_link and source.is_symlink():
            source = resolve_in_root(merged, path)
            if not os.path.lexists(source):
                raise NotFound(f"Could not find the file {path} in container {record.name}")
        is_dir = stat.S_ISDIR(os.lstat(source).st_mode)
        if path.endswith("/") and not is_dir:
            raise ConfigError(f"lstat {path}: not a directory")
        # docker: CTR:/dir/. is the directory's contents (./ in a tar), and CTR:/ too
        contents_only = path.endswith("/.") or source == merged
        if dest == "-":
            _write_tar(source, out, "." if path.endswith("/.") else
                       "" if source == merged else link_name)  # fmt: skip
            return
        _check_host_destination(dest, is_dir)
        _copy(source, Path(dest), contents_only=contents_only, name=link_name)


def _check_host_destination(dest: str, source_is_dir: bool) -> None:
    """docker cp's rules for the host side (CopyInfoDestinationPath)."""
    target = Path(dest)
    if target.is_dir():
        return  # into it
    if dest.endswith("/"):
        raise NotFound("no such directory")
    if os.path.lexists(target):
        if source_is_dir:
            raise ConfigError("cannot copy directory")
        return  # replaced
    parent = target.parent
    if not parent.is_dir():
        raise NotFound(f'invalid output path: directory "{parent}" does not exist')


def copy_to_container(store: StoreView, source: str, name: str, path: str,
                      follow_link: bool = False) -> None:  # fmt: skip
    """``cp SRC CONTAINER:PATH``: the copy lands in the container's writable layer.

    As docker does, the source goes over as a tar that is unpacked inside the
    container's root: every path, the destination's symlinks included, resolves
    within the container (chroot semantics), so nothing can land on the host.
    """
    record = resolve_container(store.conn, name)
    if not os.path.lexists(source):
        raise NotFound(f"Could not find the file {source} in the local filesystem")
    link = Path(source)
    # -L: a symlink given as the source is followed; its target goes under its name.
    src = Path(os.path.realpath(source)) if follow_link and link.is_symlink() else link
    with rootfs_with_mounts(store, record) as merged:
        root = LayerRoot(str(merged))
        resolved = root.resolve(clean_name(path))
        if resolved is None:
            raise NotFound(f"Could not find the file {path} in container {record.name}")
        into = root.resolve_dir(resolved)
        if into is not None:
            target = into if source.endswith("/.") else _join(into, link.name)
        elif not resolved:
            raise NotFound(f"Could not find the file {path} in container {record.name}")
        elif path.endswith("/"):  # docker: a trailing / names a directory that must exist
            raise NotFound("no such directory")
        elif src.is_dir() and os.path.lexists(merged / resolved):
            raise ConfigError("cannot copy directory")
        else:
            target = resolved
        _unpack_into(merged, src, target)


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _unpack_into(root: Path, source: Path, target: str) -> None:
    """Tar ``source`` as ``target`` and unpack it under ``root`` through the safe unpacker."""
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb") as out:
                if source.is_dir() and not source.is_symlink():
                    write_dir_tar(source, out, arcname=target)
                else:
                    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                        tar.add(str(source), arcname=target, recursive=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            failure.append(exc)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    try:
        with open(read_fd, "rb") as stream:
            unpack_layer(stream, root)
    finally:
        writer.join()
        # The reader only saw a cut stream; the writer knows why.
        if failure and isinstance(failure[0], OSError):
            raise DockyardError(f"copying {source}: {failure[0].strerror}") from failure[0]
        if failure:
            raise failure[0]


def _write_tar(source: Path, out: BinaryIO, arcname: str) -> None:
    if source.is_dir() and not source.is_symlink():
        write_dir_tar(source, out, arcname=arcname)
        return
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.add(str(source), arcname=source.name, recursive=False)
