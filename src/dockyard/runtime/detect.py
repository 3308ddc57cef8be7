"""Choosing the OCI runtime: ``--runtime NAME``, or the first of runc/crun that works here.

"Works" is decided by running a trivial container once (crun 1.8, for one, is
installed fine but refuses hybrid cgroup hosts only when it creates a container);
the answer is cached in ``<root>/runtime/default`` so later runs pay nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from dockyard.errors import ConfigError, OCIRuntimeFailed
from dockyard.runtime.runc import Runtime

CANDIDATES = ("runc", "crun")
CACHE_NAME = "default"
# Host directories bound read-only into the probe container, so /bin/true runs.
_PROBE_BINDS = ("/usr", "/bin", "/lib", "/lib64", "/sbin")


def runtime_dir(root: Path, name: str) -> Path:
    return root / "runtime" / name


def _which(name: str) -> str | None:
    # shutil.which, without importing shutil (and its imports) on the ``run`` path.
    if "/" in name:
        return name if os.access(name, os.X_OK) else None
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def get_runtime(root: Path, name: str) -> Runtime:
    """The runtime called ``name`` (a command on PATH or an absolute path)."""
    path = _which(name)
    if path is None:
        raise ConfigError(f"unknown or invalid runtime name: {name}")
    base = os.path.basename(name)
    return Runtime(name=base, path=path, state_root=runtime_dir(root, base) / "state")


def default_runtime(root: Path) -> Runtime:
    """The first of runc/crun that runs a container here; probed once, then cached."""
    cache = root / "runtime" / CACHE_NAME
    try:
        name, path = cache.read_text().split("\n")[:2]
    except (OSError, ValueError):
        pass
    else:
        if os.access(path, os.X_OK):
            return Runtime(name=name, path=path, state_root=runtime_dir(root, name) / "state")
    failures = []
    for name in CANDIDATES:
        if _which(name) is None:
            continue
        runtime = get_runtime(root, name)
        reason = probe(runtime, root)
        if reason is None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{CACHE_NAME}.{os.getpid()}")
            tmp.write_text(f"{runtime.name}\n{runtime.path}\n")
            os.replace(tmp, cache)
            return runtime
        failures.append(f"{name}: {reason}")
    raise ConfigError(
        "no working OCI runtime (install runc or crun)"
        + (": " + "; ".join(failures) if failures else "")
    )


def _probe_spec(rootfs: Path) -> dict[str, object]:
    mounts: list[dict[str, object]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
    ]
    for host in _PROBE_BINDS:
        if os.path.isdir(host) and not os.path.islink(host):
            mounts.append(
                {"destination": host, "type": "bind", "source": host, "options": ["rbind", "ro"]}
            )
        elif os.path.islink(host):  # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(host), rootfs / host.lstrip("/"))
    return {
        "ociVersion": "1.0.2",
        "process": {
            "args": ["/bin/true"],
            "cwd": "/",
            "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/usr/bin:/bin"],
        },
        "root": {"path": str(rootfs), "readonly": True},
        "mounts": mounts,
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts")]},
    }


def probe(runtime: Runtime, root: Path) -> str | None:
    """Run ``/bin/true`` in a throw-away container; None if it worked, else why not."""
    import tempfile

    scratch = root / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="probe-") as tmp:
        bundle = Path(tmp)
        rootfs = bundle / "rootfs"
        rootfs.mkdir()
        (bundle / "config.json").write_text(json.dumps(_probe_spec(rootfs)))
        probe_runtime = Runtime(runtime.name, runtime.path, bundle / "state")
        container_id = f"dockyard-probe-{os.getpid()}"
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            code = probe_runtime.run(
                container_id, bundle, stdin=devnull, stdout=devnull, stderr=devnull
            )
        except OCIRuntimeFailed as exc:
            return exc.stderr.strip() or f"exit status {exc.returncode}"
        finally:
            os.close(devnull)
            # A broken runtime may fail this too; its state lives in tmp, removed below.
            with contextlib.suppress(OCIRuntimeFailed):
                probe_runtime.delete(container_id, force=True)
        return None if code == 0 else f"exit status {code}"
