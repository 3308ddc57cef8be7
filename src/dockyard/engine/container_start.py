"""Starting a container: mount its rootfs, write its bundle, run it in one of three ways.

- detached (``run -d``, ``start``): under a forked monitor that outlives us;
- in the foreground without a terminal (``run``, ``start -a``): we are the monitor;
- on a terminal (``run -it``, ``start -ai``): a monitor holds the pty, we relay it.

The rootfs is an overlay of the shared init layer and the image's layers (top
first) under the container's own upper/; it is unmounted when the container exits
(by the monitor, or by us in the foreground), so a stopped container holds no mount.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockyard.engine import freezer
from dockyard.engine.containers import container_dir, run_options
from dockyard.runtime.mounts import Mount
from dockyard.runtime.overlay import ensure_init_layer, is_mounted, mount_rootfs, unmount_rootfs
from dockyard.runtime.runc import Runtime
from dockyard.runtime.spec import STOP_SIGNAL_ANNOTATION, build_spec, write_spec
from dockyard.store import containers as crecords
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView
from dockyard.store.locks import file_lock


@contextlib.contextmanager
def container_lock(store: StoreView, container_id: str) -> Iterator[None]:
    """Serialises start / stop / rm of one container across dockyard processes."""
    with file_lock(store.layout.locks / f"container-{container_id}.lock"):
        yield


def runtime_for(store: StoreView, record: ContainerRecord) -> Runtime:
    from dockyard.runtime import detect

    name = record.host_config.get("Runtime")
    root = store.layout.root
    return detect.get_runtime(root, name) if name else detect.default_runtime(root)


def lower_dirs(store: StoreView, record: ContainerRecord) -> list[Path]:
    """The overlay lowers, top first: the init layer, then the image's layers.

    A layer an image has twice (docker keys its layers by ChainID, so it can) is one
    directory here, which overlayfs takes only once: its top-most place is kept, which
    shows the same files, its copy below being hidden under it whole."""
    layers = crecords.container_layers(store.conn, record.id)
    image_dirs = [store.layer_diff_dir(layer.diff_id) for layer in reversed(layers)]
    return [ensure_init_layer(store.layout.layers), *dict.fromkeys(image_dirs)]


def mount_container(store: StoreView, record: ContainerRecord, *, to_run: bool = False) -> Path:
    """Mount the container's rootfs (if it is not mounted yet); returns merged/.

    ``to_run``: for the container to run, volatile (no sync at unmount) if it is
    removed when it ends; a mount for ``cp`` or ``export`` never is (the kernel refuses
    to mount an upper again after a volatile mount)."""
    directory = container_dir(store, record.id)
    merged = directory / "merged"
    if not is_mounted(merged):
        mount_rootfs(
            lower_dirs(store, record),
            directory / "upper",
            directory / "work",
            merged,
            store.layout.layers,
            volatile=to_run and bool(record.host_config.get("AutoRemove")),
        )
    return merged


def has_mounts(record: ContainerRecord) -> bool:
    """Whether ``create`` recorded mount points (else the volumes code is not even imported)."""
    host = record.host_config
    return bool(
        host.get("Binds")
        or host.get("Mounts")
        or host.get("VolumesFrom")
        or record.config.get("Volumes")
    )


def volume_mounts(store: StoreView, record: ContainerRecord, rootfs: Path) -> list[Mount]:
    """The container's binds, volumes and tmpfs mounts as runtime mounts (empty volumes
    are filled from the mounted ``rootfs`` first, on the container's first start)."""
    if not has_mounts(record):
        return []
    from dockyard.volumes.mounts import runtime_mounts

    return runtime_mounts(store, record.id, rootfs)


def prepare_bundle(store: StoreView, record: ContainerRecord) -> Path:
    """Mount the rootfs and write config.json and the /etc files; returns the bundle."""
    from dockyard.runtime.etcfiles import write_etc_files

    directory = container_dir(store, record.id)
    freezer.forget_user_pause(directory)  # left by a paused container that was killed
    merged = mount_container(store, record, to_run=True)
    try:
        opts = run_options(record)
        mounts = volume_mounts(store, record, merged)
        # A user's own mount of /etc/hosts (or hostname, resolv.conf) wins over ours, as
        # docker's HasMountFor: ours would be mounted over it and hide it.
        taken = {mount.destination for mount in mounts}
        generated = write_etc_files(directory, opts.hostname, opts.network)
        opts = opts._replace(mounts=mounts + [m for m in generated if m.destination not in taken])
        spec = build_spec(None, opts, container_id=record.id, rootfs=merged)
        stop_signal = record.config.get("StopSignal")
        if stop_signal:
            spec["annotations"] = {STOP_SIGNAL_ANNOTATION: stop_signal}
        write_spec(directory, spec)
    except BaseException:
        unmount_rootfs(merged)
        raise
    return directory


