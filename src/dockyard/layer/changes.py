"""What a container changed: its overlay upperdir compared with the image's layers.

``docker diff`` semantics (moby's OverlayChanges): a whiteout is a deletion;
an entry also present in the layers below is a change, otherwise an addition;
a directory copied up only because something inside it changed is not listed,
but the parent of an added or deleted entry is. An opaque directory is a
change, and each lower entry it hides is listed as deleted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dockyard.errors import StoreError
from dockyard.layer.pack import write_dir_tar, write_upper_tar
from dockyard.layer.whiteouts import WHITEOUT_META_PREFIX, is_opaque, is_whiteout

__all__ = ["Change", "upper_changes", "write_dir_tar", "write_upper_tar"]


@dataclass(frozen=True)
class Change:
    kind: Literal["A", "C", "D"]
    path: str  # absolute inside the container, e.g. "/etc/foo"


def upper_changes(upper: Path, lowers: Sequence[Path]) -> list[Change]:
    """The changes recorded in ``upper`` over ``lowers`` (top layer first), in tree order."""
    try:
        return _Differ(os.fspath(upper), [os.fspath(lower) for lower in lowers]).run()
    except OSError as exc:
        raise StoreError(f"cannot compare {upper} with its layers: {exc}") from exc


class _Differ:
    def __init__(self, upper: str, lowers: list[str]) -> None:
        self.upper = upper
        self.lowers = lowers
        self.kinds: dict[str, Literal["A", "C", "D"]] = {}
        self.changed_dirs: set[str] = set()
        self.masking: dict[str, bool] = {}  # lower path -> hides the layers below it

    def run(self) -> list[Change]:
        self._walk("")
        ordered = sorted(self.kinds, key=lambda rel: rel.split("/"))
        return [Change(self.kinds[rel], "/" + rel) for rel in ordered]

    def _walk(self, rel: str) -> None:
        with os.scandir(_join(self.upper, rel)) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            child = _join(rel, entry.name)
            if not rel and entry.name.startswith(WHITEOUT_META_PREFIX):
                continue  # aufs bookkeeping
            info = entry.stat(follow_symlinks=False)
            self._visit(child, info)
            if stat.S_ISDIR(info.st_mode):
                self._walk(child)

    def _visit(self, rel: str, info: os.stat_result) -> None:
        is_dir = stat.S_ISDIR(info.st_mode)
        opaque = is_dir and is_opaque(_join(self.upper, rel))
        kind: Literal["A", "C", "D"]
        if is_whiteout(info):
            kind = "D"
        else:
            below = self._lower_stat(rel)
            if below is None:
                kind = "A"
            elif is_dir and not opaque and _same_dir(info, below):
                return  # copied up only to hold a changed child
            else:
                kind = "C"
        if is_dir:
            self.changed_dirs.add(rel)
        if kind != "C":
            parent = rel.rpartition("/")[0]
            if parent and parent not in self.changed_dirs:
                self.kinds[parent] = "C"
                self.changed_dirs.add(parent)
        self.kinds[rel] = kind
        if opaque:
            upper_names = set(os.listdir(_join(self.upper, rel)))
            for name in self._lower_names(rel) - upper_names:
                self.kinds[_join(rel, name)] = "D"

    def _lower_stat(self, rel: str) -> os.stat_result | None:
        """``rel`` as the merged lower layers show it, or None if they do not."""
        for lower in self.lowers:
            try:
                info = os.lstat(_join(lower, rel))
            except (FileNotFoundError, NotADirectoryError):
                if self._masked(lower, rel):
                    return None
                continue
            return None if is_whiteout(info) else info
        return None

    def _masked(self, lower: str, rel: str) -> bool:
        """Whether a directory above ``rel`` in ``lower`` hides the layers below."""
        parts = rel.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            path = _join(lower, "/".join(parts[:depth]))
            if path not in self.masking:
                try:
                    info = os.lstat(path)
                except (FileNotFoundError, NotADirectoryError):
                    self.masking[path] = False
                    return False
                self.masking[path] = not stat.S_ISDIR(info.st_mode) or is_opaque(path)
            if self.masking[path]:
                return True
        return False

    def _lower_names(self, rel: str) -> set[str]:
        """The names the merged lower layers show in directory ``rel``."""
        names: set[str] = set()
        deleted: set[str] = set()
        for lower in self.lowers:
            path = _join(lower, rel)
            try:
                info = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                if self._masked(lower, rel):
                    break
                continue
            if not stat.S_ISDIR(info.st_mode):
                break
            with os.scandir(path) as scan:
                for entry in scan:
                    if entry.name in names or entry.name in deleted:
                        continue
                    whiteout = is_whiteout(entry.stat(follow_symlinks=False))
                    (deleted if whiteout else names).add(entry.name)
            if is_opaque(path):
                break
        return names


def _same_dir(upper: os.stat_result, lower: os.stat_result) -> bool:
    """moby's test for an unchanged directory (size, mode, mtime to the second or ns)."""
    if not stat.S_ISDIR(lower.st_mode) or upper.st_size != lower.st_size:
        return False
    if upper.st_mode != lower.st_mode:
        return False
    a, b = upper.st_mtime_ns, lower.st_mtime_ns
    same_second = a // 10**9 == b // 10**9
    return same_second and (a == b or a % 10**9 == 0 or b % 10**9 == 0)


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name
