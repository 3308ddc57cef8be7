"""Paths and files of a container's root as the container sees them, read from outside.

The same rule as runc's securejoin: ``..`` stops at the root and an absolute symlink
target starts again from the root, so an image (or a running container) can never
make us read the host's files through a symlink.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dockyard.errors import ConfigError

_MAX_SYMLINKS = 255
_READ = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)


def resolve_in_root(root: Path, path: str) -> Path:
    """``path`` as the container sees it under ``root``, symlinks followed within ``root``.

    The same rule as runc's securejoin: ``..`` stops at the root and an absolute
    link target starts again from the root, so the result is always under ``root``.
    """
    pending = [p for p in path.split("/") if p]
    pending.reverse()
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if not candidate.is_symlink():
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_SYMLINKS:
            raise ConfigError(f"too many levels of symbolic links in {path}")
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        pending.extend(reversed([p for p in target.split("/") if p]))
    return root.joinpath(*resolved)



def read_file_in_root(root: Path, path: str, limit: int) -> bytes | None:
    """The regular file at ``path`` in the container (at most ``limit`` bytes); None if
    there is none there, or something else (a FIFO, a device, a directory), or if a
    running container swapped a directory on the way for a symlink meanwhile: the file
    opened must still be under ``root``."""
    try:
        fd = os.open(resolve_in_root(root, path), _READ)
    except (OSError, ConfigError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        opened = os.readlink(f"/proc/self/fd/{fd}")
        top = os.path.realpath(root)
        if opened != top and not opened.startswith(top.rstrip("/") + "/"):
            return None
        chunks = []
        left = limit
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
