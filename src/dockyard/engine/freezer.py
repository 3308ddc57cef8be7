"""Pausing a running container (cgroup freezer) for a commit or a copy, kill -9 safe.

docker's daemon pauses a container for ``commit`` and ``cp`` and always resumes it.
Here the pausing process is the ``dockyard`` command itself: killed while it holds
the container paused, it would leave the container frozen for good (``exec`` hangs,
the service stops answering). So the pauser holds a lock file for as long as the
container is paused and leaves a mark beside it; whoever next looks at the container
(``status_of``) and finds the mark with the lock free knows its pauser died, and
resumes it. The lock also keeps two pausers of one container from resuming it under
each other's feet.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.errors import DockyardError
from dockyard.runtime.runc import Runtime
from dockyard.store.locks import file_lock, try_lock

FREEZE_MARK = "frozen"  # in the container directory while it is (being) paused
_FREEZE_LOCK = "freeze.lock"


@contextlib.contextmanager
def frozen(directory: Path, runtime: Runtime, container_id: str) -> Iterator[None]:
    """The container paused for the block; ``directory`` is the container's own."""
    with file_lock(directory / _FREEZE_LOCK):
        mark = directory / FREEZE_MARK
        mark.touch()  # before the pause: a pauser killed in between leaves the mark
        try:
            runtime.pause(container_id)
            try:
                yield
            finally:
                runtime.resume(container_id)
        finally:
            mark.unlink(missing_ok=True)


def thaw_if_abandoned(
    directory: Path, runtime: Callable[[], Runtime], container_id: str
) -> None:
    """Resume the container if a dockyard process paused it and died doing so."""
    if not (directory / FREEZE_MARK).exists():
        return  # the common case: one stat
    fd = try_lock(directory / _FREEZE_LOCK)
    if fd is None:
        return  # its pauser is alive and will resume it
    try:
        if (directory / FREEZE_MARK).exists():
            # Not paused after all (killed before runc paused it), or gone: nothing to do.
            with contextlib.suppress(DockyardError):
                runtime().resume(container_id)
            (directory / FREEZE_MARK).unlink(missing_ok=True)
    finally:
        os.close(fd)
