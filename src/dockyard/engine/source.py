"""Turning what the user hands us (a path or stdin, maybe compressed) into a seekable tar."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import InvalidArchive
from dockyard.layer.compression import detect_compression, open_decompressed
from dockyard.store.staging import Staging


def open_input(path: str | None) -> BinaryIO:
    """A file named by the user, or stdin for ``-`` / None."""
    if path is None or path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InvalidArchive(f"open {path}: {str(exc.strerror).lower()}") from exc


def seekable_tar(path: str | None, staging: Staging) -> Path:
    """A path to an uncompressed tar: the user's file itself, or a spooled copy."""
    if path not in (None, "-"):
        assert path is not None
        with open_input(path) as handle:
            head = handle.read(8)
        if detect_compression(head) == "none":
            return Path(path)
    spooled = staging.new_path("input-")
    source = open_input(path)
    try:
        with open(spooled, "wb") as out:
            shutil.copyfileobj(open_decompressed(source), out, 1 << 20)
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    return spooled
