"""Random access to the members of an (uncompressed, seekable) tar file.

Image archives keep their index (manifest.json / index.json) anywhere in the tar,
often at the end, so the headers are scanned once and members read by offset.
"""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import InvalidArchive
from dockyard.store.streams import LimitedReader, as_binary

_MAX_SMALL_MEMBER = 64 * 1024 * 1024  # manifests and configs are read into memory


@dataclass(frozen=True)
class Member:
    name: str
    offset: int
    size: int


class TarIndex:
    """The regular files of a tar, by normalised name, with symlinks inside it resolved."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members: dict[str, Member] = {}
        links: dict[str, str] = {}
        try:
            with tarfile.open(path, mode="r:") as tar:
                for info in tar:
                    name = _normalise(info.name)
                    if info.isreg():
                        self.members[name] = Member(name, info.offset_data, info.size)
                    elif info.issym():
                        target = posixpath.join(posixpath.dirname(name), info.linkname)
                        links[name] = _normalise(target)
                    elif info.islnk():
                        links[name] = _normalise(info.linkname)
        except (tarfile.TarError, EOFError, OSError) as exc:
            detail = str(exc)
            if "unexpected end" in detail or isinstance(exc, EOFError):
                detail = f"the archive is truncated ({detail})"
            raise InvalidArchive(f"invalid tar file: {detail}") from exc
        file_size = path.stat().st_size
        for member in self.members.values():
            if member.offset + member.size > file_size:
                raise InvalidArchive(f"invalid tar file: {member.name} is truncated")
        for name, target in links.items():
            resolved = self._follow(target, links)
            if resolved is not None:
                self.members[name] = resolved

    def _follow(self, name: str, links: dict[str, str]) -> Member | None:
        for _ in range(16):
            if name in self.members:
                return self.members[name]
            if name not in links:
                return None
            name = links[name]
        return None

    def has(self, name: str) -> bool:
        return _normalise(name) in self.members

    def member(self, name: str) -> Member:
        found = self.members.get(_normalise(name))
        if found is None:
            raise InvalidArchive(f"invalid archive: {name} is missing")
        return found

    def open(self, name: str) -> BinaryIO:
        """A reader over one member's bytes; the caller closes it."""
        member = self.member(name)
        handle = open(self.path, "rb")  # noqa: SIM115 - returned to the caller
        handle.seek(member.offset)
        return as_binary(_ClosingReader(handle, member.size))

    def read(self, name: str) -> bytes:
        member = self.member(name)
        if member.size > _MAX_SMALL_MEMBER:
            raise InvalidArchive(f"invalid archive: {name} is too large ({member.size} bytes)")
        with self.open(name) as reader:
            data = reader.read()
        if len(data) != member.size:
            raise InvalidArchive(f"invalid archive: {name} is truncated")
        return data


class _ClosingReader(LimitedReader):
    def __init__(self, handle: BinaryIO, size: int) -> None:
        super().__init__(handle, size)
        self._handle = handle

    def close(self) -> None:
        self._handle.close()
        super().close()


def _normalise(name: str) -> str:
    """Archive member names compared without ./ prefixes or leading slashes."""
    cleaned = posixpath.normpath("/" + name).lstrip("/")
    if cleaned.startswith(".."):
        raise InvalidArchive(f"invalid archive: member {name!r} escapes the archive")
    return cleaned
