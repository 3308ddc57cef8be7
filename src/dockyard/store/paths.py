"""Where the local store keeps what, and which root to use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from dockyard.digest import Digest


def default_root() -> Path:
    """``/var/lib/dockyard`` for root, ``$XDG_DATA_HOME/dockyard`` otherwise."""
    if os.geteuid() == 0:
        return Path("/var/lib/dockyard")
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "dockyard"


class StoreLayout(NamedTuple):
    """The directory tree of one store root."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "dockyard.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def blob(self, digest: Digest) -> Path:
        return self.blobs / digest.hex

    def layer_dir(self, diff_id: Digest) -> Path:
        """The layer's own directory; its ``diff/`` is an overlay lowerdir."""
        return self.layers / diff_id.hex

    def create(self) -> None:
        for path in (self.blobs, self.layers, self.containers, self.volumes, self.tmp, self.locks):
            path.mkdir(parents=True, exist_ok=True)
