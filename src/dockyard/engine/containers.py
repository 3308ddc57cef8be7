"""``create``: a container record and its directory, from an image and the ``run`` flags.

Nothing is mounted or started here (``container_start`` does that): as in docker,
a created container is only a record, an empty writable layer and a name.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dockyard.digest import Digest
from dockyard.engine.names import check_name, random_name
from dockyard.errors import ConfigError, Conflict, ImageNotFound, InvalidDocument
from dockyard.reference import parse_reference
from dockyard.runtime.spec import RunOptions, command_line, merge_env
from dockyard.runtime.state import rfc3339_nano
from dockyard.store import containers as crecords
from dockyard.store import images as records
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

if TYPE_CHECKING:
    from dockyard.volumes.plan import MountPlan


class CreateOptions(NamedTuple):
    """The ``create``/``run`` flags, as parsed by the CLI."""

    image: str
    args: Sequence[str] = ()
    name: str | None = None
    entrypoint: str | None = None  # "" clears the image's entrypoint
    env: Sequence[str] = ()
    env_files: Sequence[str] = ()
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False
    network: str = "default"
    memory: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    init: bool = False
    auto_remove: bool = False
    read_only: bool = False
    runtime: str | None = None
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    labels: Mapping[str, str] = {}
    # -v values as given (``/dir`` ones become anonymous volumes, as Config.Volumes),
    # --mount entries as docker's API mount objects, --volumes-from values.
    binds: Sequence[str] = ()
    mounts: Sequence[dict[str, Any]] = ()
    volumes_from: Sequence[str] = ()
    # -p as HostConfig.PortBindings, -P, and the ports -p and --expose add to ExposedPorts
    port_bindings: Mapping[str, Any] = {}
    publish_all: bool = False
    exposed_ports: Mapping[str, Any] = {}


def container_dir(store: StoreView, container_id: str) -> Path:
    return store.layout.containers / container_id


def read_env_file(path: str) -> list[str]:
    """``--env-file`` as docker's CLI reads it (opts/file.go): a UTF-8 BOM dropped, lines
    stripped on the left, ``#`` comments and blank lines skipped, ``KEY=VALUE`` kept as
    it is, a bare ``KEY`` taking our environment's value if it has one."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise ConfigError(f"open {path}: {exc.strerror}") from exc
    entries = []
    for raw in text.removeprefix("\ufeff").splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if eq and not key:
            raise ConfigError(f"invalid env file ({path}): no variable name on line '{line}'")
        if any(c.isspace() for c in key):
            raise ConfigError(f"invalid env file ({path}): variable '{key}' contains whitespaces")
        if eq:
            entries.append(f"{key}={value}")
        elif (name := line.strip()) in os.environ:
            entries.append(f"{name}={os.environ[name]}")
        else:
            entries.append(name)
    return entries


def resolve_or_pull(store: StoreView, name: str) -> Digest:
    """The image's ID; a missing image is pulled when the pull code exists (as docker)."""
    try:
        return records.resolve_image(store.conn, name)
    except ImageNotFound:
        shown = parse_reference(name).with_default_tag().familiar
        print(f"Unable to find image '{shown}' locally", file=sys.stderr, flush=True)
        try:
            from dockyard.engine.progress import ProgressOutput
            from dockyard.engine.pull import pull_image
        except ImportError:
            raise ImageNotFound(f"No such image: {shown}") from None
        from dockyard.store.store import Store

        pull_image(Store(store.layout.root), name, output=ProgressOutput(out=sys.stderr))
        return records.resolve_image(store.conn, name)


def image_container_config(raw: bytes) -> dict[str, Any]:
    """The image config's ``config`` section, as docker spells it (PascalCase keys).

    Plain JSON rather than the msgspec model: this is on the ``run`` hot path.
    """
    try:
        section = json.loads(raw).get("config")
    except (ValueError, AttributeError) as exc:
        raise InvalidDocument(f"malformed image config: {exc}") from exc
    return section if isinstance(section, dict) else {}


