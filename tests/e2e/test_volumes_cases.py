"""Volumes end to end beyond the walkthrough: read-only mounts, copy-up, anonymous volumes
and their removal, the volume commands, system df, --privileged, symlinks, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers

pytestmark = needs_containers


@pytest.fixture
def dataimage(dockyard: Dockyard, busybox: str) -> str:
    """busybox with /data (owned 1000:1000, mode 0750) and an image VOLUME /cache."""
    script = (
        "mkdir -p /data /cache && echo image > /data/f && chmod 600 /data/f && "
        "chown -R 1000:1000 /data && chmod 750 /data && echo cached > /cache/c && "
        "ln -s /hostside /escape"
    )
    dockyard.run("run", "--name", "mk", busybox, "sh", "-c", script)
    dockyard.run("commit", "-c", "VOLUME /cache", "mk", "dataimage")
    dockyard.run("rm", "mk")
    return "dataimage"


def _volumes(dockyard: Dockyard, *filters: str) -> list[str]:
    args = [arg for f in filters for arg in ("-f", f)]
    return dockyard.run("volume", "ls", "-q", *args).stdout.split()


def test_read_only_mounts(dockyard: Dockyard, busybox: str, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    for flags in (
        ["-v", f"{host}:/d:ro"],
        ["--mount", f"type=bind,src={host},dst=/d,ro"],
        ["-v", "rovol:/d:ro"],
    ):
        failed = dockyard.run("run", "--rm", *flags, busybox, "touch", "/d/x", check=False)
        assert failed.returncode == 1 and "Read-only file system" in failed.stderr
    assert list(host.iterdir()) == []


def test_copy_up_into_empty_volumes_only(dockyard: Dockyard, dataimage: str) -> None:
    listing = "stat -c '%u:%g %a %n' /data /data/f; cat /data/f"
    seen = dockyard.run("run", "--rm", "-v", "filled:/data", dataimage, "sh", "-c", listing)
    assert seen.stdout.splitlines() == ["1000:1000 750 /data", "1000:1000 600 /data/f", "image"]
    data = dockyard.root / "volumes" / "filled" / "_data"
    assert (data / "f").stat().st_uid == 1000 and (data / "f").read_text() == "image\n"

    dockyard.run("volume", "create", "mine")
    (dockyard.root / "volumes" / "mine" / "_data" / "own").write_text("own\n")
    seen = dockyard.run("run", "--rm", "-v", "mine:/data", dataimage, "ls", "/data")
    assert seen.stdout.split() == ["own"]  # not empty: nothing copied
    seen = dockyard.run("run", "--rm", "-v", "bare:/data:nocopy", dataimage, "ls", "/data")
    assert seen.stdout == ""
    mounted = "type=volume,src=bare2,dst=/data,volume-nocopy"
    assert dockyard.run("run", "--rm", "--mount", mounted, dataimage, "ls", "/data").stdout == ""

    # A symlink in the image at the destination resolves inside the container's root.
    seen = dockyard.run("run", "--rm", "-v", "esc:/escape", dataimage, "ls", "/escape")
    assert seen.stdout == ""
    assert_nothing_left(dockyard)


def test_anonymous_volumes_and_their_removal(dockyard: Dockyard, dataimage: str) -> None:
    dockyard.run("create", "--name", "keep", "-v", "/scratch", "-v", "named:/n", dataimage, "true")
    shown = json.loads(dockyard.run("inspect", "keep").stdout)[0]
    assert shown["Config"]["Volumes"] == {"/cache": {}, "/scratch": {}}
    assert shown["HostConfig"]["Binds"] == ["named:/n"]
    anonymous = {m["Destination"]: m["Name"] for m in shown["Mounts"] if m["Mode"] == ""}
    assert set(anonymous) == {"/cache", "/scratch"}
    assert all(len(name) == 64 for name in anonymous.values())
    assert dockyard.run("start", "-a", "keep").returncode == 0
    cache = dockyard.root / "volumes" / anonymous["/cache"] / "_data" / "c"
    assert cache.read_text() == "cached\n"  # the image's VOLUME content, copied up

    assert _volumes(dockyard, "dangling=true") == []
    refused = dockyard.fails("volume", "rm", "named")
    assert refused.stderr.strip() == f"Error: remove named: volume is in use - [{shown['Id']}]"
    dockyard.run("rm", "keep")  # without -v: every volume stays
    assert sorted(_volumes(dockyard, "dangling=true")) == sorted([*anonymous.values(), "named"])

    dockyard.run("volume", "prune", "-f")
    assert _volumes(dockyard) == []
    dockyard.run(
        "create",
        "--name",
        "gone",
        "-v",
        "/scratch",
        "-v",
        "named:/n",
        dataimage,
        "true",
    )
    dockyard.run("rm", "-v", "gone")
    assert _volumes(dockyard) == ["named"]  # rm -v: anonymous only
    dockyard.run("run", "--rm", "-v", "/tmpdata", "-v", "named:/n", dataimage, "true")
    assert _volumes(dockyard) == ["named"]  # run --rm: anonymous only
    assert_nothing_left(dockyard)


def test_rm_v_keeps_a_volume_this_container_named(dockyard: Dockyard, busybox: str) -> None:
    """docker removes only the volumes a container's own mounts left unnamed: one first
    made anonymous by another container, then mounted by name, stays (data loss)."""
    dockyard.run("create", "--name", "first", "-v", "/data", busybox, "true")
    name = dockyard.run("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "first").stdout
    dockyard.run("rm", "first")  # without -v: the volume stays
    dockyard.run("run", "--rm", "-v", f"{name.strip()}:/x", busybox, "sh", "-c",
                 "echo precious > /x/f")  # fmt: skip
    dockyard.run("create", "--name", "second", "-v", f"{name.strip()}:/x", busybox, "true")
    dockyard.run("rm", "-v", "second")
    assert _volumes(dockyard) == [name.strip()]
    shown = dockyard.run("run", "--rm", "-v", f"{name.strip()}:/x", busybox, "cat", "/x/f")
    assert shown.stdout == "precious\n"
    dockyard.run("volume", "rm", name.strip())


def test_volume_commands_and_system_df(dockyard: Dockyard, busybox: str) -> None:
    assert (
        dockyard.run("volume", "create", "--label", "app=web", "-o", "size=1", "web").stdout
        == "web\n"
    )
    view = json.loads(dockyard.run("volume", "inspect", "web").stdout)[0]
    assert view == {
        "CreatedAt": view["CreatedAt"],
        "Driver": "local",
        "Labels": {"app": "web"},
        "Mountpoint": str(dockyard.root / "volumes" / "web" / "_data"),
        "Name": "web",
        "Options": {"size": "1"},
        "Scope": "local",
    }
    generated = dockyard.run("volume", "create").stdout.strip()
    assert len(generated) == 64
    assert dockyard.run("volume", "ls").stdout.splitlines()[0] == "DRIVER    VOLUME NAME"
    assert _volumes(dockyard, "name=we") == ["web"] and _volumes(dockyard, "label=app=web") == [
        "web"
    ]
    assert (
        dockyard.run("volume", "ls", "--format", "{{.Name}}:{{.Driver}}", "-f", "name=web").stdout
        == "web:local\n"
    )
    missing = dockyard.fails("volume", "inspect", "nope")
    assert missing.stderr.strip() == "Error: get nope: no such volume"
    assert (
        dockyard.fails("volume", "rm", "nope").stderr.strip() == "Error: get nope: no such volume"
    )
    dockyard.run("volume", "rm", "-f", "nope")

    dockyard.run("run", "--name", "user", "-v", "web:/w", busybox, "sh", "-c", "echo 12345 > /w/f")
    df = {
        line.split()[0]: line.split() for line in dockyard.run("system", "df").stdout.splitlines()
    }
    assert df["Local"][2:6] == ["2", "1", "6B", "0B"]  # TOTAL ACTIVE SIZE RECLAIMABLE
    verbose = dockyard.run("system", "df", "-v").stdout
    table = verbose.split("Local Volumes space usage:")[1].split()
    assert table[:3] == ["VOLUME", "NAME", "LINKS"] and "web" in table
    assert table[table.index("web") + 1 : table.index("web") + 3] == ["1", "6B"]

    prompt = dockyard.run("volume", "prune", input=b"n\n").stdout
    assert "Are you sure you want to continue? [y/N]" in prompt
    pruned = dockyard.run("volume", "prune", "-f").stdout
    assert pruned == f"Deleted Volumes:\n{generated}\n\nTotal reclaimed space: 0B\n"
    dockyard.run("rm", "user")
    dockyard.run("volume", "rm", "web")
    assert _volumes(dockyard) == []
    assert_nothing_left(dockyard)


def test_volume_prune_filters_on_labels_only(dockyard: Dockyard) -> None:
    """docker's volume prune takes ``label`` and ``label!``, nothing else."""
    dockyard.run("volume", "create", "--label", "keep=yes", "kept")
    dockyard.run("volume", "create", "--label", "keep=no", "dropped")
    pruned = dockyard.run("volume", "prune", "-f", "--filter", "label!=keep=yes").stdout
    assert pruned.startswith("Deleted Volumes:\ndropped\n")
    assert _volumes(dockyard) == ["kept"]
    refused = dockyard.fails("volume", "prune", "-f", "--filter", "dangling=true")
    assert "invalid filter 'dangling'" in refused.stderr
    dockyard.run("volume", "rm", "kept")


