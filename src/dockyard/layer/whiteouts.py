"""The two spellings of deletions: OCI tar whiteouts and overlayfs upperdir markers.

In a layer tar, ``.wh.<name>`` deletes ``<name>`` from the layers below and
``<dir>/.wh..wh..opq`` hides everything the layers below have in ``<dir>``. In an
overlayfs directory the same facts are a character device 0/0 named ``<name>``
and the xattr ``trusted.overlay.opaque=y`` on ``<dir>``.
"""

from __future__ import annotations

import errno
import os
import stat

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."  # aufs bookkeeping (.wh..wh.plnk, ...)
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
OVERLAY_XATTR_PREFIX = "trusted.overlay."


def is_whiteout(info: os.stat_result) -> bool:
    """Whether an lstat result is an overlayfs whiteout (character device 0/0)."""
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def is_opaque(path: str | os.PathLike[str]) -> bool:
    """Whether the directory at ``path`` carries ``trusted.overlay.opaque=y``."""
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM, errno.ENOENT):
            return False
        raise


def make_whiteout(path: str) -> None:
    """Create an overlayfs whiteout (mode 0, as overlayfs and docker make them)."""
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))


def set_opaque(path: str) -> None:
    os.setxattr(path, OPAQUE_XATTR, b"y", follow_symlinks=False)
