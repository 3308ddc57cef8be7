"""Fixtures for the runtime tests: a busybox layer, a runtime, containers on overlayfs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.runtime.detect import get_runtime
from dockyard.runtime.etcfiles import write_etc_files
from dockyard.runtime.overlay import ensure_init_layer, mount_rootfs, unmount_rootfs
from dockyard.runtime.runc import Runtime
from dockyard.runtime.spec import RunOptions, build_spec, write_spec

BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh", "true", "false", "echo", "cat", "ls", "sleep", "id", "hostname", "mount", "env", "pwd",
    "touch", "rm", "mkdir", "ps", "kill", "grep", "wc", "head", "stat", "printf", "test", "stty",
)  # fmt: skip

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts, runc)")
needs_runc = pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed")
needs_busybox = pytest.mark.skipif(
    not BUSYBOX.exists(), reason="busybox-static is not installed (/bin/busybox)"
)
container_test = [needs_root, needs_runc, needs_busybox]

LAYER_ID = "b" * 64


def make_busybox_layer(diff: Path) -> None:
    """A minimal image root: busybox, its applets, /etc/passwd and /etc/group."""
    (diff / "bin").mkdir(parents=True)
    (diff / "etc").mkdir()
    (diff / "tmp").mkdir(mode=0o1777)
    shutil.copy(BUSYBOX, diff / "bin" / "busybox")
    for applet in APPLETS:
        (diff / "bin" / applet).symlink_to("busybox")
    (diff / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (diff / "etc" / "group").write_text(
        "root:x:0:\ndaemon:x:1:\nkmem:x:9:daemon\nnogroup:x:65534:\n"
    )
    (diff / "etc" / "not-executable").write_text("#!/bin/sh\necho no\n")


@pytest.fixture
def dockyard_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    return root


@pytest.fixture
def busybox_layer(dockyard_root: Path) -> Path:
    diff = dockyard_root / "layers" / LAYER_ID / "diff"
    make_busybox_layer(diff)
    return diff


@pytest.fixture
def runtime(dockyard_root: Path) -> Runtime:
    return get_runtime(dockyard_root, "runc")


@dataclass
class Container:
    """A mounted container directory with a written config.json."""

    id: str
    dir: Path
    runtime: Runtime

    @property
    def merged(self) -> Path:
        return self.dir / "merged"


MakeContainer = Callable[..., Container]


@pytest.fixture
def make_container(
    dockyard_root: Path, busybox_layer: Path, runtime: Runtime
) -> Iterator[MakeContainer]:
    """``make_container(*args, **RunOptions fields)`` mounts a rootfs and writes its spec."""
    made: list[Container] = []

    def make(*args: str, **options: Any) -> Container:
        container_id = f"dytest{os.getpid()}x{len(made)}"
        container_dir = dockyard_root / "containers" / container_id
        container_dir.mkdir(parents=True)
        mount_rootfs(
            [ensure_init_layer(dockyard_root / "layers"), busybox_layer],
            container_dir / "upper",
            container_dir / "work",
            container_dir / "merged",
            dockyard_root / "layers",
        )
        container = Container(container_id, container_dir, runtime)
        made.append(container)
        opts = RunOptions(hostname=str(options.pop("hostname", container_id[:12])))
        opts = opts._replace(**options, args=list(args) or None)
        opts = opts._replace(
            mounts=[*opts.mounts, *write_etc_files(container_dir, opts.hostname, opts.network)]
        )
        spec = build_spec(None, opts, container_id=container_id, rootfs=container.merged)
        write_spec(container_dir, spec)
        return container

    yield make
    for container in made:
        runtime.delete(container.id, force=True)
        unmount_rootfs(container.merged)
