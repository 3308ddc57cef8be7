"""Bad input gets a clear one-line error, exit 1, and leaves the store exactly as it was."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from tests.conftest import Dockyard
from tests.imagefactory import (
    FakeImage,
    sha256,
    tar_bytes,
    write_docker_archive,
    write_oci_layout_tar,
)


def assert_failed_cleanly(dockyard: Dockyard, before: dict[str, str], *args: str,
                          message: str, input: bytes | None = None) -> None:
    result = dockyard.fails(*args, input=input)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0], lines[0]
    assert dockyard.snapshot() == before
    assert not [p for p in (dockyard.root / "tmp").iterdir()]


@pytest.fixture
def populated(dockyard: Dockyard, busybox: str) -> dict[str, str]:
    return dockyard.snapshot()


def test_truncated_archive(dockyard: Dockyard, populated: dict[str, str], tmp_path: Path) -> None:
    image = FakeImage([tar_bytes({"big": os.urandom(100_000)})], tags=["t:1"])
    archive = write_docker_archive(tmp_path / "a.tar", [image]).read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive[: len(archive) // 2])
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(cut), message="truncated")


def test_not_a_tar(dockyard: Dockyard, populated: dict[str, str], tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(4096))
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(junk), message="tar")
    assert_failed_cleanly(dockyard, populated, "import", str(junk), "x",
                          message="invalid tar")
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(tmp_path / "absent"),
                          message="no such file")


def test_tar_without_image(dockyard: Dockyard, populated: dict[str, str], tmp_path: Path) -> None:
    plain = tmp_path / "plain.tar"
    plain.write_bytes(tar_bytes({"hello": b"world"}))
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(plain),
                          message="neither manifest.json")


def test_diff_id_mismatch(dockyard: Dockyard, populated: dict[str, str], tmp_path: Path) -> None:
    good, bad = tar_bytes({"a": b"1"}), tar_bytes({"b": b"2"})
    image = FakeImage([good, bad], tags=["m:1"])
    archive = write_docker_archive(
        tmp_path / "m.tar", [image], diff_ids=[sha256(good), sha256(b"something else")]
    )
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(archive),
                          message="diff_id digest mismatch")


def test_manifest_digest_mismatch(dockyard: Dockyard, populated: dict[str, str],
                                  tmp_path: Path) -> None:
    image = FakeImage([tar_bytes({"a": b"1"})])
    layout = write_oci_layout_tar(tmp_path / "o.tar", image, corrupt_manifest=True)
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(layout),
                          message="manifest digest mismatch")


def test_malformed_config(dockyard: Dockyard, populated: dict[str, str], tmp_path: Path) -> None:
    archive = tmp_path / "c.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("cfg.json", b'{"rootfs": 3}'),
                           ("manifest.json", json.dumps([{"Config": "cfg.json", "Layers": []}])
                            .encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(archive),
                          message="malformed image config")


def _evil_tar(entries: list[tarfile.TarInfo], payload: bytes = b"pwned") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info in entries:
            if info.isreg():
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


@pytest.mark.parametrize(
    "entries",
    [
        [_entry("../escaped")],
        [_entry("a/../../escaped")],
        [_entry("hard", tarfile.LNKTYPE, "../escaped")],
        [_entry("hard", tarfile.LNKTYPE, "/etc/passwd")],
    ],
    ids=["dotdot", "nested-dotdot", "hardlink-dotdot", "hardlink-absolute"],
)
def test_escaping_layer_is_refused(dockyard: Dockyard, populated: dict[str, str],
                                   tmp_path: Path, entries: list[tarfile.TarInfo]) -> None:
    sentinel = tmp_path / "escaped"
    evil = tmp_path / "evil.tar"
    evil.write_bytes(_evil_tar(entries))
    passwd = Path("/etc/passwd").read_bytes()
    assert_failed_cleanly(dockyard, populated, "import", str(evil), "evil", message="")
    image = FakeImage([_evil_tar(entries)], tags=["evil:1"])
    archive = write_docker_archive(tmp_path / "evil-archive.tar", [image])
    assert_failed_cleanly(dockyard, populated, "load", "-i", str(archive), message="")
    assert not sentinel.exists()
    assert Path("/etc/passwd").read_bytes() == passwd


def test_symlink_escape_stays_inside(dockyard: Dockyard, tmp_path: Path) -> None:
    """A path through a symlink resolves inside the layer (chroot semantics), never outside."""
    target = tmp_path / "outside"
    target.mkdir()
    evil = tmp_path / "evil.tar"
    evil.write_bytes(_evil_tar([_entry("link", tarfile.SYMTYPE, str(target)),
                                _entry("link/planted")]))
    dockyard.run("import", str(evil), "sym:1")
    assert not (target / "planted").exists()
    assert not any(target.iterdir())


def test_bad_reference_arguments(dockyard: Dockyard, populated: dict[str, str]) -> None:
    assert_failed_cleanly(dockyard, populated, "tag", "busybox", "Bad/Name",
                          message="must be lowercase")
    assert_failed_cleanly(dockyard, populated, "tag", "busybox", "a:b:c",
                          message="invalid reference format")
    assert_failed_cleanly(dockyard, populated, "tag", "nosuch", "x:1",
                          message="No such image: nosuch:latest")
