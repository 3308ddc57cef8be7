"""The local filesystem driver (``storage.filesystem.rootdirectory``)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from dockyard.registry.server.storage.driver import FileInfo, InvalidPath, PathNotFound

# A component never starts with a dot: this refuses ".", ".." and our temp files.
_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=+-]*\Z")
_MAX_PATH = 4096


class FilesystemWriter:
    """Appends to or creates a file in place; cancel() truncates back to the start."""

    def __init__(self, path: Path, append: bool, fsync: bool) -> None:
        self._fsync = fsync
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o644)
        self._file = os.fdopen(fd, "ab" if append else "wb", buffering=0)
        self._start = os.fstat(fd).st_size
        self._size = self._start

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if written is None:  # pragma: no cover - blocking files always write
                continue
            view = view[written:]
            self._size += written
        return len(data)

    def commit(self) -> None:
        if self._fsync:
            os.fsync(self._file.fileno())
        self._file.close()

    def cancel(self) -> None:
        os.ftruncate(self._file.fileno(), self._start)
        self._file.close()

    def close(self) -> None:
        self._file.close()


class FilesystemDriver:
    """Maps driver paths under ``root``; every path is checked lexically first."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = Path(os.path.abspath(root))
        self._fsync = fsync

    def _resolve(self, path: str) -> Path:
        if not path.startswith("/") or len(path) > _MAX_PATH:
            raise InvalidPath(f"invalid storage path: {path!r}")
        parts = path[1:].split("/")
        for part in parts:
            if not _COMPONENT_RE.match(part):
                raise InvalidPath(f"invalid storage path: {path!r}")
        return self.root.joinpath(*parts)

    def get_content(self, path: str) -> bytes:
        target = self._resolve(path)
        try:
            return target.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise PathNotFound(path) from exc

    def put_content(self, path: str, content: bytes) -> None:
        target = self._resolve(path)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                if self._fsync:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        target = self._resolve(path)
        try:
            stream = target.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise PathNotFound(path) from exc
        stream.seek(offset)
        return stream

    def writer(self, path: str, append: bool = False) -> FilesystemWriter:
        return FilesystemWriter(self._resolve(path), append, self._fsync)

    def stat(self, path: str) -> FileInfo:
        target = self._resolve(path)
        try:
            st = target.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise PathNotFound(path) from exc
        is_dir = (st.st_mode & 0o170000) == 0o040000
        return FileInfo(path, st.st_size, st.st_mtime_ns, is_dir, st.st_ino)

    def list(self, path: str) -> list[str]:
        target = self._resolve(path)
        try:
            names = os.listdir(target)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise PathNotFound(path) from exc
        return [name for name in names if not name.startswith(".")]

    def move(self, source: str, dest: str) -> None:
        src, dst = self._resolve(source), self._resolve(dest)
        try:
            os.replace(src, dst)
        except FileNotFoundError as exc:
            if not src.exists():
                raise PathNotFound(source) from exc
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)

    def delete(self, path: str) -> None:
        target = self._resolve(path)
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise PathNotFound(path) from exc

    def local_path(self, path: str) -> Path:
        return self._resolve(path)