def test_cp_sees_the_containers_volumes_and_binds(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    """As docker's: cp reaches into a container's volumes and binds (not the layer under
    them), refuses a read-only one, and cannot replace a mount point of a running
    container (it would detach the container's mount)."""
    host = tmp_path / "bind"
    host.mkdir()
    (tmp_path / "f").write_text("copied\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    dockyard.run("run", "-d", "--name", "cpv", "-v", "cpvol:/vol", "-v", f"{host}:/bind",
                 "-v", f"{ro}:/ro:ro", busybox, "sleep", "60")  # fmt: skip
    try:
        dockyard.run("cp", str(tmp_path / "f"), "cpv:/vol/f")
        dockyard.run("cp", str(tmp_path / "f"), "cpv:/bind/f")
        assert (host / "f").read_text() == "copied\n"
        shown = dockyard.run("exec", "cpv", "cat", "/vol/f", "/bind/f").stdout
        assert shown == "copied\ncopied\n"
        dockyard.run("cp", "cpv:/vol/f", str(tmp_path / "back"))
        assert (tmp_path / "back").read_text() == "copied\n"
        assert "Read-only file system" in dockyard.fails("cp", str(tmp_path / "f"),
                                                         "cpv:/ro/f").stderr  # fmt: skip
        assert list(ro.iterdir()) == []
        busy = dockyard.fails("cp", str(tmp_path / "f"), "cpv:/etc/hosts")
        assert "Device or resource busy" in busy.stderr
        mounts = dockyard.run("exec", "cpv", "grep", "-c", " /etc/hosts ", "/proc/mounts")
        assert mounts.stdout == "1\n"  # the container's own /etc/hosts is still mounted
        assert "/vol" not in dockyard.run("diff", "cpv").stdout.replace("A /vol\n", "")
    finally:
        dockyard.run("rm", "-f", "cpv")
        dockyard.run("volume", "rm", "cpvol")


def test_cp_into_a_volume_of_a_read_only_container_never_started(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("in the volume\n")
    dockyard.run("create", "--name", "rocp", "--read-only", "-v", "rocpvol:/data", busybox,
                 "cat", "/data/f")  # fmt: skip
    dockyard.run("cp", str(tmp_path / "f"), "rocp:/data/f")
    assert "Read-only file system" in dockyard.fails("cp", str(tmp_path / "f"), "rocp:/f").stderr
    assert dockyard.run("start", "-a", "rocp").stdout == "in the volume\n"
    dockyard.run("rm", "-v", "rocp")
    dockyard.run("volume", "rm", "rocpvol")


def test_cp_through_nested_volumes(dockyard: Dockyard, busybox: str, tmp_path: Path) -> None:
    """-v a:/data -v b:/data/sub(:ro): cp reaches b at /data/sub, read-only where asked."""
    script = "echo b > /data/sub/b; echo a > /data/a"
    dockyard.run("run", "--name", "nest", "-v", "nesta:/data", "-v", "nestb:/data/sub",
                 busybox, "sh", "-c", script)  # fmt: skip
    dockyard.run("create", "--name", "nestro", "-v", "nesta:/data", "-v", "nestb:/data/sub:ro",
                 busybox, "true")  # fmt: skip
    try:
        dockyard.run("cp", "nest:/data/sub/b", str(tmp_path / "b"))
        assert (tmp_path / "b").read_text() == "b\n"
        (tmp_path / "in").write_text("in\n")
        dockyard.run("cp", str(tmp_path / "in"), "nest:/data/sub/")
        dockyard.run("cp", "nestro:/data/sub/in", str(tmp_path / "back"))
        assert (tmp_path / "back").read_text() == "in\n"  # it went into b
        refused = dockyard.fails("cp", str(tmp_path / "in"), "nestro:/data/sub/again")
        assert "Read-only file system" in refused.stderr
        dockyard.run("cp", str(tmp_path / "in"), "nestro:/data/again")  # a stays writable
    finally:
        dockyard.run("rm", "nest", "nestro")
        dockyard.run("volume", "rm", "nesta", "nestb")


def test_a_data_container_never_started_shares_the_images_content(
    dockyard: Dockyard, dataimage: str
) -> None:
    """docker copies the image's content into a new volume at create: --volumes-from a
    container that was only created sees it."""
    dockyard.run("create", "--name", "datastore", "-v", "/data", dataimage, "true")
    try:
        shown = dockyard.run("run", "--rm", "--volumes-from", "datastore", dataimage,
                             "cat", "/data/f")  # fmt: skip
        assert shown.stdout == "image\n"
    finally:
        dockyard.run("rm", "-v", "datastore")
    assert_nothing_left(dockyard)


def test_privileged_and_tmpfs(dockyard: Dockyard, busybox: str) -> None:
    mount = "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted"
    plain = dockyard.run("run", "--rm", busybox, "sh", "-c", mount, check=False)
    assert plain.returncode != 0 and "permission denied" in plain.stderr
    off = dockyard.run("run", "--rm", "--privileged=false", busybox, "sh", "-c", mount, check=False)
    assert off.returncode != 0
    for flag in ("--privileged", "--privileged=true"):
        assert dockyard.run("run", "--rm", flag, busybox, "sh", "-c", mount).stdout == "mounted\n"
    # --privileged=true after the image is the command's, not ours.
    echoed = dockyard.run("run", "--rm", busybox, "echo", "--privileged=true").stdout
    assert echoed == "--privileged=true\n"
    tmpfs = "type=tmpfs,dst=/scratch,tmpfs-size=1m"
    seen = dockyard.run(
        "run", "--rm", "--mount", tmpfs, busybox, "sh", "-c", "grep /scratch /proc/mounts"
    )
    assert seen.stdout.startswith("tmpfs /scratch tmpfs") and "size=1024k" in seen.stdout
    assert_nothing_left(dockyard)


def test_symlinks_never_reach_the_host(dockyard: Dockyard, dataimage: str, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("real\n")
    (tmp_path / "link").symlink_to(real)
    seen = dockyard.run("run", "--rm", "-v", f"{tmp_path / 'link'}:/x", dataimage, "cat", "/x/f")
    assert seen.stdout == "real\n"  # a symlinked source is resolved on the host

    # The image's /escape -> /hostside: the mount lands in the container's /hostside.
    hostside = Path("/hostside")
    assert not hostside.exists()
    script = "echo in > /escape/f; cat /hostside/f"
    seen = dockyard.run("run", "--rm", "-v", f"{real}:/escape", dataimage, "sh", "-c", script)
    assert seen.stdout == "in\n" and (real / "f").read_text() == "in\n"
    assert not hostside.exists()
    assert_nothing_left(dockyard)


BAD_INPUT = [
    (
        ["-v", "/tmp/x:y"],
        "Error: invalid volume specification: '/tmp/x:y': invalid mount config "
        "for type \"bind\": invalid mount path: 'y' mount path must be absolute",
    ),
    (
        ["--mount", "type=bind,src=/tmp,dst=x"],
        'Error: invalid mount config for type "bind": '
        "invalid mount path: 'x' mount path must be absolute",
    ),
    (
        ["-v", "./x:/y"],
        'Error: create ./x: "./x" includes invalid characters for a local volume '
        'name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
        "directory, use absolute path",
    ),
    (["--volumes-from", "nosuch"], "Error: No such container: nosuch"),
    (
        ["--mount", "x=y"],
        "Error: invalid argument \"x=y\" for \"--mount\" flag: unexpected key 'x' in 'x=y'",
    ),
    (
        ["--mount", "type=foo,dst=/x"],
        'Error: invalid mount config for type "foo": mount type unknown',
    ),
    (
        ["--mount", "type=bind,src=/nonexistent-dockyard,dst=/x"],
        "Error: invalid mount config for "
        'type "bind": bind source path does not exist: /nonexistent-dockyard',
    ),
    (["-v", "/tmp:/x", "-v", "ok-vol:/x"], "Error: Duplicate mount point: /x"),
    (["-v", "ok-vol:/x:bogus"], "Error: invalid mode: bogus"),
]


@pytest.mark.parametrize(("flags", "message"), BAD_INPUT)
def test_bad_input_creates_nothing(
    dockyard: Dockyard, busybox: str, flags: list[str], message: str
) -> None:
    before = dockyard.snapshot()
    for command in ("create", "run"):
        failed = dockyard.fails(command, "--name", "bad", *flags, busybox, "true")
        # docker: run's failures exit 125; create's 1 where its daemon refuses, 125 for a
        # flag value its CLI refuses itself.
        flag_value = message.startswith('Error: invalid argument "')
        code = 1 if command == "create" and not flag_value else 125
        assert (failed.returncode, failed.stderr.splitlines()) == (code, [message])
    assert dockyard.snapshot() == before


def test_dangling_symlink_source_creates_nothing(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    before = dockyard.snapshot()
    failed = dockyard.fails("run", "-v", f"{tmp_path / 'dangling'}:/x", busybox, "true")
    assert failed.returncode == 125 and failed.stderr.splitlines() == [
        f"Error: error while creating mount source path '{tmp_path / 'dangling'}': "
        f"mkdir {tmp_path / 'dangling'}: file exists"
    ]
    assert dockyard.snapshot() == before and not (tmp_path / "nowhere").exists()


def test_a_single_file_can_be_bind_mounted(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    shared = tmp_path / "a.log"
    shared.write_text("from the host\n")
    out = dockyard.run(
        "run",
        "--rm",
        "-v",
        f"{shared}:/etc/a.log",
        busybox,
        "sh",
        "-c",
        "cat /etc/a.log; echo 'from the container' >> /etc/a.log",
    ).stdout
    assert out == "from the host\n"
    assert shared.read_text() == "from the host\nfrom the container\n"
    refused = dockyard.fails(
        "run", "--rm", "-v", f"{shared}:/etc/a.log:ro", busybox, "sh", "-c", "echo no >> /etc/a.log"
    )
    assert "Read-only file system" in refused.stderr
