"""The image commands as a user types them, through the real CLI on a private store."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from tests.conftest import Dockyard
from tests.imagefactory import FakeImage, tar_bytes, write_docker_archive, write_oci_layout_tar


def image_id(dockyard: Dockyard, name: str) -> str:
    return dockyard.run("inspect", "-f", "{{.Id}}", name).stdout.strip()


def test_import_lists_the_image_like_docker(dockyard: Dockyard, busybox_tar: Path) -> None:
    out = dockyard.run("import", str(busybox_tar), "mhk/busybox:1.3").stdout.strip()
    assert out.startswith("sha256:") and len(out) == 71
    lines = dockyard.run("images").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = lines[1].split()
    assert row[:3] == ["mhk/busybox", "1.3", out[7:19]]
    assert row[-1].endswith("MB")
    assert dockyard.run("images", "-q").stdout.split() == [out[7:19]]
    assert dockyard.run("images", "--no-trunc", "-q").stdout.split() == [out]


def test_import_from_stdin_gzip_with_changes(dockyard: Dockyard, busybox_tar: Path) -> None:
    data = gzip.compress(busybox_tar.read_bytes())
    dockyard.run(
        "import", "-c", 'CMD ["/bin/sh", "-c", "echo hi"]', "-c", "ENV A=1 B=two",
        "-c", "WORKDIR /tmp", "-c", "EXPOSE 80", "-c", "LABEL k=v", "-c", "USER root",
        "-c", "VOLUME /data", "-m", "from stdin", "-", "bb:gz", input=data,
    )
    info = json.loads(dockyard.run("inspect", "bb:gz").stdout)[0]
    config = info["Config"]
    assert config["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert config["Env"] == ["A=1", "B=two"]
    assert config["WorkingDir"] == "/tmp"
    assert config["ExposedPorts"] == {"80/tcp": {}}
    assert config["Labels"] == {"k": "v"}
    assert config["Volumes"] == {"/data": {}}
    assert info["Comment"] == "from stdin"
    assert "from stdin" in dockyard.run("history", "bb:gz").stdout


def test_import_refuses_unknown_change(dockyard: Dockyard, busybox_tar: Path) -> None:
    result = dockyard.fails("import", "-c", "RUN rm -rf /", str(busybox_tar), "x")
    assert "RUN" in result.stderr and "not a valid change command" in result.stderr
    assert result.returncode == 1


def test_inspect_has_dockers_shape(dockyard: Dockyard, busybox: str) -> None:
    info = json.loads(dockyard.run("inspect", busybox).stdout)
    assert isinstance(info, list) and len(info) == 1
    image = info[0]
    for key in ("Id", "RepoTags", "RepoDigests", "Created", "Author", "Comment", "Config",
                "RootFS", "Size", "Os", "Architecture", "GraphDriver"):
        assert key in image
    assert image["RepoTags"] == ["busybox:latest"]
    assert image["RootFS"]["Type"] == "layers" and len(image["RootFS"]["Layers"]) == 1
    assert image["Os"] == "linux"
    missing = dockyard.fails("inspect", "nosuchimage")
    assert "No such object: nosuchimage" in missing.stderr


def test_tag_and_rmi_untag_before_delete(dockyard: Dockyard, busybox: str) -> None:
    full = image_id(dockyard, busybox)
    dockyard.run("tag", busybox, "127.0.0.1:5000/mhk/busybox:1.3")
    listed = dockyard.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(listed) == ["127.0.0.1:5000/mhk/busybox:1.3", "busybox:latest"]
    conflict = dockyard.fails("rmi", full[7:19])
    assert "referenced in multiple repositories" in conflict.stderr
    assert conflict.returncode == 1
    out = dockyard.run("rmi", "busybox").stdout
    assert out.strip() == "Untagged: busybox:latest"
    lines = dockyard.run("rmi", "127.0.0.1:5000/mhk/busybox:1.3").stdout.splitlines()
    assert lines[0] == "Untagged: 127.0.0.1:5000/mhk/busybox:1.3"
    assert lines[1] == f"Deleted: {full}"
    assert dockyard.run("images", "-q").stdout == ""
    assert [p.name for p in (dockyard.root / "layers").iterdir()] in ([], ["l"])
    assert not any((dockyard.root / "blobs" / "sha256").iterdir())


def test_rmi_force_removes_every_tag(dockyard: Dockyard, busybox: str) -> None:
    full = image_id(dockyard, busybox)
    dockyard.run("tag", busybox, "other:1")
    out = dockyard.run("rmi", "-f", full[7:19]).stdout
    assert "Untagged: busybox:latest" in out and "Untagged: other:1" in out
    assert f"Deleted: {full}" in out


def test_rmi_of_unknown_image(dockyard: Dockyard, busybox: str) -> None:
    result = dockyard.fails("rmi", "nosuch:1")
    assert result.stderr.strip() == "Error: No such image: nosuch:1"
    assert result.returncode == 1


def test_shared_base_is_stored_once(dockyard: Dockyard, tmp_path: Path) -> None:
    base = tar_bytes({"bin/base": os.urandom(200_000)}, dirs=("bin",))
    images = [
        FakeImage([base, tar_bytes({f"app{i}": os.urandom(1000)})], tags=[f"app:{i}"])
        for i in range(10)
    ]
    archive = write_docker_archive(tmp_path / "ten.tar", images)
    out = dockyard.run("load", "-i", str(archive)).stdout
    assert out.count("Loaded image: app:") == 10
    layers = [p for p in (dockyard.root / "layers").iterdir() if p.name != "l"]
    assert len(layers) == 11
    df = dockyard.run("system", "df", "-v").stdout
    assert "SHARED SIZE" in df and "UNIQUE SIZE" in df
    # Removing one image keeps the base every other image still uses.
    dockyard.run("rmi", "app:0")
    assert len([p for p in (dockyard.root / "layers").iterdir() if p.name != "l"]) == 10
    assert "Loaded image: app:0" in dockyard.run("load", "-i", str(archive)).stdout


def test_history_lists_layers_newest_first(dockyard: Dockyard, tmp_path: Path) -> None:
    image = FakeImage([tar_bytes({"a": b"1" * 5000}), tar_bytes({"b": b"2"})], tags=["h:1"])
    dockyard.run("load", "-i", str(write_docker_archive(tmp_path / "h.tar", [image])))
    lines = dockyard.run("history", "h:1").stdout.splitlines()
    assert lines[0].split()[:2] == ["IMAGE", "CREATED"]
    assert "layer 1" in lines[1] and "layer 0" in lines[2]
    assert lines[2].split()[-4] == "5kB"
    assert lines[1].split()[0] == image_id(dockyard, "h:1")[7:19]
    assert lines[2].split()[0] == "<missing>"


def test_save_load_round_trip_keeps_ids(dockyard: Dockyard, busybox: str, tmp_path: Path) -> None:
    before = json.loads(dockyard.run("inspect", busybox).stdout)[0]
    archive = tmp_path / "bb.tar"
    dockyard.run("save", "-o", str(archive), busybox)
    other = Dockyard(tmp_path / "other")
    assert other.run("load", "-i", str(archive)).stdout.strip() == "Loaded image: busybox:latest"
    after = json.loads(other.run("inspect", busybox).stdout)[0]
    assert after["Id"] == before["Id"]
    assert after["RootFS"] == before["RootFS"]
    # Loading from stdin works the same, and loading twice changes nothing.
    assert "Loaded image" in other.run("load", input=archive.read_bytes()).stdout


def test_save_refuses_a_terminal_and_unknown_images(dockyard: Dockyard, busybox: str) -> None:
    result = dockyard.fails("save", "-o", "/tmp/never.tar", "nosuch")
    assert "No such image" in result.stderr
    assert not Path("/tmp/never.tar").exists()


def test_load_oci_layout(dockyard: Dockyard, tmp_path: Path) -> None:
    image = FakeImage([tar_bytes({"etc/hostname": b"oci\n"}, dirs=("etc",))])
    layout = write_oci_layout_tar(tmp_path / "oci.tar", image, ref_name="v1")
    out = dockyard.run("load", "-i", str(layout)).stdout
    assert out.startswith("Loaded image ID: sha256:")
    loaded = out.split()[-1]
    assert (dockyard.root / "blobs" / "sha256").iterdir()
    info = json.loads(dockyard.run("inspect", loaded).stdout)[0]
    assert info["Id"] == loaded


def test_gzipped_docker_archive_layers(dockyard: Dockyard, tmp_path: Path) -> None:
    image = FakeImage([tar_bytes({"f": b"data"})], tags=["gz:1"])
    archive = write_docker_archive(tmp_path / "gz.tar", [image], gzip_layers=True)
    dockyard.run("load", "-i", str(archive))
    archive_gz = tmp_path / "whole.tar.gz"
    archive_gz.write_bytes(gzip.compress(archive.read_bytes()))
    other = Dockyard(tmp_path / "other")
    assert "Loaded image: gz:1" in other.run("load", "-i", str(archive_gz)).stdout


def _tar_overwriting_itself() -> bytes:
    """A tar whose second entry replaces the first: its tar-split cannot serve."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for content in (b"first version", b"second"):
            info = tarfile.TarInfo("etc/motd")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_layers_come_back_byte_exact(dockyard: Dockyard, tmp_path: Path) -> None:
    """Saved layers hash to their DiffIDs whether rebuilt from tar-split or kept whole."""
    data = _tar_overwriting_itself()
    source = tmp_path / "dup.tar"
    source.write_bytes(data)
    dockyard.run("import", str(source), "dup:file")
    dockyard.run("import", "-", "dup:stdin", input=data)
    plain = tar_bytes({"a": os.urandom(3000)}, dirs=("d",))
    (tmp_path / "plain.tar").write_bytes(plain)
    dockyard.run("import", str(tmp_path / "plain.tar"), "plain:1")
    archive = tmp_path / "all.tar"
    dockyard.run("save", "-o", str(archive), "dup:file", "dup:stdin", "plain:1")
    other = Dockyard(tmp_path / "other")
    out = other.run("load", "-i", str(archive)).stdout
    assert out.count("Loaded image:") == 3
    ids = {n: image_id(dockyard, n) for n in ("dup:file", "dup:stdin", "plain:1")}
    assert ids == {n: image_id(other, n) for n in ids}