def published_ports(record: ContainerRecord) -> list[Any]:
    """The ports the container publishes at this start (``PortRequest``s); none on the
    host's network, where its ports are the host's, nor with ``--network none``."""
    host = record.host_config
    if host.get("NetworkMode") in ("host", "none") or not (
        host.get("PortBindings") or host.get("PublishAllPorts")
    ):
        return []
    from dockyard.network.ports import requests_from_host_config

    return requests_from_host_config(host, record.config.get("ExposedPorts"))


def _remove_argv(store: StoreView, container_id: str) -> list[str]:
    """What the monitor runs after an ``--rm`` container exits."""
    code = "from dockyard.cli.main import main; main()"
    root = str(store.layout.root)
    return [sys.executable, "-c", code, "--root", root, "rm", "-f", "-v", container_id]


def _monitor_config(store: StoreView, record: ContainerRecord, bundle: Path) -> Any:
    from dockyard.runtime.monitor import MonitorConfig

    runtime = runtime_for(store, record)
    return MonitorConfig(
        container_id=record.id,
        container_dir=str(bundle),
        runtime_path=runtime.path,
        runtime_root=str(runtime.state_root),
        tty=bool(record.config.get("Tty")),
        open_stdin=bool(record.config.get("OpenStdin")),
        on_exit=_remove_argv(store, record.id) if record.host_config.get("AutoRemove") else [],
        rootfs=str(bundle / "merged"),
        ports=[request.to_json() for request in published_ports(record)],
    )


def is_running(store: StoreView, record: ContainerRecord) -> bool:
    from dockyard.runtime.state import current_status

    return current_status(container_dir(store, record.id)).running


def is_paused_now(store: StoreView, record: ContainerRecord) -> bool:
    return is_running(store, record) and freezer.user_paused(container_dir(store, record.id))


def _refuse_paused(store: StoreView, record: ContainerRecord) -> None:
    """docker's start of a paused container (which runs, frozen): refused."""
    if is_paused_now(store, record):
        from dockyard.errors import Conflict

        raise Conflict("cannot start a paused container, try unpause instead")


def _refuse_running(store: StoreView, record: ContainerRecord) -> None:
    _refuse_paused(store, record)
    if is_running(store, record):
        from dockyard.errors import Conflict

        raise Conflict(f"container {record.id} is already running")


def start_detached(store: StoreView, record: ContainerRecord) -> None:
    """Start under a monitor and return once it runs; a no-op if it already does."""
    from dockyard.runtime import launch

    with container_lock(store, record.id):
        _refuse_paused(store, record)
        if is_running(store, record):
            return
        bundle = prepare_bundle(store, record)
        try:
            launch.start_detached(_monitor_config(store, record, bundle))
        except BaseException:
            unmount_rootfs(bundle / "merged")  # the monitor did, unless it never ran
            raise


def run_in_foreground(store: StoreView, record: ContainerRecord, *, interactive: bool) -> int:
    """Run without a terminal, output to ours and to the log; the exit code.

    A ``--rm`` container (``run``, or ``start -a`` of one made by ``create --rm``) is
    removed when it ends, or fails to start, as docker's daemon removes it."""
    from dockyard.runtime.foreground import run_foreground

    auto_remove = bool(record.host_config.get("AutoRemove"))
    try:
        with container_lock(store, record.id):
            _refuse_running(store, record)
            bundle = prepare_bundle(store, record)
        try:
            return run_foreground(
                runtime_for(store, record),
                record.id,
                bundle,
                stdin=0 if interactive else None,
                ports=published_ports(record),
                after_signal=lambda signum: _resume_if_paused(store, record, signum),
                volatile=auto_remove,
            )
        finally:
            unmount_rootfs(bundle / "merged")
    finally:
        # Not one that runs after all: another process started it (our Conflict).
        if auto_remove and not is_running(store, record):
            from dockyard.engine.container_ops import remove_container

            remove_container(store, record, force=True, remove_volumes=True)


def _resume_if_paused(store: StoreView, record: ContainerRecord, signum: int) -> None:
    """After the sig-proxy passed ``signum`` on: a paused container must be resumed to act."""
    directory = container_dir(store, record.id)
    if freezer.user_paused(directory):
        freezer.resume_after_signal(directory, runtime_for(store, record), record.id, signum,
                                    record.config.get("StopSignal"))  # fmt: skip


def run_on_terminal(store: StoreView, record: ContainerRecord, *, interactive: bool) -> int | None:
    """Be the container's terminal; its exit code, or None when the user detached.

    Our stdin is relayed only with ``interactive`` (``-i``), as docker's ``run -t``."""
    from dockyard.runtime import launch

    with container_lock(store, record.id):
        _refuse_running(store, record)
        bundle = prepare_bundle(store, record)
    try:
        config = _monitor_config(store, record, bundle)
        return launch.run_attached(config, stdin=0 if interactive else None, stdout=1)
    except BaseException:
        unmount_rootfs(bundle / "merged")
        raise
