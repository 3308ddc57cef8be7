"""The generated runtime spec: docker's command, env, user, security and resource rules."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import ConfigError, UserNotFound
from dockyard.image.config import ContainerConfig
from dockyard.runtime import defaults
from dockyard.runtime.etcfiles import container_resolv_conf, write_etc_files
from dockyard.runtime.mounts import Mount
from dockyard.runtime.spec import (
    DEFAULT_PATH,
    STOP_SIGNAL_ANNOTATION,
    RunOptions,
    build_spec,
    command_line,
    merge_env,
)
from dockyard.runtime.users import ExecUser, resolve_user

from .conftest import make_busybox_layer


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    make_busybox_layer(root)
    return root


def spec_for(rootfs: Path, image: ContainerConfig | None = None, **options: Any) -> dict[str, Any]:
    opts = RunOptions(hostname=options.pop("hostname", "h"), **options)
    return build_spec(image, opts, container_id="cid", rootfs=rootfs)


IMAGE = ContainerConfig(entrypoint=["/entry"], cmd=["default", "args"], env=["A=1", "PATH=/x"])


@pytest.mark.parametrize(
    ("image", "args", "entrypoint", "expected"),
    [
        (IMAGE, None, None, ["/entry", "default", "args"]),
        (IMAGE, ["mine"], None, ["/entry", "mine"]),
        (IMAGE, None, ["/other"], ["/other"]),  # --entrypoint drops the image's Cmd
        (IMAGE, ["x"], [], ["x"]),  # --entrypoint ""
        (ContainerConfig(cmd=["sh"]), None, None, ["sh"]),
    ],
)
def test_command_line(
    image: ContainerConfig,
    args: list[str] | None,
    entrypoint: list[str] | None,
    expected: list[str],
) -> None:
    opts = RunOptions(hostname="h", args=args, entrypoint=entrypoint)
    assert command_line(image, opts) == expected


def test_no_command_is_an_error() -> None:
    with pytest.raises(ConfigError):
        command_line(ContainerConfig(), RunOptions(hostname="h"))


def test_env_defaults_image_and_flags(rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    spec = spec_for(rootfs, IMAGE, tty=True, env=["A=2", "FROM_HOST", "UNSET_HERE"])
    assert spec["process"]["env"] == ["PATH=/x", "HOSTNAME=h", "TERM=xterm", "A=2", "FROM_HOST=yes"]
    assert spec_for(rootfs, None, args=["sh"])["process"]["env"][0] == DEFAULT_PATH


def test_merge_env_replaces_in_place() -> None:
    assert merge_env(["A=1", "B=2"], ["B=3", "C=4"]) == ["A=1", "B=3", "C=4"]


def test_defaults_are_dockers(rootfs: Path) -> None:
    spec = spec_for(rootfs, IMAGE)
    caps = spec["process"]["capabilities"]
    assert caps["bounding"] == list(defaults.DEFAULT_CAPABILITIES)
    assert set(caps) == {"bounding", "effective", "permitted"}
    assert spec["linux"]["maskedPaths"] == list(defaults.MASKED_PATHS)
    assert spec["linux"]["readonlyPaths"] == list(defaults.READONLY_PATHS)
    assert [n["type"] for n in spec["linux"]["namespaces"]] == [
        "pid",
        "ipc",
        "uts",
        "mount",
        "network",
    ]
    destinations = [m["destination"] for m in spec["mounts"]]
    for wanted in (
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/fs/cgroup",
    ):
        assert wanted in destinations
    sys_mount = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert "ro" in sys_mount["options"]
    assert spec["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert spec["hostname"] == "h"
    assert spec["process"]["cwd"] == "/"
    assert spec["root"] == {"path": str(rootfs), "readonly": False}


def test_privileged(rootfs: Path) -> None:
    spec = spec_for(rootfs, IMAGE, privileged=True)
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]
    assert "maskedPaths" not in spec["linux"] and "readonlyPaths" not in spec["linux"]
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert any(d["path"] == "/dev/null" for d in spec["linux"]["devices"])
    sys_mount = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert "rw" in sys_mount["options"]


def test_cap_add_and_drop(rootfs: Path) -> None:
    caps = spec_for(rootfs, IMAGE, cap_add=["sys_admin"], cap_drop=["CAP_CHOWN"])["process"][
        "capabilities"
    ]["bounding"]
    assert "CAP_SYS_ADMIN" in caps and "CAP_CHOWN" not in caps


def test_host_network_keeps_the_host_namespace(rootfs: Path) -> None:
    spec = spec_for(rootfs, IMAGE, network="host")
    assert "network" not in [n["type"] for n in spec["linux"]["namespaces"]]


def test_rlimits_never_exceed_ours(rootfs: Path) -> None:
    _, own_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in spec_for(rootfs, IMAGE)["process"]["rlimits"]:
        assert limit["soft"] <= limit["hard"]
        if own_hard != resource.RLIM_INFINITY:
            assert limit["hard"] <= own_hard


def test_resources_only_where_controllers_exist(
    rootfs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(defaults, "cgroup_controllers", lambda: frozenset({"memory", "pids"}))
    resources = spec_for(rootfs, IMAGE, memory=1 << 20, cpus=1.5, pids_limit=10)["linux"][
        "resources"
    ]
    assert resources["memory"] == {"limit": 1 << 20}
    assert resources["pids"] == {"limit": 10}
    assert "cpu" not in resources
    monkeypatch.setattr(defaults, "cgroup_controllers", lambda: frozenset({"cpu"}))
    resources = spec_for(rootfs, IMAGE, cpus=1.5)["linux"]["resources"]
    assert resources["cpu"] == {"quota": 150000, "period": 100000}


def test_workdir_is_created_and_must_be_absolute(rootfs: Path) -> None:
    spec = spec_for(rootfs, ContainerConfig(cmd=["sh"], working_dir="/srv/app"))
    assert spec["process"]["cwd"] == "/srv/app"
    assert (rootfs / "srv" / "app").is_dir()
    with pytest.raises(ConfigError):
        spec_for(rootfs, IMAGE, workdir="relative")


def test_stop_signal_is_annotated(rootfs: Path) -> None:
    spec = spec_for(rootfs, ContainerConfig(cmd=["sh"], stop_signal="SIGQUIT"))
    assert spec["annotations"] == {STOP_SIGNAL_ANNOTATION: "SIGQUIT"}


def test_extra_mounts_come_after_the_defaults(rootfs: Path) -> None:
    spec = spec_for(rootfs, IMAGE, mounts=[Mount.bind("/src", "/data", read_only=True)])
    assert spec["mounts"][-1] == {
        "destination": "/data",
        "type": "bind",
        "source": "/src",
        "options": ["rbind", "rprivate", "ro"],
    }


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        # The primary group first among the supplementary ones, as docker's containers.
        (None, ExecUser(0, 0, (0,))),
        ("daemon", ExecUser(1, 1, (1, 9))),
        ("daemon:root", ExecUser(1, 0, (0, 9))),
        ("1", ExecUser(1, 1, (1, 9))),
        ("4321", ExecUser(4321, 0, (0,))),
        ("4321:77", ExecUser(4321, 77, (77,))),
        ("nobody:nogroup", ExecUser(65534, 65534, (65534,))),
    ],
)
def test_resolve_user(rootfs: Path, user: str | None, expected: ExecUser) -> None:
    assert resolve_user(rootfs, user) == expected


@pytest.mark.parametrize("user", ["ghost", "root:ghosts"])
def test_unknown_user_or_group(rootfs: Path, user: str) -> None:
    with pytest.raises(ConfigError):
        resolve_user(rootfs, user)


@pytest.mark.parametrize("kind", ["absolute link", "relative link", "fifo", "directory"])
def test_users_are_never_read_from_outside_the_root(
    rootfs: Path, tmp_path: Path, kind: str
) -> None:
    """An image (or a running container before ``exec -u``) whose /etc/passwd leads to a
    host file, or is no regular file, has no users: docker's FollowSymlinkInScope."""
    host = tmp_path / "hostpasswd"
    host.write_text("hostonly:x:4242:4242::/:/bin/sh\n")
    passwd = rootfs / "etc" / "passwd"
    passwd.unlink()
    if kind == "absolute link":
        passwd.symlink_to(host)  # inside the root: /tmp/.../hostpasswd, which is not there
    elif kind == "relative link":
        passwd.symlink_to("../" * 12 + str(host).lstrip("/"))  # .. stops at the root
    elif kind == "fifo":
        os.mkfifo(passwd)  # opening it must not block
    else:
        passwd.mkdir()
    with pytest.raises(UserNotFound, match="unable to find user hostonly"):
        resolve_user(rootfs, "hostonly")
    assert resolve_user(rootfs, "4242") == ExecUser(4242, 0, (0,))  # numeric: no file needed


def test_resolv_conf_filters_loopback_nameservers() -> None:
    host = "search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n"
    assert container_resolv_conf(host) == "search example.com\nnameserver 10.0.0.2\n"
    assert container_resolv_conf("nameserver 127.0.0.1\n") == (
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    )


def test_write_etc_files(tmp_path: Path) -> None:
    mounts = write_etc_files(tmp_path, "box", "none")
    assert [m.destination for m in mounts] == ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
    assert (tmp_path / "hostname").read_text() == "box\n"
    assert "127.0.0.1\tlocalhost" in (tmp_path / "hosts").read_text()
    assert all(Path(m.source).parent == tmp_path and m.type == "bind" for m in mounts)
