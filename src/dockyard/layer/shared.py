"""Sharing the file writes of one layer between its packer and its unpacker (``commit``).

Creating files is most of a commit of many small ones, and it is kernel work that a
second core speeds up (ext4 makes 10,000 files in one directory about 1.5 times as
fast from two processes as from one). So commit's packer, which reads every changed
file anyway, writes some of the small ones into the new layer itself (as many as keep
the unpacker busy, ``SharedWrites``), and every directory, each before it sends that
entry, and marks that entry in memory both share (``SharedLayer``). The unpacker, told
so by the mark, only records such a file. The layer is byte for byte what unpacking
the tar alone gives, and its tar-split record rebuilds the same tar.

The packer leaves to the unpacker whatever a later entry could replace: a name at or
below ``.wh.*`` (a whiteout to the unpacker), and ``X`` next to ``.wh.X`` (the
unpacker whites it out when that entry comes).
"""

from __future__ import annotations

import mmap
import zlib
from pathlib import Path

from dockyard.errors import StoreError

PACKER_WRITES_BELOW = 256 << 10  # larger files go through a pipe with sendfile: left whole
WHITEOUT_PREFIX = ".wh."
MARKED_ENTRIES = 1 << 20  # a byte each; the packer writes no file of a later entry


class SharedWrites:
    """The packer's choice among the regular files it may write, paced by how far the
    unpacker lags behind it: whichever process has less to do makes more of the files,
    so both end together. Which side makes a file never changes the layer.

    The lag is what waits in the pipe between them (the unpacker reads a little at a
    time): up to a sixteenth of the pipe, the unpacker may soon have nothing to do and
    the packer leaves it every file; from half the pipe on, it lags and the packer
    takes every small file; in between the two share them.
    """

    __slots__ = ("_count", "_every", "behind", "idle")

    def __init__(self, pipe_size: int = 1 << 20) -> None:
        self._count = 0
        self._every = 2
        self.idle = pipe_size // 16
        self.behind = pipe_size // 2

    def pace(self, backlog: int) -> None:
        """Called as the packer hands on its output: ``backlog`` bytes are still unread."""
        self._every = 0 if backlog <= self.idle else 1 if backlog >= self.behind else 2

    def packer_writes(self, size: int) -> bool:
        if size >= PACKER_WRITES_BELOW or not self._every:
            return False
        self._count += 1
        return self._count % self._every == 0


def shareable_names(names: list[str]) -> set[str]:
    """The names of one directory listing the packer may write (and below them)."""
    twins = {name[len(WHITEOUT_PREFIX) :] for name in names if name.startswith(WHITEOUT_PREFIX)}
    return {name for name in names if not name.startswith(WHITEOUT_PREFIX) and name not in twins}


class SharedLayer:
    """The new layer's ``diff`` directory both processes write, and one byte per tar
    entry in an anonymous shared mapping made before the fork: the packer sets an
    entry's byte once it has written the file, before it sends the entry. So the
    unpacker knows which files are there without looking on disk. The byte is a hash
    of the name: a packer and an unpacker that counted entries differently fail the
    commit instead of leaving a file out."""

    def __init__(self, diff: Path) -> None:
        self.diff = diff
        self._marks = mmap.mmap(-1, MARKED_ENTRIES)

    def can_mark(self, index: int) -> bool:
        return index < MARKED_ENTRIES

    def mark(self, index: int, name: str) -> None:
        """The packer wrote entry ``index`` (named ``name``) itself."""
        self._marks[index] = _tag(name)

    def written_by_packer(self, index: int, name: str) -> bool:
        if index >= MARKED_ENTRIES or not (tag := self._marks[index]):
            return False
        if tag != _tag(name):
            raise StoreError(f"the packer marked entry {index} for another name than {name!r}")
        return True

    def close(self) -> None:
        self._marks.close()


def _tag(name: str) -> int:
    """1-255 from the name (0 means not written)."""
    return zlib.crc32(name.encode("utf-8", "surrogateescape")) % 255 + 1
