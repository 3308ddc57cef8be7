"""Container lifecycle after ``start``: stop, kill, restart, wait, rm, rename.

Any ``dockyard`` process may act on any container: the truth about a running
container is its ``state.json`` reconciled with its monitor (``current_status``),
and its runtime is reached through the runtime state directory recorded there.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from dockyard.engine import freezer
from dockyard.engine.container_start import (
    container_lock,
    has_mounts,
    runtime_for,
    start_detached,
)
from dockyard.engine.containers import container_dir
from dockyard.engine.names import check_name
from dockyard.errors import Conflict, DockyardError
from dockyard.removal import remove_tree
from dockyard.runtime.overlay import is_mounted, unmount_rootfs
from dockyard.runtime.runc import Runtime, parse_signal
from dockyard.runtime.state import STATE_LOST, ContainerState, current_status
from dockyard.store import containers as crecords
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

DEFAULT_STOP_TIMEOUT = 10  # seconds, as docker
_POLL = 0.02


def status_of(store: StoreView, record: ContainerRecord) -> ContainerState:
    directory = container_dir(store, record.id)
    freezer.thaw_if_abandoned(
        directory, lambda: _runtime(store, record, current_status(directory)), record.id
    )
    return current_status(directory)


def _runtime(store: StoreView, record: ContainerRecord, state: ContainerState) -> Runtime:
    if state.runtime_path:
        return Runtime(Path(state.runtime_path).name, state.runtime_path, Path(state.runtime_root))
    return runtime_for(store, record)


@contextlib.contextmanager
def frozen(store: StoreView, record: ContainerRecord) -> Iterator[None]:
    """A running container paused for the block (cgroup freezer), so that what it can do
    cannot race what we read or write of its filesystem: docker's ``commit -p`` and its
    fix for cp races (CVE-2018-15664). A stopped container needs nothing."""
    state = status_of(store, record)
    if not state.running:
        yield
        return
    with freezer.frozen(container_dir(store, record.id), _runtime(store, record, state),
                        record.id, lambda: status_of(store, record).running):
        yield


def is_paused(store: StoreView, record: ContainerRecord, state: ContainerState) -> bool:
    """Paused by the user (``pause``): running, with every process frozen."""
    return state.running and freezer.user_paused(container_dir(store, record.id))


def pause_container(store: StoreView, record: ContainerRecord) -> None:
    state = status_of(store, record)
    freezer.pause_for_user(container_dir(store, record.id), _runtime(store, record, state),
                           record.id, lambda: status_of(store, record).running)  # fmt: skip


def unpause_container(store: StoreView, record: ContainerRecord) -> None:
    state = status_of(store, record)
    if not state.running:
        raise Conflict(f"Container {record.id} is not paused")
    freezer.resume_for_user(container_dir(store, record.id), _runtime(store, record, state),
                            record.id)  # fmt: skip


def _signalled(
    store: StoreView, record: ContainerRecord, runtime: Runtime, signal: str = "SIGKILL"
) -> None:
    """Resume a paused container the signal is meant to end (freezer.resume_after_signal)."""
    freezer.resume_after_signal(container_dir(store, record.id), runtime, record.id,
                                parse_signal(signal), record.config.get("StopSignal"))  # fmt: skip


def wait_exited(store: StoreView, record: ContainerRecord, timeout: float | None) -> ContainerState:
    """Poll until the container is not running (or ``timeout`` seconds pass).

    As docker's wait: a container that never ran (``created``, perhaps after a failed
    start) is not running already; its exit code is then that of the failure, or 0.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = _POLL
    while True:
        state = status_of(store, record)
        if not state.running:
            return state._replace(exit_code=0) if state.exit_code is None else state
        if deadline is not None and time.monotonic() >= deadline:
            return state
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def kill_container(store: StoreView, record: ContainerRecord, signal: str = "SIGKILL") -> None:
    state = status_of(store, record)
    if not state.running:
        raise Conflict(
            f"Cannot kill container: {record.name}: Container {record.id} is not running"
        )
    runtime = _runtime(store, record, state)
    with contextlib.suppress(Conflict):  # it exited in between
        runtime.kill(record.id, signal)
    _signalled(store, record, runtime, signal)


