"""Pausing a running container (cgroup freezer): for a commit or a copy, kill -9 safe;
and for the user (``pause`` / ``unpause``).

docker's daemon pauses a container for ``commit`` and ``cp`` and always resumes it.
Here the pausing process is the ``dockyard`` command itself: killed while it holds
the container paused, it would leave the container frozen for good (``exec`` hangs,
the service stops answering). So the pauser holds a lock file for as long as the
container is paused and leaves a mark beside it; whoever next looks at the container
(``status_of``) and finds the mark with the lock free knows its pauser died, and
resumes it. The lock also keeps two pausers of one container from resuming it under
each other's feet. (Not covered: a pauser killed while ``runc pause`` itself runs,
whose orphaned runc may freeze the container after a thaw already looked.)

A user's ``pause`` leaves a mark of its own (``paused``), taken under the same lock:
it stays until ``unpause`` (or a signal from ``stop`` / ``kill``, after which docker
resumes the container so that it can act on it). A commit of a paused container
leaves it paused, as docker's does.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.errors import Conflict, ContainerNotFound, DockyardError
from dockyard.runtime.runc import Runtime, parse_signal
from dockyard.store.locks import file_lock, try_lock

FREEZE_MARK = "frozen"  # in the container directory while it is (being) paused
USER_PAUSE_MARK = "paused"  # while the user has it paused
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
        if not still_running() or user_paused(directory):
            yield  # nothing runs to race us; a paused container stays paused
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


def user_paused(directory: Path) -> bool:
    """Whether the user paused the container (only meaningful while it runs)."""
    return (directory / USER_PAUSE_MARK).exists()


def pause_for_user(
    directory: Path, runtime: Runtime, container_id: str, still_running: Callable[[], bool]
) -> None:
    """``pause``: freeze every process of the container until ``unpause``."""
    with file_lock(directory / _FREEZE_LOCK):
        if not still_running():
            raise Conflict(f"Container {container_id} is not running")
        mark = directory / USER_PAUSE_MARK
        if mark.exists():
            raise Conflict(f"Container {container_id} is already paused")
        mark.touch()  # first: a pause without its mark would look running, and hang exec
        try:
            runtime.pause(container_id)
        except DockyardError:
            # runc may have frozen it before it failed: the mark stays if it did.
            if not _runtime_paused(runtime, container_id):
                mark.unlink(missing_ok=True)
            raise
        # Interrupted (^C while runc, in a session of its own, goes on): the mark stays,
        # so the container shows paused and ``unpause`` resumes it whatever runc did.


def resume_for_user(directory: Path, runtime: Runtime, container_id: str) -> None:
    """``unpause``; ``Conflict`` if it is not paused. A container frozen without our mark
    (a ``runtime pause`` orphaned by a killed pauser) is resumed too."""
    with file_lock(directory / _FREEZE_LOCK):
        mark = directory / USER_PAUSE_MARK
        if not mark.exists() and not _runtime_paused(runtime, container_id):
            raise Conflict(f"Container {container_id} is not paused")
        _resume(runtime, container_id)
        mark.unlink(missing_ok=True)


def resume_after_signal(
    directory: Path, runtime: Runtime, container_id: str, signum: int, stop_signal: str | None
) -> None:
    """After a signal to a paused container, which cannot act on it while frozen: docker
    resumes it for SIGKILL, and for any signal meant to end it (its StopSignal, or any
    when the image set none: moby's killWithSignal)."""
    if not user_paused(directory):
        return
    if stop_signal and signum not in (signal.SIGKILL, parse_signal(stop_signal)):
        return
    with file_lock(directory / _FREEZE_LOCK):
        if (directory / USER_PAUSE_MARK).exists():
            with contextlib.suppress(ContainerNotFound):
                _resume(runtime, container_id)
            (directory / USER_PAUSE_MARK).unlink(missing_ok=True)


def forget_user_pause(directory: Path) -> None:
    """At a start: a mark left by a paused container that was killed is stale."""
    (directory / USER_PAUSE_MARK).unlink(missing_ok=True)


def _runtime_paused(runtime: Runtime, container_id: str) -> bool:
    try:
        return runtime.state(container_id).get("status") == "paused"
    except DockyardError:
        return False


def _resume(runtime: Runtime, container_id: str) -> None:
    """``runtime resume``, content when the container is not frozen after all (a pauser
    killed between its mark and its ``runtime pause``)."""
    try:
        runtime.resume(container_id)
    except DockyardError:
        if runtime.state(container_id).get("status") == "paused":
            raise
