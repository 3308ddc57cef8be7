"""Which repositories of a registry are known to hold a blob, for cross-repo mounts.

Kept in ``<store root>/distribution/blob-sources.json`` as
``{registry: {digest: [repository, ...]}}``; every pull and push adds to it. Writes
are read-modify-write under a file lock and land by rename, so concurrent commands
never lose each other's entries or see a torn file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

from dockyard.digest import Digest

_KEEP = 5  # repositories remembered per blob, newest first


class BlobSources:
    def __init__(self, store_root: Path) -> None:
        self.path = store_root / "distribution" / "blob-sources.json"

    def _read(self) -> dict[str, dict[str, list[str]]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # missing or damaged: only an optimisation is lost
        return data if isinstance(data, dict) else {}

    def repositories(self, registry: str, digest: Digest) -> list[str]:
        """Repositories of ``registry`` that had ``digest``, newest first."""
        found = self._read().get(registry, {}).get(str(digest), [])
        return [r for r in found if isinstance(r, str)]

    def add(self, registry: str, repository: str, digests: Iterable[Digest]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            blobs = data.setdefault(registry, {})
            for digest in digests:
                repos = [r for r in blobs.get(str(digest), []) if r != repository]
                blobs[str(digest)] = [repository, *repos][:_KEEP]
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(data))
            os.replace(temporary, self.path)
        finally:
            os.close(lock)
