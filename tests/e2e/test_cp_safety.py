"""``cp`` into a container resolves every path inside the container, never on the host."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from tests.conftest import Dockyard
from tests.imagefactory import FakeImage, write_docker_archive

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _image_with_links(tmp_path: Path, host_dir: Path, host_file: Path) -> Path:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        # The same absolute paths exist inside the image, so that following the links
        # inside the container (right) and on the host (wrong) lead to different places.
        info = tarfile.TarInfo(str(host_dir).lstrip("/"))
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        content = b"container file\n"
        info = tarfile.TarInfo(str(host_file).lstrip("/"))
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
        for name, target in (("etc/dirlink", str(host_dir)), ("etc/filelink", str(host_file))):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return write_docker_archive(
        tmp_path / "links.tar", [FakeImage([buffer.getvalue()], tags=["links:1"])]
    )


def test_cp_never_follows_container_symlinks_to_the_host(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    host_dir = tmp_path / "hostdir"
    host_dir.mkdir()
    host_file = tmp_path / "hostfile"
    host_file.write_text("host secret\n")
    dockyard.run("load", "-i", str(_image_with_links(tmp_path, host_dir, host_file)))
    dockyard.run("create", "--name", "c1", "links:1", "true")
    payload = tmp_path / "payload"
    payload.write_text("payload\n")
    tree = tmp_path / "tree" / "etc" / "dirlink"
    tree.mkdir(parents=True)
    (tree / "evil").write_text("evil\n")

    dockyard.run("cp", str(payload), "c1:/etc/dirlink")
    dockyard.run("cp", str(payload), "c1:/etc/filelink")
    dockyard.run("cp", f"{tmp_path / 'tree'}/.", "c1:/")

    assert list(host_dir.iterdir()) == []
    assert host_file.read_text() == "host secret\n"
    # Each copy landed where the link leads inside the container.
    out = tmp_path / "out"
    out.mkdir()
    dockyard.run("cp", f"c1:{host_dir}/payload", str(out / "from-dirlink"))
    assert (out / "from-dirlink").read_text() == "payload\n"
    dockyard.run("cp", f"c1:{host_file}", str(out / "from-filelink"))
    assert (out / "from-filelink").read_text() == "payload\n"
    # A directory of the source replaces the link, as docker's extraction does.
    dockyard.run("cp", "c1:/etc/dirlink/evil", str(out / "evil"))
    assert (out / "evil").read_text() == "evil\n"
    # Copying out keeps a symlink a symlink.
    dockyard.run("cp", "c1:/etc/filelink", str(out))
    assert (out / "filelink").is_symlink()


def test_copying_out_of_a_running_container_freezes_it_only_meanwhile(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    dockyard.run(
        "run",
        "-d",
        "--name",
        "live",
        busybox,
        "sh",
        "-c",
        "echo hi > /root/f; while true; do sleep 1; done",
    )
    dockyard.run("exec", "live", "cat", "/root/f")  # written by now
    dockyard.run("cp", "live:/root/f", str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "hi\n"
    dockyard.run("export", "-o", str(tmp_path / "live.tar"), "live")
    assert (tmp_path / "live.tar").stat().st_size > 0  # a tar of the running container's files
    # Thawed again: the container still runs and answers.
    assert dockyard.run("exec", "live", "echo", "alive").stdout == "alive\n"
    dockyard.run("rm", "-f", "live")


def test_cp_out_makes_device_nodes_and_fifos_anew_never_opens_them(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    """A node the container made for a host device (here /dev/null's, 1:3, so that the
    test reads nothing of the host) would be read as root by an open: it is copied as a
    node, as docker copies it; a FIFO would block: it is made anew too."""
    dockyard.run("run", "--name", "nodes", busybox, "sh", "-c",
                 "mkdir /d && mknod /d/k c 1 3 && mkfifo /d/fifo && echo x > /d/f")  # fmt: skip
    try:
        dockyard.run("cp", "nodes:/d/k", str(tmp_path / "k"))
        dockyard.run("cp", "nodes:/d/fifo", str(tmp_path / "fifo"))
        dockyard.run("cp", "nodes:/d", str(tmp_path / "tree"))
    finally:
        dockyard.run("rm", "nodes")
    for node in (tmp_path / "k", tmp_path / "tree" / "k"):
        info = node.lstat()
        assert stat.S_ISCHR(info.st_mode) and os.major(info.st_rdev) == 1
        assert os.minor(info.st_rdev) == 3
    assert stat.S_ISFIFO((tmp_path / "fifo").lstat().st_mode)
    assert stat.S_ISFIFO((tmp_path / "tree" / "fifo").lstat().st_mode)
    assert (tmp_path / "tree" / "f").read_text() == "x\n"


def test_a_second_cp_out_never_writes_through_symlinks_the_first_one_made(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    """The first copy brings the container's symlinks to the host as they are; the
    container then makes real entries of those names: the second copy replaces the
    links, it does not write where they point (host files, as root)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret").write_text("original\n")
    (victim / "secret2").write_text("original\n")
    out = tmp_path / "out"
    out.mkdir()
    links = f"mkdir /x && ln -s {victim} /x/a && ln -s {victim}/secret2 /x/f && sleep 60"
    dockyard.run("run", "-d", "--name", "links", busybox, "sh", "-c", links)
    try:
        dockyard.run("cp", "links:/x", str(out))
        assert (out / "x" / "a").is_symlink()
        swap = "rm /x/a /x/f && mkdir /x/a && echo pwned > /x/a/secret && echo pwned > /x/f"
        dockyard.run("exec", "links", "sh", "-c", swap)
        dockyard.run("cp", "links:/x", str(out))
    finally:
        dockyard.run("rm", "-f", "links")
    assert (victim / "secret").read_text() == "original\n"
    assert (victim / "secret2").read_text() == "original\n"
    assert (out / "x" / "a" / "secret").read_text() == "pwned\n"
    assert not (out / "x" / "f").is_symlink() and (out / "x" / "f").read_text() == "pwned\n"


