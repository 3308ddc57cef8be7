"""Pausing a running container (cgroup freezer) for a commit or a copy, kill -9 safe.

docker's daemon pauses a container for ``commit`` and ``cp`` and always resumes it.
Here the pausing process is the ``dockyard`` command itself: killed while it holds
the container paused, it would leave the container frozen for good (``exec`` hangs,
the service stops answering). So the pauser holds a lock file for as long as the
container is paused and leaves a mark beside it; whoever next looks at the container
(``status_of``) and finds the mark with the lock free knows its pauser died, and
resumes it. The lock also keeps two pausers of one container from resuming it under
each other's feet. (Not covered: a pauser killed while ``runc pause`` itself runs,
whose orphaned runc may freeze the container after a thaw already looked.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.errors import ContainerNotFound, DockyardError
from dockyard.runtime.runc import Runtime
from dockyard.store.locks import file_lock, try_lock

FREEZE_MARK = "frozen"  # in the container directory while it is (being) paused
_FREEZE_LOCK = "freeze.lock"


@contextlib.contextmanager
def frozen(
    directory: Path, runtime: Runtime, container_id: str, still_running: Callable[[], bool]
) -> Iterator[None]:
    """The container paused for the block; ``directory`` is the container's own.

    ``still_running`` is asked again once the lock is held: another pauser may have
    made us wait while the container exited.
    """
    with file_lock(directory / _FREEZE_LOCK):
        if not still_running():
            yield
            return
        mark = directory / FREEZE_MARK
        mark.touch()  # before the pause: a pauser killed in between leaves the mark
        try:
            runtime.pause(container_id)
        except BaseException:
            with contextlib.suppress(DockyardError):  # in case runc froze it anyway
                runtime.resume(container_id)
            mark.unlink(missing_ok=True)
            raise
        try:
            yield
        finally:
            runtime.resume(container_id)  # on failure the mark stays: the next look retries
            mark.unlink(missing_ok=True)


def thaw_if_abandoned(
    directory: Path, runtime: Callable[[], Runtime], container_id: str
) -> None:
    """Resume the container if a dockyard process paused it and died doing so.

    Never raises for a failed thaw (``ps`` must still list): the mark stays and the
    next look tries again.
    """
    mark = directory / FREEZE_MARK
    if not mark.exists():
        return  # the common case: one stat
    try:
        fd = try_lock(directory / _FREEZE_LOCK)
    except FileNotFoundError:
        return  # the container is being removed
    if fd is None:
        return  # its pauser is alive and will resume it
    try:
        if mark.exists() and _resumed_or_not_paused(runtime(), container_id):
            mark.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _resumed_or_not_paused(runtime: Runtime, container_id: str) -> bool:
    try:
        if runtime.state(container_id).get("status") == "paused":
            runtime.resume(container_id)
    except ContainerNotFound:
        return True  # gone: nothing is frozen
    except DockyardError:
        return False
    return True