def _config(opts: CreateOptions, image: dict[str, Any], hostname: str) -> dict[str, Any]:
    """Docker's container Config: the image's, overridden by the flags."""
    # The files in their order (a later one wins), then -e (docker's order).
    env = [entry for env_file in opts.env_files for entry in read_env_file(env_file)]
    env += opts.env
    entrypoint = image.get("Entrypoint")
    cmd = opts.args or image.get("Cmd")
    if opts.entrypoint is not None:
        entrypoint = opts.entrypoint.split() if opts.entrypoint else None
        cmd = opts.args or None
    config: dict[str, Any] = {
        "Hostname": hostname,
        "Domainname": "",
        "User": opts.user if opts.user is not None else image.get("User") or "",
        "AttachStdin": opts.interactive and not opts.detach,
        "AttachStdout": not opts.detach,
        "AttachStderr": not opts.detach,
        "Tty": opts.tty,
        "OpenStdin": opts.interactive,
        "StdinOnce": opts.interactive and not opts.detach,
        "Env": merge_env(image.get("Env") or [], env),
        "Cmd": cmd,
        "Image": opts.image,
        "Volumes": image.get("Volumes"),
        "WorkingDir": opts.workdir if opts.workdir is not None else image.get("WorkingDir") or "",
        "Entrypoint": entrypoint,
        "OnBuild": image.get("OnBuild"),
        "Labels": {**(image.get("Labels") or {}), **opts.labels},
    }
    for key in ("StopSignal", "ExposedPorts"):
        if image.get(key):
            config[key] = image[key]
    if opts.exposed_ports:
        config["ExposedPorts"] = {**(config.get("ExposedPorts") or {}), **opts.exposed_ports}
    return config


def _host_config(opts: CreateOptions, runtime: str) -> dict[str, Any]:
    return {
        "Binds": opts.binds or None,
        "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": opts.network,
        "PortBindings": dict(opts.port_bindings),
        "PublishAllPorts": opts.publish_all,
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": opts.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": opts.volumes_from or None,
        "CapAdd": opts.cap_add or None,
        "CapDrop": opts.cap_drop or None,
        "Privileged": opts.privileged,
        "ReadonlyRootfs": opts.read_only,
        "Init": opts.init or None,
        "Runtime": runtime,
        "Memory": opts.memory or 0,
        "NanoCpus": int((opts.cpus or 0) * 1e9),
        "PidsLimit": opts.pids_limit,
        "Mounts": opts.mounts or None,
    }


def _runtime_name(root: Path, wanted: str | None) -> str:
    """Fixed at create, as docker does: the named runtime, or this host's default."""
    from dockyard.runtime import detect

    return (detect.get_runtime(root, wanted) if wanted else detect.default_runtime(root)).name


def _pick_name(store: StoreView, wanted: str | None) -> str:
    if wanted:
        return check_name(wanted)
    for retry in range(10):
        name = random_name(retry)
        if not crecords.name_taken(store.conn, name):
            return name
    raise Conflict("could not find a free random container name")


def _plan_mounts(store: StoreView, opts: CreateOptions, config: dict[str, Any]) -> MountPlan | None:
    """Validate the mount flags (None without any: volumes stay off the fast path)."""
    if not (opts.binds or opts.mounts or opts.volumes_from or config.get("Volumes")):
        return None
    from dockyard.volumes.plan import plan_mounts

    plan = plan_mounts(store, opts.binds, opts.mounts, opts.volumes_from, config.get("Volumes"))
    if plan.anonymous:
        config["Volumes"] = {**(config.get("Volumes") or {}), **{d: {} for d in plan.anonymous}}
    plan.make_sources()
    return plan