def test_a_mount_point_is_never_made_through_a_symlink(tmp_path: Path) -> None:
    """A path another container swapped for a link after it was resolved: the mount
    point is neither made nor opened beyond the link (on the host)."""
    from dockyard.engine.container_fs import _mount_point

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "a").symlink_to(outside)
    assert _mount_point(root, root / "a" / "vol", directory=True) is None
    assert _mount_point(root, root / "a" / "file", directory=False) is None
    assert list(outside.iterdir()) == []
    fd = _mount_point(root, root / "made" / "vol", directory=True)
    assert fd is not None and (root / "made" / "vol").is_dir()
    os.close(fd)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{h}/sub/a", "cpp:/nodir/"], "no such directory"),
        (["{h}/sub/a", "cpp:/etc/hostname/"], "no such directory"),
        (["{h}/sub", "cpp:/etc/passwd"], "cannot copy directory"),
        (["cpp:/etc/passwd", "{h}/nodir/"], "no such directory"),
        (["cpp:/etc", "{h}/missing/x"], 'invalid output path: directory "{h}/missing" does not'),
        (["cpp:/etc/passwd/", "{h}/pw"], "lstat /etc/passwd/: not a directory"),
        (["cpp:/etc", "{h}/hf"], "cannot copy directory"),
    ],
)
def test_cp_path_rules_as_docker(
    dockyard: Dockyard, busybox: str, tmp_path: Path, args: list[str], message: str
) -> None:
    """docker cp's CopyInfo rules: a trailing / names a directory that must exist, a
    directory never replaces a file, the host destination's parent must exist."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a").write_text("data\n")
    (tmp_path / "hf").write_text("")
    dockyard.run("create", "--name", "cpp", busybox, "true")
    try:
        failed = dockyard.fails("cp", *[arg.format(h=tmp_path) for arg in args])
        assert message.format(h=tmp_path) in failed.stderr and failed.returncode == 1
        assert dockyard.run("diff", "cpp").stdout == ""
    finally:
        dockyard.run("rm", "cpp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf", "store", "sub"]  # store: ours


def test_cp_of_the_root_and_of_dir_dot_names_entries_as_docker(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    import io
    import subprocess
    import tarfile

    from tests.conftest import DOCKYARD

    dockyard.run("create", "--name", "cpn", busybox, "true")
    try:
        def names(path: str) -> list[str]:
            data = subprocess.run([DOCKYARD, "cp", f"cpn:{path}", "-"], env=dockyard.env(),
                                  capture_output=True, check=True).stdout  # fmt: skip
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                return tar.getnames()

        assert "bin" in names("/") and not any(n.startswith("merged") for n in names("/"))
        assert names("/etc/.")[:2] == [".", "./group"]
        (tmp_path / "into").mkdir()
        dockyard.run("cp", "cpn:/", str(tmp_path / "into"))
        assert (tmp_path / "into" / "bin").is_dir() and not (tmp_path / "into" / "merged").exists()
    finally:
        dockyard.run("rm", "cpn")


def test_cp_follow_link_copies_what_a_symlink_names(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    dockyard.run("run", "--name", "cpl", busybox, "sh", "-c",
                 "mkdir /d && echo content > /d/f && ln -s /d/f /d/rl")  # fmt: skip
    (tmp_path / "target").write_text("tgt\n")
    (tmp_path / "link").symlink_to("target")
    try:
        dockyard.run("cp", "cpl:/d/rl", str(tmp_path / "plain"))
        assert (tmp_path / "plain").is_symlink()  # without -L: the link itself
        dockyard.run("cp", "-L", "cpl:/d/rl", str(tmp_path / "followed"))
        followed = tmp_path / "followed"
        assert not followed.is_symlink() and followed.read_text() == "content\n"
        dockyard.run("cp", "-L", str(tmp_path / "link"), "cpl:/copied")
        dockyard.run("cp", "cpl:/copied", str(tmp_path / "back"))
        assert not (tmp_path / "back").is_symlink()
        assert (tmp_path / "back").read_text() == "tgt\n"
    finally:
        dockyard.run("rm", "cpl")


def test_cp_out_keeps_the_hosts_data_and_follows_the_users_own_link(
    dockyard: Dockyard, busybox: str, tmp_path: Path
) -> None:
    """A file of the container never replaces a host directory (docker: cannot overwrite
    directory), and a destination that is the user's own link is followed."""
    dockyard.run("run", "--name", "keep", busybox, "sh", "-c",
                 "mkdir /d && echo y > /d/y && echo f > /d/f")  # fmt: skip
    (tmp_path / "g" / "d" / "y").mkdir(parents=True)
    (tmp_path / "g" / "d" / "y" / "important").write_text("keep me\n")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    try:
        refused = dockyard.fails("cp", "keep:/d", str(tmp_path / "g"))
        assert "cannot overwrite directory" in refused.stderr
        assert (tmp_path / "g" / "d" / "y" / "important").read_text() == "keep me\n"
        dockyard.run("cp", "keep:/d/.", str(tmp_path / "link"))
        assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "f").exists()
    finally:
        dockyard.run("rm", "keep")


def test_cp_out_keeps_hard_links(dockyard: Dockyard, busybox: str, tmp_path: Path) -> None:
    dockyard.run("run", "--name", "hl", busybox, "sh", "-c",
                 "mkdir /d && echo x > /d/one && ln /d/one /d/two")  # fmt: skip
    try:
        dockyard.run("cp", "hl:/d", str(tmp_path / "out"))
    finally:
        dockyard.run("rm", "hl")
    one, two = (tmp_path / "out" / "one").stat(), (tmp_path / "out" / "two").stat()
    assert one.st_ino == two.st_ino and one.st_nlink == 2
