"""The OCI runtime spec (``config.json``) of a container, with docker's defaults.

Input: the image's ``config`` section and the ``run`` flags (``RunOptions``).
Output: a plain dict ready for ``json.dumps``; ``write_spec`` puts it in the bundle.
Cheap on purpose (it is on the ``run`` hot path): no subprocess, a handful of
small file reads (passwd, group, cgroup probes).
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from dockyard.errors import ConfigError
from dockyard.runtime import defaults
from dockyard.runtime.mounts import Mount, default_mounts
from dockyard.runtime.users import resolve_user

if TYPE_CHECKING:
    from dockyard.image.config import ContainerConfig

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal"
INIT_PATH = "/sbin/docker-init"  # where docker puts its init (tini) in the container
HOST_INIT_CANDIDATES = ("/usr/bin/docker-init", "/usr/bin/tini-static", "/usr/bin/tini")
CPU_PERIOD = 100_000

NetworkMode = Literal["none", "host"]


class RunOptions(NamedTuple):
    """The ``run``/``create`` flags that shape the spec.

    ``args`` replaces the image's Cmd; ``entrypoint`` (``[]`` clears it) replaces the
    image's Entrypoint and, as in docker, drops the image's Cmd.  ``env`` entries are
    ``KEY=VALUE`` (a bare ``KEY`` takes the caller's value, or is skipped).
    ``memory`` is in bytes, ``cpus`` a fraction of CPUs; resources are applied only
    where the cgroup controller exists on this host.
    """

    hostname: str
    args: list[str] | None = None
    entrypoint: list[str] | None = None
    env: Sequence[str] = ()
    workdir: str | None = None
    user: str | None = None
    tty: bool = False
    privileged: bool = False
    network: NetworkMode = "none"
    memory: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    read_only: bool = False
    mounts: Sequence[Mount] = ()
    init: bool = False
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()


def command_line(image: ContainerConfig | None, opts: RunOptions) -> list[str]:
    """Entrypoint + Cmd as docker combines them; ConfigError if nothing is left."""
    if opts.entrypoint is not None:
        entrypoint, cmd = opts.entrypoint, opts.args or []
    else:
        entrypoint = (image.entrypoint if image else None) or []
        cmd = opts.args or (image.cmd if image else None) or []
    argv = list(entrypoint) + list(cmd)
    if not argv:
        raise ConfigError("no command specified")
    return argv


def merge_env(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """Docker's ReplaceOrAppendEnvValues: later ``KEY=...`` replace earlier, order kept."""
    merged: dict[str, str] = {}
    for item in [*base, *overrides]:
        key, sep, _ = item.partition("=")
        if sep:
            merged[key] = item
        elif key in os.environ:
            merged[key] = f"{key}={os.environ[key]}"
    return list(merged.values())


def process_env(image: ContainerConfig | None, opts: RunOptions) -> list[str]:
    daemon = [DEFAULT_PATH, f"HOSTNAME={opts.hostname}"] + (["TERM=xterm"] if opts.tty else [])
    return merge_env(daemon, [*((image.env if image else None) or []), *opts.env])


def _capabilities(opts: RunOptions) -> dict[str, list[str]]:
    if opts.privileged:
        caps = defaults.known_capabilities()
    else:
        caps = list(defaults.DEFAULT_CAPABILITIES)
        wanted = [_cap_name(c) for c in opts.cap_add]
        caps = defaults.known_capabilities() if "CAP_ALL" in wanted else caps + wanted
        dropped = {_cap_name(c) for c in opts.cap_drop}
        caps = [] if "CAP_ALL" in dropped else [c for c in dict.fromkeys(caps) if c not in dropped]
    return {kind: caps for kind in ("bounding", "effective", "permitted")}


def _cap_name(name: str) -> str:
    name = name.upper()
    return name if name.startswith("CAP_") else f"CAP_{name}"


def _resources(opts: RunOptions, controllers: frozenset[str]) -> dict[str, object]:
    resources: dict[str, object] = {"devices": defaults.device_rules(privileged=opts.privileged)}
    if opts.memory is not None and "memory" in controllers:
        resources["memory"] = {"limit": opts.memory}
    if opts.cpus is not None and "cpu" in controllers:
        resources["cpu"] = {"quota": int(opts.cpus * CPU_PERIOD), "period": CPU_PERIOD}
    if opts.pids_limit is not None and "pids" in controllers:
        resources["pids"] = {"limit": opts.pids_limit}
    return resources


def _namespaces(opts: RunOptions) -> list[dict[str, str]]:
    kinds = ["pid", "ipc", "uts", "mount"] + ([] if opts.network == "host" else ["network"])
    return [{"type": kind} for kind in kinds]


def _init_mount() -> Mount:
    for candidate in HOST_INIT_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Mount.bind(candidate, INIT_PATH, read_only=True)
    raise ConfigError("--init needs docker-init or tini on the host (Debian package tini)")


def ensure_workdir(rootfs: Path, workdir: str) -> None:
    """Create a missing working directory as docker does, never following symlinks.

    The path is cleaned first, as docker's filepath.Clean: ``..`` stops at the root (a
    ``-w /../../x`` must not create ``x`` beside the rootfs, on the host)."""
    current = rootfs
    for part in posixpath.normpath(workdir).split("/"):
        if not part:
            continue
        current = current / part
        if current.is_symlink():
            return  # the runtime resolves it inside the container
        try:
            current.mkdir(mode=0o755)
        except FileExistsError:
            if not current.is_dir():
                inside = "/" + str(current.relative_to(rootfs))
                raise ConfigError(f"the working directory '{workdir}' cannot be made: "
                                  f"{inside} is not a directory") from None  # fmt: skip


def build_spec(
    image: ContainerConfig | None, opts: RunOptions, *, container_id: str, rootfs: Path
) -> dict[str, object]:
    """The runtime spec for a container whose mounted root filesystem is ``rootfs``.

    The rootfs must be mounted: ``-u name`` is resolved against its /etc/passwd.
    """
    argv = command_line(image, opts)
    mounts = [m.to_spec() for m in opts.mounts]
    if opts.init:
        argv = [INIT_PATH, "--", *argv]
        mounts.append(_init_mount().to_spec())
    cwd = opts.workdir or (image.working_dir if image else None) or "/"
    if not cwd.startswith("/"):
        raise ConfigError(f"the working directory '{cwd}' is invalid, it needs to be an "
                          "absolute path")  # fmt: skip
    ensure_workdir(rootfs, cwd)
    user = resolve_user(rootfs, opts.user or (image.user if image else None))
    linux: dict[str, object] = {
        "namespaces": _namespaces(opts),
        "resources": _resources(opts, defaults.cgroup_controllers()),
        "cgroupsPath": f"/dockyard/{container_id}",
    }
    if opts.privileged:
        linux["devices"] = defaults.host_devices()
    else:
        linux["maskedPaths"] = list(defaults.MASKED_PATHS)
        linux["readonlyPaths"] = list(defaults.READONLY_PATHS)
    spec: dict[str, object] = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": opts.tty,
            "user": user.to_spec(),
            "args": argv,
            "env": process_env(image, opts),
            "cwd": cwd,
            "capabilities": _capabilities(opts),
            "rlimits": defaults.rlimits(),
        },
        "root": {"path": str(rootfs), "readonly": opts.read_only},
        "hostname": opts.hostname,
        "mounts": default_mounts(privileged=opts.privileged) + mounts,
        "linux": linux,
    }
    if image is not None and image.stop_signal:
        spec["annotations"] = {STOP_SIGNAL_ANNOTATION: image.stop_signal}
    return spec


def write_spec(bundle: Path, spec: dict[str, object]) -> Path:
    """Write ``<bundle>/config.json`` atomically and return its path."""
    path = bundle / "config.json"
    tmp = bundle / ".config.json.tmp"
    tmp.write_text(json.dumps(spec, separators=(",", ":")))
    os.replace(tmp, path)
    return path


def join_network_namespace(bundle: Path, netns_path: str) -> None:
    """Have the container join an existing network namespace instead of making one."""
    path = bundle / "config.json"
    spec = json.loads(path.read_bytes())
    namespaces = spec["linux"]["namespaces"]
    spec["linux"]["namespaces"] = [ns for ns in namespaces if ns.get("type") != "network"] + [
        {"type": "network", "path": netns_path}
    ]
    write_spec(bundle, spec)
