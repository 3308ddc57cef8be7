"""Sharing the file writes of one layer between its packer and its unpacker (``commit``).

Creating files is most of a commit of many small ones, and it is kernel work that a
second core speeds up (ext4 makes 10,000 files in one directory about 1.5 times as
fast from two processes as from one). So commit's packer, which reads every changed
file anyway, writes every other small one into the new layer itself, and every
directory, each before it sends that entry. The unpacker then finds such a file in
place when its entry arrives (nothing else makes a regular file at a path the tar
names once) and only checks and records it. The layer is byte for byte what unpacking
the tar alone gives, and its tar-split record rebuilds the same tar.

The packer leaves to the unpacker whatever a later entry could replace: a name at or
below ``.wh.*`` (a whiteout to the unpacker), and ``X`` next to ``.wh.X`` (the
unpacker whites it out when that entry comes).
"""

from __future__ import annotations

PACKER_WRITES_BELOW = 256 << 10  # larger files go through a pipe with sendfile: left whole
WHITEOUT_PREFIX = ".wh."


class SharedWrites:
    """The packer's choice among the regular files it may write: every other small one."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = 0

    def packer_writes(self, size: int) -> bool:
        if size >= PACKER_WRITES_BELOW:
            return False
        self._count += 1
        return self._count % 2 == 0


def shareable_names(names: list[str]) -> set[str]:
    """The names of one directory listing the packer may write (and below them)."""
    twins = {name[len(WHITEOUT_PREFIX) :] for name in names if name.startswith(WHITEOUT_PREFIX)}
    return {name for name in names if not name.startswith(WHITEOUT_PREFIX) and name not in twins}