def create_container(store: StoreView, opts: CreateOptions) -> ContainerRecord:
    """Record the container and make its directory; returns the record."""
    if opts.network not in ("none", "host", "default", "bridge"):
        raise ConfigError(f"network {opts.network} not found")
    if opts.workdir and not opts.workdir.startswith("/"):
        raise ConfigError(f"the working directory '{opts.workdir}' is invalid, it needs to be "
                          "an absolute path")  # fmt: skip
    image_id = resolve_or_pull(store, opts.image)
    image = image_container_config(records.get_image(store.conn, image_id).config)
    container_id = os.urandom(32).hex()
    # docker: the host's name on the host's network, else the short ID
    hostname = opts.hostname or (os.uname().nodename if opts.network == "host" else "")
    hostname = hostname or container_id[:12]
    config = _config(opts, image, hostname)
    argv = command_line(None, _run_options(config))
    plan = _plan_mounts(store, opts, config)
    if plan is not None:
        opts = opts._replace(binds=plan.binds)  # HostConfig.Binds: the -v values with a source
    record = ContainerRecord(
        id=container_id,
        name=_pick_name(store, opts.name),
        image_id=image_id,
        image_name=opts.image,
        created=rfc3339_nano(),
        config=config,
        host_config=_host_config(opts, _runtime_name(store.layout.root, opts.runtime)),
        path=argv[0],
        args=argv[1:],
    )
    directory = container_dir(store, container_id)
    (directory / "upper").mkdir(parents=True)
    volumes = plan.volumes_ready(store) if plan is not None else contextlib.nullcontext()
    try:
        with volumes, store.commit() as conn:
            # Checked again under the lock: an `rmi -f` may have won since the lookup.
            records.get_image(conn, image_id)
            layers = records.image_layers(conn, image_id)
            crecords.insert_container(conn, record, layers)
            if plan is not None:
                plan.record(conn, container_id)
    except BaseException:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        raise
    if plan is not None and plan.needs_copy_up():
        _copy_up_now(store, record)
    return record


def _copy_up_now(store: StoreView, record: ContainerRecord) -> None:
    """Fill the container's empty volumes with the image's content now, as docker does at
    create: a container that never starts (``--volumes-from`` a data container) shows it.
    A failure removes the container, as if it had never been made."""
    from dockyard.engine.container_start import container_lock, mount_container
    from dockyard.runtime.overlay import unmount_rootfs
    from dockyard.volumes.mounts import fill_volumes

    try:
        with container_lock(store, record.id):
            merged = mount_container(store, record)
            try:
                fill_volumes(store, record.id, merged)
            finally:
                unmount_rootfs(merged)
    except BaseException:
        from dockyard.engine.container_ops import remove_container

        remove_container(store, record, force=True, remove_volumes=True)
        raise


def _run_options(config: dict[str, Any]) -> RunOptions:
    return RunOptions(
        hostname=config["Hostname"],
        args=config.get("Cmd") or None,
        entrypoint=config.get("Entrypoint") or [],
    )


def run_options(record: ContainerRecord) -> RunOptions:
    """The runtime-spec options of a recorded container (at each start)."""
    config, host = record.config, record.host_config
    network = host.get("NetworkMode", "none")
    cpus = host.get("NanoCpus") or 0
    return RunOptions(
        hostname=config["Hostname"],
        args=config.get("Cmd") or None,
        entrypoint=config.get("Entrypoint") or [],
        env=list(config.get("Env") or []),
        workdir=config.get("WorkingDir") or None,
        user=config.get("User") or None,
        tty=bool(config.get("Tty")),
        privileged=bool(host.get("Privileged")),
        network="host" if network == "host" else "none",
        memory=host.get("Memory") or None,
        cpus=cpus / 1e9 if cpus else None,
        pids_limit=host.get("PidsLimit") or None,
        read_only=bool(host.get("ReadonlyRootfs")),
        init=bool(host.get("Init")),
        cap_add=list(host.get("CapAdd") or []),
        cap_drop=list(host.get("CapDrop") or []),
    )