def stop_container(store: StoreView, record: ContainerRecord, timeout: int | None = None) -> None:
    """The image's StopSignal (SIGTERM by default), then SIGKILL after ``timeout`` s."""
    state = status_of(store, record)
    if not state.running:
        return
    runtime = _runtime(store, record, state)
    wait = DEFAULT_STOP_TIMEOUT if timeout is None else timeout
    signal = record.config.get("StopSignal") or "SIGTERM"
    if wait != 0:
        try:
            runtime.kill(record.id, signal)
        except Conflict:
            return
        _signalled(store, record, runtime, signal)
        if not wait_exited(store, record, None if wait < 0 else wait).running:
            return
    with contextlib.suppress(Conflict):
        runtime.kill(record.id, "SIGKILL", all_processes=True)
    _signalled(store, record, runtime)
    wait_exited(store, record, None)


def restart_container(
    store: StoreView, record: ContainerRecord, timeout: int | None = None
) -> None:
    stop_container(store, record, timeout)
    start_detached(store, record)


def remove_container(
    store: StoreView, record: ContainerRecord, force: bool = False, remove_volumes: bool = False
) -> None:
    """``rm``: refuse a running container unless ``force`` (then kill it first).

    ``remove_volumes`` (``rm -v``, ``run --rm``) also removes the container's anonymous
    volumes that no other container uses; named volumes and bind data always stay.
    """
    directory = container_dir(store, record.id)
    with container_lock(store, record.id):
        state = status_of(store, record)
        if state.running:
            if not force and freezer.user_paused(directory):
                raise Conflict(f'cannot remove container "/{record.name}": container is '
                               "paused and must be unpaused first")  # fmt: skip
            if not force:
                raise Conflict(
                    f'cannot remove container "/{record.name}": container is running: '
                    "stop the container before removing or force remove"
                )
            runtime = _runtime(store, record, state)
            with contextlib.suppress(Conflict):
                runtime.kill(record.id, "SIGKILL", all_processes=True)
            _signalled(store, record, runtime)
            if wait_exited(store, record, DEFAULT_STOP_TIMEOUT).running:
                runtime.delete(record.id, force=True)
        elif state.error.startswith(STATE_LOST):
            # Its state file went with a power loss: the runtime's record of it may stay.
            with contextlib.suppress(DockyardError):
                runtime_for(store, record).delete(record.id, force=True)
        anonymous = _anonymous_volumes(store, record) if remove_volumes else []
        with store.commit() as conn:
            crecords.delete_container(conn, record.id)
        _remove_tree(store, directory)
    if anonymous:
        from dockyard.volumes.local import remove_unused

        remove_unused(store, anonymous)


def _anonymous_volumes(store: StoreView, record: ContainerRecord) -> list[str]:
    if not has_mounts(record):
        return []
    from dockyard.store.volumes import anonymous_volumes_of

    return anonymous_volumes_of(store.conn, record.id)


def _remove_tree(store: StoreView, directory: Path) -> None:
    """Rename out of sight first, so a half-removed directory is never seen as a container.

    The rootfs is unmounted (lazily if busy) right before: a mount left under the
    directory would outlive it."""
    merged = directory / "merged"
    if is_mounted(merged):
        unmount_rootfs(merged)
    trash = store.layout.tmp / f".trash-container-{directory.name}-{time.time_ns()}"
    try:
        directory.rename(trash)
    except FileNotFoundError:
        return
    remove_tree(trash)


def rename_container(store: StoreView, record: ContainerRecord, new_name: str) -> None:
    name = check_name(new_name)
    if name == record.name:
        raise Conflict("Renaming a container with the same name as its current name")
    with store.commit() as conn:
        crecords.rename_container(conn, record.id, name)
