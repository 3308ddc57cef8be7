"""Containers end to end: the commit flow, the detached lifecycle across processes,
bad input, concurrency and a 120-layer image (real runc, real overlayfs)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import assert_nothing_left, mounts_under, needs_containers
from tests.imagefactory import FakeImage, tar_bytes, write_docker_archive

pytestmark = needs_containers


def test_commit_flow(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "--name", "c1", busybox, "sh", "-c", "echo vim > /vim; rm /etc/group")
    changes = dockyard.run("diff", "c1").stdout.splitlines()
    assert "A /vim" in changes and "D /etc/group" in changes and "C /etc" in changes
    # As the shell hands over `commit -m="add vim" -a="mhk" ...`
    image_id = dockyard.run(
        "commit", "-m=add vim", "-a=mhk", "c1", "mhk/busybox:1.3"
    ).stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71

    listed = dockyard.run("images", "mhk/busybox").stdout.splitlines()
    assert listed[1].split()[:3] == ["mhk/busybox", "1.3", image_id[7:19]]
    assert listed[1].split()[-1].endswith("MB")
    assert "add vim" in dockyard.run("history", "mhk/busybox:1.3").stdout

    base_id = dockyard.run("inspect", "-f", "{{.Id}}", busybox).stdout.strip()
    new = json.loads(dockyard.run("inspect", "mhk/busybox:1.3").stdout)[0]
    base = json.loads(dockyard.run("inspect", busybox).stdout)[0]
    assert (new["Author"], new["Comment"], new["Parent"]) == ("mhk", "add vim", base_id)
    assert new["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    assert len(new["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1

    shown = dockyard.run(
        "run", "--rm", "mhk/busybox:1.3", "sh", "-c", "cat /vim; ls /etc/group || echo gone"
    )
    assert shown.stdout.split() == ["vim", "gone"]
    base_view = dockyard.run("run", "--rm", busybox, "sh", "-c", "ls /vim; cat /etc/group")
    assert "root:x:0:" in base_view.stdout and "No such file" in base_view.stderr
    assert dockyard.run("diff", "c1").stdout.splitlines() == changes  # c1 is unchanged


def test_rmi_respects_containers(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("tag", busybox, "other:1")
    short = dockyard.run("create", "--name", "user", "other:1", "true").stdout.strip()[:12]
    image = dockyard.run("inspect", "-f", "{{.Id}}", "other:1").stdout.strip()
    dockyard.run("rmi", busybox)  # another tag remains: just untagged
    failed = dockyard.fails("rmi", "other:1")
    assert failed.stderr.strip() == (
        'Error: conflict: unable to remove repository reference "other:1" (must force) - '
        f"container {short} is using its referenced image {image[7:19]}"
    )
    dockyard.run("rmi", "-f", "other:1")  # the image goes; its layers stay for the container
    assert dockyard.run("images", "-q").stdout.strip() == ""
    assert dockyard.run("start", "-a", "user").returncode == 0
    dockyard.run("rm", "user")


def test_detached_lifecycle(dockyard: Dockyard, busybox: str) -> None:
    script = "trap 'echo bye; exit 3' TERM; echo hello; while true; do sleep 0.1; done"
    cid = dockyard.run("run", "-d", "--name", "web", busybox, "sh", "-c", script).stdout.strip()
    assert len(cid) == 64
    ps = dockyard.run("ps").stdout.splitlines()
    assert ps[0].split()[:3] == ["CONTAINER", "ID", "IMAGE"]
    assert cid[:12] in ps[1] and "Up " in ps[1] and ps[1].rstrip().endswith("web")
    follow = subprocess.Popen(
        [DOCKYARD, "logs", "-f", "web"], env=dockyard.env(), stdout=subprocess.PIPE, text=True
    )
    assert dockyard.run("exec", "web", "sh", "-c", "echo $HOSTNAME").stdout.strip() == cid[:12]
    assert dockyard.run("exec", "web", "sh", "-c", "exit 7", check=False).returncode == 7
    assert dockyard.run("stop", "-t", "5", "web").stdout.strip() == "web"
    out, _ = follow.communicate(timeout=20)
    assert out.splitlines() == ["hello", "bye"]
    assert "Exited (3)" in dockyard.run("ps", "-a").stdout
    assert not mounts_under(dockyard.root)  # a stopped container holds no mount
    dockyard.run("start", "web")
    assert dockyard.run("inspect", "-f", "{{.State.Running}}", "web").stdout.strip() == "true"
    waiter = subprocess.Popen(
        [DOCKYARD, "wait", "web"], env=dockyard.env(), stdout=subprocess.PIPE, text=True
    )
    dockyard.run("kill", "-s", "TERM", "web")
    assert waiter.communicate(timeout=20)[0].strip() == "3"
    assert dockyard.run("logs", "--tail", "1", "web").stdout == "bye\n"
    dockyard.run("rename", "web", "web2")
    dockyard.run("rm", "web2")
    assert_nothing_left(dockyard)


def test_monitor_killed_is_reported_exited(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "orphan", busybox, "sleep", "100")
    state = json.loads(dockyard.run("inspect", "orphan").stdout)[0]["State"]
    container_dir = dockyard.root / "containers" / json.loads(
        dockyard.run("inspect", "orphan").stdout
    )[0]["Id"]
    monitor = json.loads((container_dir / "state.json").read_text())["monitor_pid"]
    assert state["Running"]
    subprocess.run(["kill", "-9", str(monitor)], check=True)
    time.sleep(0.2)
    assert "Exited (137)" in dockyard.run("ps", "-a").stdout
    dockyard.run("rm", "orphan")
    assert_nothing_left(dockyard)


def test_bad_input(dockyard: Dockyard, busybox: str) -> None:
    cases = [
        (("run", "--rm", "127.0.0.1:1/nosuch", "true"), 125, None),
        (("run", "--rm", busybox, "nosuch"), 127, "executable file not found"),
        (("run", "--rm", busybox, "/etc/passwd"), 126, "permission denied"),
        (("run", "--rm", "--entrypoint", "", busybox), 125, "no command"),
    ]
    for args, code, message in cases:
        result = dockyard.run(*args, check=False)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert result.returncode == code, (args, result.stderr)
        assert len(errors) == 1, result.stderr
        assert message is None or message in errors[0]
        assert_nothing_left(dockyard)

    dockyard.run("run", "-d", "--name", "busy", busybox, "sleep", "100")
    taken = dockyard.fails("run", "--name", "busy", busybox, "true")
    assert taken.returncode == 125
    assert 'The container name "/busy" is already in use by container' in taken.stderr
    refused = dockyard.fails("rm", "busy")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'Error: cannot remove container "/busy": container is running: '
        "stop the container before removing or force remove"
    )
    assert len(dockyard.run("ps", "-q").stdout.split()) == 1
    dockyard.run("rm", "-f", "busy")
    assert_nothing_left(dockyard)


def test_concurrent_runs(dockyard: Dockyard, busybox: str) -> None:
    procs = [
        subprocess.Popen(
            [DOCKYARD, "run", "--rm", busybox, "true"],
            env=dockyard.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(10)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs if p.stderr]
    assert all(code == 0 for code, _ in results), results
    assert_nothing_left(dockyard)


@pytest.mark.slow
def test_image_with_120_layers(dockyard: Dockyard, busybox_tar: Path, tmp_path: Path) -> None:
    layers = [busybox_tar.read_bytes()]
    layers += [tar_bytes({f"layer{i}": f"{i}\n".encode()}) for i in range(1, 120)]
    archive = write_docker_archive(tmp_path / "deep.tar", [FakeImage(layers, tags=["deep:1"])])
    dockyard.run("load", "-i", str(archive))
    shown = dockyard.run("run", "--rm", "deep:1", "cat", "/layer1", "/layer119")
    assert shown.stdout.split() == ["1", "119"]
    assert_nothing_left(dockyard)


def test_an_image_with_a_layer_twice_runs(
    dockyard: Dockyard, busybox_tar: Path, tmp_path: Path
) -> None:
    """Layers busybox, A, B, A (docker keys them by ChainID): overlayfs takes a directory
    once, and the files are those of A over B."""
    first = tar_bytes({"f": b"from A\n"})
    layers = [busybox_tar.read_bytes(), first, tar_bytes({"f": b"from B\n", "g": b"B\n"}), first]
    archive = write_docker_archive(tmp_path / "twice.tar", [FakeImage(layers, tags=["twice:1"])])
    dockyard.run("load", "-i", str(archive))
    shown = dockyard.run("run", "--rm", "twice:1", "cat", "/f", "/g")
    assert shown.stdout == "from A\nB\n"
    assert_nothing_left(dockyard)


def test_commit_without_changes_adds_no_layer(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("create", "--name", "untouched", busybox, "true")
    dockyard.run("commit", "-m", "nothing", "untouched", "same:1")
    layers = dockyard.run("inspect", "-f", "{{json .RootFS.Layers}}", "same:1").stdout
    base = dockyard.run("inspect", "-f", "{{json .RootFS.Layers}}", busybox).stdout
    assert layers == base
    assert "nothing" in dockyard.run("history", "same:1").stdout.splitlines()[1]


def test_commit_with_a_bad_change_says_so_while_a_large_file_is_packed(
    dockyard: Dockyard, busybox: str
) -> None:
    """The -c changes are parsed while the packer already runs: its broken pipe must not
    hide the real error (it did for a file the packer sends with sendfile)."""
    dockyard.run("run", "--name", "large", busybox, "dd", "if=/dev/zero", "of=/big", "bs=1M",
                 "count=4")  # fmt: skip
    result = dockyard.fails("commit", "-c", "BOGUS x", "large", "bad:1")
    assert result.stderr == "Error: 'BOGUS' is not a valid change command\n"
    assert result.returncode == 1
    assert "bad" not in dockyard.run("images").stdout
    assert os.listdir(dockyard.root / "tmp") == []  # staging removed
    dockyard.run("rm", "large")


def test_a_pipeline_reader_that_goes_away_ends_the_run(dockyard: Dockyard, busybox: str) -> None:
    """``dockyard run --rm busybox yes | head -2`` returns at once, as docker's: the
    container's output pipe closes with ours. (Its PID 1 gets EPIPE; any other process
    in it dies of SIGPIPE, as in the shell's pipeline.)"""
    command = [DOCKYARD, "run", "--rm", busybox, "sh", "-c", "yes; echo rc=$? >&2"]
    run = subprocess.Popen(command, env=dockyard.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)  # fmt: skip
    assert run.stdout is not None
    assert run.stdout.read(4) == b"y\ny\n"
    run.stdout.close()  # `head -2` has what it wanted
    _, err = run.communicate(timeout=30)
    assert err == b"rc=141\n"  # yes was killed by SIGPIPE
    assert run.returncode == 0  # the container's: its sh ended well
    yes_as_init = subprocess.Popen([DOCKYARD, "run", "--rm", busybox, "yes"],
                                   env=dockyard.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
    assert yes_as_init.stdout is not None
    assert yes_as_init.stdout.read(2) == b"y\n"
    yes_as_init.stdout.close()
    assert yes_as_init.wait(timeout=30) == 1  # PID 1 ignores SIGPIPE: yes sees EPIPE
    assert_nothing_left(dockyard)


def test_a_run_rm_whose_state_a_power_loss_cut_short_lists_and_removes(
    dockyard: Dockyard, busybox: str
) -> None:
    """``run --rm`` does not sync its state file. Simulated power loss: every process of
    the run killed at once, the mount gone, the state file empty and older than the
    boot. The container lists as exited and goes with ``rm``, runc's record of it too."""
    run = subprocess.Popen([DOCKYARD, "run", "--rm", "--name", "lost", busybox, "sleep", "100"],
                           env=dockyard.env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
    directory = dockyard.root / "containers"
    deadline = time.monotonic() + 30
    while not list(directory.glob("*/container.pid")):
        assert time.monotonic() < deadline and run.poll() is None, "the container never started"
        time.sleep(0.02)
    bundle = next(directory.glob("*/container.pid")).parent
    init = int((bundle / "container.pid").read_text())
    runc = [int(p) for p in Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()]
    for pid in (run.pid, *runc, init):  # the power goes
        os.kill(pid, 9)
    run.wait()
    subprocess.run(["umount", "-l", str(bundle / "merged")], check=True)
    (bundle / "state.json").write_bytes(b"")
    os.utime(bundle / "state.json", (1_000_000_000, 1_000_000_000))  # before this boot
    runc_root = dockyard.root / "runtime" / "runc" / "state"
    listed = subprocess.run(["runc", "--root", str(runc_root), "list", "-q"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert bundle.name in listed.stdout.split()

    status = dockyard.run("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert status.startswith("lost Exited (137)")
    dockyard.run("rm", "lost")
    listed = subprocess.run(["runc", "--root", str(runc_root), "list", "-q"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert listed.stdout.split() == []
    assert_nothing_left(dockyard)


def test_start_attach_of_a_create_rm_container_removes_it_at_its_end(
    dockyard: Dockyard, busybox: str
) -> None:
    """docker's daemon removes an AutoRemove container whenever it ends, however started."""
    dockyard.run("create", "--rm", "--name", "once", busybox, "sh", "-c", "echo hi; exit 3")
    started = dockyard.run("start", "-a", "once", check=False)
    assert (started.returncode, started.stdout) == (3, "hi\n")
    dockyard.run("create", "--rm", "--name", "never", busybox, "no-such-command")
    assert dockyard.fails("start", "-a", "never").returncode == 1
    assert_nothing_left(dockyard)


def test_workdir_hostname_and_create_errors_as_docker(dockyard: Dockyard, busybox: str) -> None:
    # A relative -w is refused at create (docker's daemon: exit 1; run: 125).
    refused = dockyard.fails("create", "-w", "rel", busybox, "true")
    assert refused.returncode == 1
    assert "the working directory 'rel' is invalid, it needs to be an absolute path" in (
        refused.stderr)  # fmt: skip
    assert dockyard.fails("run", "--rm", "-w", "rel", busybox, "true").returncode == 125
    # .. stops at the root: nothing is made beside the rootfs, on the host.
    shown = dockyard.run("run", "--rm", "-w", "/../../../../wd-escape", busybox, "pwd")
    assert shown.stdout == "/wd-escape\n"
    assert not list(dockyard.root.rglob("wd-escape"))
    through_a_file = dockyard.fails("run", "--rm", "-w", "/etc/passwd/sub", busybox, "pwd")
    assert through_a_file.returncode == 125
    assert "/etc/passwd is not a directory" in through_a_file.stderr
    assert dockyard.fails("create", "-v", "/h:/", busybox, "true").returncode == 1
    flag = dockyard.fails("create", "--mount", "type=tmpfs,dst=/x,tmpfs-size=bad", busybox)
    assert flag.returncode == 125  # docker's CLI refuses a bad flag value itself
    # The host's network: the host's hostname, as docker.
    host = dockyard.run("run", "--rm", "--network", "host", busybox, "hostname").stdout
    assert host == os.uname().nodename + "\n"
    assert_nothing_left(dockyard)


def test_cp_into_a_create_rm_container_before_its_start(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    """cp mounts the rootfs for itself: never volatile, which the kernel would not mount
    again for the run."""
    (tmp_path / "f").write_text("copied in\n")
    dockyard.run("create", "--rm", "--name", "vf", busybox, "cat", "/f")
    dockyard.run("cp", str(tmp_path / "f"), "vf:/f")
    dockyard.run("cp", "vf:/f", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "copied in\n"
    assert dockyard.run("start", "-a", "vf").stdout == "copied in\n"
    assert_nothing_left(dockyard)


def test_env_files_in_order_and_a_users_own_etc_files(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    (tmp_path / "one").write_text("A=1\n")
    (tmp_path / "two").write_text("A=2\n")
    files = ["--env-file", str(tmp_path / "one"), "--env-file", str(tmp_path / "two")]
    assert dockyard.run("run", "--rm", *files, busybox, "sh", "-c", "echo $A").stdout == "2\n"
    # A bind of the user's own /etc/hosts is not hidden under the one dockyard writes.
    (tmp_path / "hosts").write_text("10.9.8.7 mine\n")
    bind = f"{tmp_path / 'hosts'}:/etc/hosts:ro"
    shown = dockyard.run("run", "--rm", "-v", bind, busybox, "cat", "/etc/hosts").stdout
    assert shown == "10.9.8.7 mine\n"
    assert_nothing_left(dockyard)


def test_start_attach_of_a_running_container_joins_it(dockyard: Dockyard, busybox: str) -> None:
    """docker: ``start`` of a running container does nothing, then ``-a`` attaches (it
    used to start it again and lose its state)."""
    dockyard.run("run", "-d", "--name", "again", busybox, "sh", "-c",
                 "sleep 0.5; echo late; exit 4")  # fmt: skip
    started = dockyard.run("inspect", "-f", "{{.State.StartedAt}}", "again").stdout
    attached = dockyard.run("start", "-a", "again", check=False)
    assert (attached.returncode, attached.stdout) == (4, "late\n")
    assert dockyard.run("inspect", "-f", "{{.State.StartedAt}}", "again").stdout == started
    dockyard.run("rm", "again")


def test_run_exec_and_commit_with_docker_flag_values(dockyard: Dockyard, busybox: str) -> None:
    result = dockyard.run(
        "container", "run", "--rm=true", "-e=A=1", "-eB=2", "--privileged=false",
        busybox, "sh", "-c", "echo $A $B; echo --rm=false",
    )  # fmt: skip
    assert result.stdout == "1 2\n--rm=false\n"
    assert dockyard.run("ps", "-a", "-q").stdout == ""  # --rm=true removed it
    dockyard.run("run", "-d", "--name", "box", busybox, "sleep", "60")
    try:
        assert dockyard.run("exec", "-e=X=y", "box", "sh", "-c", "echo $X").stdout == "y\n"
        dockyard.run("exec", "box", "touch", "/made")
        image_id = dockyard.run("commit", "-m=add made", "-a=me", "--no-pause", "box", "made:1")
        assert image_id.stdout.startswith("sha256:")
        history = dockyard.run("history", "--format", "{{.Comment}}", "made:1").stdout
        assert history.splitlines()[0] == "add made"
    finally:
        dockyard.run("rm", "-f", "box")
    assert mounts_under(dockyard.root) == []


def test_commit_of_whiteout_named_files_and_a_magic_first_name(
    dockyard: Dockyard, busybox: str
) -> None:
    # `.wh.X` next to `X` (either order in the tar), and a first entry whose name
    # starts like a bzip2 stream: all commit, as docker's layers would read them.
    script = (
        "cd /tmp && echo data > ./-d && touch ./.wh.-d && touch .wh.foo && echo foo > foo"
        " && echo a > a && mkdir /BZh9 && echo z > /BZh9/z"
    )
    dockyard.run("run", "--name", "twins", busybox, "sh", "-c", script)
    dockyard.run("commit", "twins", "twins:1")
    seen = dockyard.run(
        "run", "--rm", "twins:1", "sh", "-c", "ls -A /tmp; cat /tmp/foo /BZh9/z"
    ).stdout.split()
    assert seen == ["a", "foo", "foo", "z"]  # -d is whited out; foo came back after
    dockyard.run("rm", "twins")
