"""Resolve archive paths inside a layer directory as if it were the root (chroot).

Docker unpacks in a chroot, so a symlink in the layer (``link -> /etc`` or
``link -> ../../..``) resolves inside the layer, never on the host. Here the
same semantics are computed in user space: every directory a path goes
through is looked up with ``lstat``, symlinks are expanded against the layer
root, and ``..`` stops at the root. Directories that were verified (or made)
are remembered, so an archive of thousands of files costs one dictionary
lookup per entry; the unpacker tells us when it replaces one.
"""

from __future__ import annotations

import os
import posixpath
import stat

from dockyard.errors import InvalidArchive, UnsafeTarEntry

_MAX_SYMLINKS = 40  # Linux's limit for one path lookup


def clean_name(name: str) -> str:
    """An archive member name as a clean path relative to the root; ``""`` is the root.

    Absolute names are taken relative to the root, as docker does; a relative
    name whose ``..`` climbs above the root is refused, as docker does.
    """
    if name.startswith("/"):
        return posixpath.normpath(name).lstrip("/")
    cleaned = posixpath.normpath(name) if name else "."
    if cleaned == ".." or cleaned.startswith("../"):
        raise UnsafeTarEntry(f"tar entry {name!r} is outside of the layer directory")
    return "" if cleaned == "." else cleaned


class LayerRoot:
    """A directory being unpacked into; resolves paths inside it with chroot semantics.

    Paths handed out and accepted are relative to the root, clean, and free of
    symlinks; ``join`` turns them into absolute host paths, all of whose
    directories are real directories inside the root.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self._dirs: set[str] = {""}  # real directories (not symlinks) inside the root

    def join(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def parent_dir(self, rel: str) -> str:
        """The real directory that holds ``rel``'s last component, made if missing (0755)."""
        parent = rel.rpartition("/")[0]
        if parent in self._dirs:
            return parent
        resolved = self._resolve(parent, create=True)
        assert resolved is not None  # create=True never gives up
        return resolved

    def lookup(self, rel: str) -> str | None:
        """``rel`` with its directories resolved, or None if one of them is missing.

        The last component is not followed: a hard link to a symlink links the symlink.
        """
        parent, _, base = rel.rpartition("/")
        resolved = parent if parent in self._dirs else self._resolve(parent, create=False)
        if resolved is None:
            return None
        return f"{resolved}/{base}" if resolved else base

    def resolve(self, rel: str) -> str | None:
        """``rel`` with every symlink followed inside the root, the last component's too;
        the result may not exist yet. None if a directory on the way is missing."""
        for _ in range(_MAX_SYMLINKS):
            found = self.lookup(rel)
            if found is None or not os.path.islink(self.join(found)):
                return found
            target = os.readlink(self.join(found))
            parent = found.rpartition("/")[0]
            joined = target if target.startswith("/") else f"{parent}/{target}"
            rel = posixpath.normpath("/" + joined).lstrip("/")
        raise InvalidArchive(f"too many levels of symbolic links in {rel!r}")

    def resolve_dir(self, rel: str) -> str | None:
        """``rel`` as a real directory inside the root, every symlink on the way (the last
        component's too) followed with chroot semantics; None if it is not a directory."""
        return self._resolve(rel, create=False)

    def add_dir(self, rel: str) -> None:
        """Record that ``rel`` is now a real directory."""
        self._dirs.add(rel)

    def is_dir(self, rel: str) -> bool:
        """Whether ``rel`` is still a directory this root made or verified."""
        return rel in self._dirs

    def forget(self, rel: str) -> None:
        """``rel`` was removed or replaced: forget it and everything below it."""
        prefix = rel + "/"
        self._dirs = {d for d in self._dirs if d != rel and not d.startswith(prefix)}

    def _resolve(self, path: str, create: bool) -> str | None:
        pending = [c for c in reversed(path.split("/")) if c and c != "."]
        current = ""
        links = 0
        while pending:
            component = pending.pop()
            if component == "..":
                current = current.rpartition("/")[0]  # the root's parent is the root
                continue
            candidate = f"{current}/{component}" if current else component
            if candidate in self._dirs:
                current = candidate
                continue
            full = self.join(candidate)
            try:
                info = os.lstat(full)
            except FileNotFoundError:
                if not create:
                    return None
                os.mkdir(full, 0o755)
                os.chmod(full, 0o755)  # whatever the umask
                info = os.lstat(full)
            if stat.S_ISDIR(info.st_mode):
                self._dirs.add(candidate)
                current = candidate
            elif stat.S_ISLNK(info.st_mode):
                links += 1
                if links > _MAX_SYMLINKS:
                    raise InvalidArchive(f"too many levels of symbolic links in {path!r}")
                target = os.readlink(full)
                if target.startswith("/"):
                    current = ""
                pending.extend(c for c in reversed(target.split("/")) if c and c != ".")
            elif create:
                raise InvalidArchive(f"cannot unpack below {candidate!r}: not a directory")
            else:
                return None
        return current
