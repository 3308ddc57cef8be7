"""Running real containers with runc: exit codes, the environment, docker's defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import ContainerCommandNotExecutable, ContainerCommandNotFound

from .conftest import MakeContainer, container_test

pytestmark = container_test


def run_output(make_container: MakeContainer, *args: str, **options: object) -> tuple[int, str]:
    """Run a container in the foreground; its exit code and stdout."""
    container = make_container(*args, **options)
    out = container.dir / "out"
    with open(out, "wb") as f:
        code = container.runtime.run(container.id, container.dir, stdout=f.fileno())
    return code, out.read_text()


def test_true_exits_zero(make_container: MakeContainer) -> None:
    assert run_output(make_container, "true")[0] == 0


def test_exit_code_is_the_containers(make_container: MakeContainer) -> None:
    assert run_output(make_container, "sh", "-c", "exit 3")[0] == 3


def test_exit_1_of_the_container_is_not_a_runtime_failure(make_container: MakeContainer) -> None:
    assert run_output(make_container, "false")[0] == 1


def test_missing_command_is_127(make_container: MakeContainer) -> None:
    with pytest.raises(ContainerCommandNotFound) as info:
        run_output(make_container, "no-such-command")
    assert info.value.exit_code == 127
    assert "executable file not found" in str(info.value)


def test_missing_absolute_path_is_127(make_container: MakeContainer) -> None:
    with pytest.raises(ContainerCommandNotFound):
        run_output(make_container, "/no/such/file")


def test_not_executable_is_126(make_container: MakeContainer) -> None:
    with pytest.raises(ContainerCommandNotExecutable) as info:
        run_output(make_container, "/etc/not-executable")
    assert info.value.exit_code == 126


def test_env_workdir_user_hostname(make_container: MakeContainer) -> None:
    code, out = run_output(
        make_container,
        "sh",
        "-c",
        'echo "$GREETING|$HOSTNAME|$(pwd)|$(id -u):$(id -g):$(id -G)|$(hostname)|$PATH"',
        env=["GREETING=hello"],
        workdir="/work/dir",
        user="daemon",
        hostname="myhost",
    )
    assert code == 0
    greeting, hostname_env, cwd, ids, hostname, path = out.strip().split("|")
    assert (greeting, hostname_env, cwd, hostname) == ("hello", "myhost", "/work/dir", "myhost")
    assert ids == "1:1:1 9"  # daemon is also in kmem (9)
    assert path == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_numeric_user_and_group(make_container: MakeContainer) -> None:
    code, out = run_output(make_container, "id", "-u", user="1234:65534")
    assert (code, out.strip()) == (0, "1234")


def test_etc_files_are_the_containers(make_container: MakeContainer) -> None:
    code, out = run_output(make_container, "cat", "/etc/hostname", "/etc/hosts", hostname="etchost")
    assert code == 0
    assert out.startswith("etchost\n127.0.0.1\tlocalhost\n")


def test_default_capabilities_cannot_mount(make_container: MakeContainer) -> None:
    code, _ = run_output(make_container, "mount", "-t", "tmpfs", "none", "/mnt")
    assert code != 0


def test_privileged_can_mount(make_container: MakeContainer) -> None:
    code, _ = run_output(
        make_container, "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt", privileged=True
    )
    assert code == 0


def test_masked_paths_unless_privileged(make_container: MakeContainer) -> None:
    masked = next((p for p in ("/proc/timer_list", "/proc/keys") if os.path.isfile(p)), None)
    if masked is None:
        pytest.skip("this kernel has none of the masked /proc files")
    _, out = run_output(make_container, "sh", "-c", f"cat {masked} | wc -c")
    assert out.strip() == "0"  # masked: /dev/null is bound over it
    _, privileged = run_output(make_container, "sh", "-c", f"cat {masked} | wc -c", privileged=True)
    assert int(privileged.strip()) > 0


def test_network_none_has_only_loopback(make_container: MakeContainer) -> None:
    code, out = run_output(make_container, "ls", "/sys/class/net", network="none")
    assert (code, out.split()) == (0, ["lo"])


def test_network_host_sees_host_interfaces(make_container: MakeContainer) -> None:
    code, out = run_output(make_container, "ls", "/sys/class/net", network="host")
    assert code == 0
    assert sorted(out.split()) == sorted(os.listdir("/sys/class/net"))


def test_read_only_rootfs(make_container: MakeContainer) -> None:
    code, _ = run_output(make_container, "touch", "/x", read_only=True)
    assert code != 0
    assert run_output(make_container, "touch", "/x")[0] == 0


def test_rlimits_do_not_exceed_ours(make_container: MakeContainer) -> None:
    code, out = run_output(make_container, "sh", "-c", "ulimit -Hn")
    assert code == 0
    import resource

    _, own_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert own_hard == resource.RLIM_INFINITY or int(out) <= own_hard


def test_init_runs_the_command_under_docker_init(make_container: MakeContainer) -> None:
    if not any(os.access(p, os.X_OK) for p in ("/usr/bin/docker-init", "/usr/bin/tini-static")):
        pytest.skip("no docker-init / tini on this host")
    code, out = run_output(make_container, "sh", "-c", "cat /proc/1/cmdline", init=True)
    assert code == 0
    assert out.split("\0")[0] == "/sbin/docker-init"


def test_runtime_state_kill_delete(make_container: MakeContainer) -> None:
    container = make_container("sleep", "30")
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        container.runtime.run(
            container.id,
            container.dir,
            detach=True,
            stdin=devnull,
            stdout=devnull,
            stderr=devnull,
        )
    finally:
        os.close(devnull)
    state = container.runtime.state(container.id)
    assert state["status"] == "running"
    container.runtime.kill(container.id, "KILL")
    container.runtime.delete(container.id, force=True)
    assert container.id not in container.runtime.list_ids()


def test_state_of_unknown_container(make_container: MakeContainer, tmp_path: Path) -> None:
    from dockyard.errors import ContainerNotFound

    container = make_container("true")
    with pytest.raises(ContainerNotFound):
        container.runtime.state("nope")
    with pytest.raises(ContainerNotFound):
        container.runtime.start("nope")
    with pytest.raises(ContainerNotFound):
        container.runtime.kill("nope")
    container.runtime.delete("nope")  # no error: already gone


def test_a_run_leaves_the_upper_layer_empty(make_container: MakeContainer) -> None:
    """The shared init layer holds the mount points, so they are not in the diff."""
    container = make_container("true")
    assert container.runtime.run(container.id, container.dir) == 0
    assert os.listdir(container.dir / "upper") == []
