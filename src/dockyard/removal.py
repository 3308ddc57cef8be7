"""Removing a directory tree on ``run --rm``'s path, where importing ``shutil`` (with
the bz2 and lzma modules it loads) would cost 2 ms of an 80 ms run.

``os.fwalk`` removes a plain tree bottom-up through directory descriptors, never
following a symlink; anything it cannot remove (a symlink to a directory, a file
that appears meanwhile) is left to ``shutil.rmtree``, which then finishes the job.
"""

from __future__ import annotations

import os


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove ``path`` and everything below it; errors are ignored, as ``rmtree``'s
    ``ignore_errors`` does."""
    try:
        for _, dirs, files, dir_fd in os.fwalk(path, topdown=False, follow_symlinks=False):
            for name in files:
                os.unlink(name, dir_fd=dir_fd)
            for name in dirs:
                os.rmdir(name, dir_fd=dir_fd)
        os.rmdir(path)
    except FileNotFoundError:
        if not os.path.lexists(path):
            return
    except OSError:
        pass
    else:
        return
    import shutil

    shutil.rmtree(path, ignore_errors=True)
