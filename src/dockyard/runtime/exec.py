"""``exec``: run another process in a running container (``runtime exec --process``).

The process spec starts from the container's own ``process`` in config.json (its
env, capabilities, rlimits) and applies the exec flags, as docker does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import (
    ConfigError,
    StoreError,
)
from dockyard.runtime import defaults
from dockyard.runtime.runc import Runtime
from dockyard.runtime.spec import merge_env
from dockyard.runtime.users import resolve_user


@dataclass
class ExecOptions:
    """``exec`` flags.  ``tty`` is honoured in the foreground only (the runtime then
    relays the terminal itself, from our stdin); ``-d`` runs without one."""

    args: list[str]
    env: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False


def _container_spec(bundle: Path) -> dict[str, object]:
    try:
        spec = json.loads((bundle / "config.json").read_bytes())
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read the container's runtime spec: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("process"), dict):
        raise StoreError("the container's runtime spec has no process")
    return spec


def exec_process_spec(bundle: Path, opts: ExecOptions) -> dict[str, object]:
    """The ``process.json`` for an exec into the container whose bundle is ``bundle``."""
    if not opts.args:
        raise ConfigError("no command specified")
    spec = _container_spec(bundle)
    base = spec["process"]
    assert isinstance(base, dict)
    env = base.get("env") or []
    assert isinstance(env, list)
    process: dict[str, object] = dict(base)
    process["args"] = list(opts.args)
    process["terminal"] = opts.tty and not opts.detach
    process["env"] = merge_env(env, opts.env)
    if opts.workdir:
        process["cwd"] = opts.workdir
    if opts.user:
        root = spec.get("root")
        rootfs = Path(str(root.get("path"))) if isinstance(root, dict) else bundle / "rootfs"
        process["user"] = resolve_user(rootfs, opts.user).to_spec()
    if opts.privileged:
        caps = defaults.known_capabilities()
        process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    process.pop("consoleSize", None)
    return process


def exec_in_container(
    runtime: Runtime,
    container_id: str,
    bundle: Path,
    opts: ExecOptions,
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
) -> int:
    """Run the exec; its exit code (0 once started with ``detach``).

    Without ``interactive`` the process's stdin is /dev/null.  Raises
    ContainerCommandNotFound (127) / ContainerCommandNotExecutable (126) /
    OCIRuntimeFailed as ``Runtime.run`` does.
    """
    token = os.urandom(6).hex()
    process_json = bundle / f"exec-{token}.json"
    log = bundle / f"exec-{token}.log"
    process_json.write_text(json.dumps(exec_process_spec(bundle, opts)))
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        if not opts.interactive:
            stdin = devnull
        if opts.detach:
            stdin, stdout, stderr = devnull, devnull, devnull
        return runtime.exec(
            container_id,
            process_json,
            detach=opts.detach,
            log=log,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )
    finally:
        os.close(devnull)
        process_json.unlink(missing_ok=True)
        log.unlink(missing_ok=True)
