"""Storage drivers: the registry's only way to touch bytes at rest."""

from dockyard.registry.server.storage.driver import (
    FileInfo,
    FileWriter,
    InvalidPath,
    PathNotFound,
    StorageDriver,
)
from dockyard.registry.server.storage.filesystem import FilesystemDriver

__all__ = [
    "FileInfo",
    "FileWriter",
    "FilesystemDriver",
    "InvalidPath",
    "PathNotFound",
    "StorageDriver",
]
