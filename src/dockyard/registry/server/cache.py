"""A per-process cache of small files (links, manifests), validated by stat.

Each hit still costs one stat, so deletes and retags by another worker or by
distribution itself are seen at once. A file modified in the last second is never
cached: within one clock tick a replaced file can show the same size, mtime and
even a recycled inode number.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from dockyard.registry.server.storage.driver import FileInfo, StorageDriver

_SETTLE_NS = 1_000_000_000


class ContentCache:
    def __init__(
        self, driver: StorageDriver, max_bytes: int = 64 << 20, max_entry: int = 4 << 20
    ) -> None:
        self._driver = driver
        self._max_bytes = max_bytes
        self._max_entry = max_entry
        self._bytes = 0
        self._entries: OrderedDict[str, tuple[tuple[int, int, int], bytes]] = OrderedDict()

    def read(self, path: str) -> bytes:
        """The file's bytes; raises PathNotFound like the driver."""
        return self.read_with_info(path)[0]

    def read_with_info(self, path: str) -> tuple[bytes, FileInfo]:
        info = self._driver.stat(path)
        key = (info.size, info.mtime_ns, info.identity)
        entry = self._entries.get(path)
        if entry is not None and entry[0] == key:
            self._entries.move_to_end(path)
            return entry[1], info
        content = self._driver.get_content(path)
        settled = time.time_ns() - info.mtime_ns > _SETTLE_NS
        if settled and len(content) == info.size and info.size <= self._max_entry:
            self._store(path, key, content)
        return content, info

    def forget(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._bytes -= len(entry[1])

    def _store(self, path: str, key: tuple[int, int, int], content: bytes) -> None:
        self.forget(path)
        self._entries[path] = (key, content)
        self._bytes += len(content)
        while self._bytes > self._max_bytes and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= len(evicted)
