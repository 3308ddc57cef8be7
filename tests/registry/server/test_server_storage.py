"""The filesystem driver, the layout paths, upload purging and range parsing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import InvalidReference
from dockyard.registry.server import layout, purge_stale_uploads
from dockyard.registry.server.sendfile import parse_range
from dockyard.registry.server.storage import FilesystemDriver, InvalidPath, PathNotFound

DIGEST = Digest.of_bytes(b"x")


@pytest.fixture
def driver(tmp_path: Path) -> FilesystemDriver:
    (tmp_path / "root").mkdir()
    return FilesystemDriver(tmp_path / "root")


@pytest.mark.parametrize(
    "path",
    ["relative", "/a/../b", "/..", "/a//b", "/a/./b", "/a/.hidden", "/a/b\x00c", "/a\\..", "/"],
)
def test_paths_outside_the_canonical_form_are_refused(driver: FilesystemDriver, path: str) -> None:
    for call in (driver.get_content, driver.stat, driver.list, driver.delete):
        with pytest.raises(InvalidPath):
            call(path)
    with pytest.raises(InvalidPath):
        driver.put_content(path, b"x")


def test_put_get_stat_list_move_delete(driver: FilesystemDriver) -> None:
    driver.put_content("/a/b/c", b"one")
    driver.put_content("/a/b/c", b"two")
    assert driver.get_content("/a/b/c") == b"two"
    assert driver.stat("/a/b/c").size == 3 and not driver.stat("/a/b/c").is_dir
    assert driver.stat("/a/b").is_dir
    assert driver.list("/a/b") == ["c"]  # no temp files left behind
    driver.move("/a/b/c", "/x/y")
    assert driver.get_content("/x/y") == b"two"
    with pytest.raises(PathNotFound):
        driver.get_content("/a/b/c")
    driver.delete("/x")
    with pytest.raises(PathNotFound):
        driver.stat("/x/y")
    with pytest.raises(PathNotFound):
        driver.delete("/x")
    with pytest.raises(PathNotFound):
        driver.move("/nope", "/x")


def test_writer_append_and_cancel(driver: FilesystemDriver) -> None:
    writer = driver.writer("/u/data")
    writer.write(b"hello ")
    writer.commit()
    writer = driver.writer("/u/data", append=True)
    assert writer.size == 6
    writer.write(b"world")
    assert writer.size == 11
    writer.close()
    writer = driver.writer("/u/data", append=True)
    writer.write(b" and more")
    writer.cancel()
    assert driver.get_content("/u/data") == b"hello world"
    with driver.reader("/u/data", offset=6) as stream:
        assert stream.read() == b"world"


def test_layout_matches_distribution() -> None:
    hex_part = DIGEST.hex
    assert (
        layout.blob_data(DIGEST)
        == f"/docker/registry/v2/blobs/sha256/{hex_part[:2]}/{hex_part}/data"
    )
    repo = "/docker/registry/v2/repositories/lib/app"
    assert layout.layer_link("lib/app", DIGEST) == f"{repo}/_layers/sha256/{hex_part}/link"
    assert layout.revision_link("lib/app", DIGEST) == (
        f"{repo}/_manifests/revisions/sha256/{hex_part}/link"
    )
    assert layout.tag_current_link("lib/app", "v1") == f"{repo}/_manifests/tags/v1/current/link"
    assert layout.tag_index_link("lib/app", "v1", DIGEST) == (
        f"{repo}/_manifests/tags/v1/index/sha256/{hex_part}/link"
    )
    upload = "0f0e0d0c-0000-4000-8000-000000000000"
    assert layout.upload_data("lib/app", upload) == f"{repo}/_uploads/{upload}/data"
    assert layout.link_content(DIGEST) == f"sha256:{hex_part}".encode()


@pytest.mark.parametrize(
    "call",
    [
        lambda: layout.layer_link("../x", DIGEST),
        lambda: layout.tag_dir("a", ".."),
        lambda: layout.upload_dir("a", "../../x"),
        lambda: layout.repository("A"),
    ],
)
def test_layout_refuses_bad_names(call: object) -> None:
    assert callable(call)
    with pytest.raises(InvalidReference):
        call()


def test_purge_stale_uploads(tmp_path: Path) -> None:
    driver = FilesystemDriver(tmp_path)
    old, fresh = "11111111-0000-4000-8000-000000000000", "22222222-0000-4000-8000-000000000000"
    for upload_id, started in ((old, "2001-01-01T00:00:00Z"), (fresh, "2999-01-01T00:00:00Z")):
        driver.put_content(layout.upload_started_at("ns/app", upload_id), started.encode())
        driver.put_content(layout.upload_data("ns/app", upload_id), b"partial")
    assert purge_stale_uploads(tmp_path, older_than=3600) == 1
    assert driver.list(layout.uploads("ns/app")) == [fresh]


def test_a_dry_run_purge_counts_and_keeps(tmp_path: Path) -> None:
    from dockyard.registry.server.blobstore import BlobStore
    from dockyard.registry.server.cache import ContentCache
    from dockyard.registry.server.uploadstore import UploadStore, purge_uploads

    driver = FilesystemDriver(tmp_path)
    old = "11111111-0000-4000-8000-000000000000"
    driver.put_content(layout.upload_started_at("app", old), b"2001-01-01T00:00:00Z")
    uploads = UploadStore(driver, BlobStore(driver, ContentCache(driver)))
    assert purge_uploads(uploads, older_than=3600, dry_run=True) == 1
    assert driver.list(layout.uploads("app")) == [old]


def test_a_purge_clears_what_a_killed_cancel_left(tmp_path: Path) -> None:
    from dockyard.registry.server.blobstore import BlobStore
    from dockyard.registry.server.cache import ContentCache
    from dockyard.registry.server.uploadstore import UploadStore, purge_uploads

    driver = FilesystemDriver(tmp_path)
    fresh = "22222222-0000-4000-8000-000000000000"
    driver.put_content(layout.upload_started_at("app", fresh), b"2999-01-01T00:00:00Z")
    uploads_dir = driver.local_path(layout.uploads("app"))
    left = uploads_dir / ".deleted-11111111-0000-4000-8000-000000000000-x"
    left.mkdir()
    (left / "data").write_bytes(b"partial")
    uploads = UploadStore(driver, BlobStore(driver, ContentCache(driver)))
    assert purge_uploads(uploads, older_than=3600) == 0
    assert sorted(os.listdir(uploads_dir)) == [fresh]


def test_purge_falls_back_to_mtime(tmp_path: Path) -> None:
    driver = FilesystemDriver(tmp_path)
    upload_id = "33333333-0000-4000-8000-000000000000"
    path = layout.upload_started_at("app", upload_id)
    driver.put_content(path, b"garbage")
    os.utime(driver.local_path(path), (1, 1))
    assert purge_stale_uploads(tmp_path, older_than=60) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=9-3", None),
        ("bytes=1-2,5-6", None),
        ("items=1-2", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=200-300"])
def test_unsatisfiable_range(header: str) -> None:
    with pytest.raises(ValueError):
        parse_range(header, 100)
