"""Helpers for end-to-end tests that drive the real docker engine next to dockyard.

- `require_dockerd()` skips the calling test, with the reason, when no daemon answers.
- `docker(...)` runs the docker client and fails the test with its stderr on error.
- `DockerImages` hands out unique image names and removes them all afterwards, so tests
  can run in parallel and leave the daemon as they found it.
- `dockyard(root, ...)` runs the dockyard CLI against a private store.

Docker must never reach a registry: every image a test runs or builds FROM is created
locally first, `docker run` gets `--pull=never`, and builds use the classic builder.
The test image itself comes from bench/fixtures.py, so tests and benchmarks share one
cached busybox rootfs (bench.fixtures is importable: pytest's pythonpath is the repo root).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bench import fixtures

busybox_rootfs_tar = fixtures.busybox_rootfs_tar
tar_directory = fixtures.tar_directory
docker_argv = fixtures.docker_argv


# ---------------------------------------------------------------------- docker


@functools.cache
def dockerd_unreachable_reason() -> str | None:
    return fixtures.dockerd_unreachable_reason()


def require_dockerd() -> None:
    reason = dockerd_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def _run(argv: list[str], check: bool, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {done.returncode}\nstdout: {done.stdout}\n"
                    f"stderr: {done.stderr}", pytrace=False)
    return done


def docker(*args: str | Path, check: bool = True,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _run([*docker_argv(), *map(str, args)], check, env)


def docker_image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def docker_diff_ids(ref: str) -> list[str]:
    listed = docker("image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}", ref)
    return listed.stdout.split()


def docker_build_classic(context: Path, ref: str) -> None:
    """The classic builder works offline given a local base image; BuildKit may not."""
    docker("build", "--quiet", "--network", "none", "-t", ref, context,
           env={"DOCKER_BUILDKIT": "0"})


def docker_run(ref: str, *command: str) -> subprocess.CompletedProcess[str]:
    # --pull=never: a missing image must fail here, not send docker to Docker Hub.
    # --network none: this machine's dockerd has no usable docker0 bridge.
    return docker("run", "--rm", "--pull=never", "--network", "none", ref, *command)


class DockerImages:
    """Unique image references for one test; `remove_all` deletes every one of them."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:10]
        self.refs: list[str] = []

    def ref(self, repository: str, tag: str = "latest") -> str:
        reference = f"{repository}-{self.token}:{tag}"
        self.refs.append(reference)
        return reference

    def remove_all(self) -> None:
        if self.refs:
            docker("rmi", "-f", *reversed(self.refs), check=False)


# -------------------------------------------------------------------- dockyard


def dockyard_argv() -> list[str]:
    """$DOCKYARD_BIN, else the console script next to this interpreter, else PATH."""
    override = os.environ.get("DOCKYARD_BIN")
    if override:
        return override.split()
    beside = Path(sys.executable).parent / "dockyard"
    return [str(beside)] if beside.exists() else ["dockyard"]


def dockyard(root: Path, *args: str | Path,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run([*dockyard_argv(), "--root", str(root), *map(str, args)], check)
