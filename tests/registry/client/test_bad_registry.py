"""The client against a registry that misbehaves: wrong bytes, wrong manifests, 503s,
cut downloads, redirects to another host. Every failure is one line, exit 1, and leaves
the store exactly as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.imagefactory import sha256
from tests.registry.client.fake_registry import FakeRegistry


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeRegistry]:
    registry = FakeRegistry()
    yield registry
    registry.close()


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    monkeypatch.setenv("DOCKYARD_CONFIG", str(tmp_path / "no-daemon.json"))
    return directory


def one_line_error(result_stderr: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    assert lines[0].startswith("Error: "), result_stderr
    return lines[0]


def failed_pull(dockyard: Dockyard, reference: str) -> str:
    """Pull ``reference``, which must fail: its one error line; the store is unchanged."""
    dockyard.run("images")
    before = dockyard.snapshot()
    result = dockyard.fails("pull", reference)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert dockyard.snapshot() == before
    return line


def test_good_pull_records_digest_and_manifest(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    result = dockyard.run("pull", f"{fake.addr}/good/app:1")
    digest = sha256(fake.image.manifest)
    assert f"Digest: {digest}" in result.stdout
    assert f"Status: Downloaded newer image for {fake.addr}/good/app:1" in result.stdout
    assert result.stdout.strip().endswith(f"{fake.addr}/good/app:1")
    inspect = json.loads(dockyard.run("inspect", f"{fake.addr}/good/app:1").stdout)[0]
    assert inspect["Id"] == sha256(fake.image.config)
    assert inspect["RepoDigests"] == [f"{fake.addr}/good/app@{digest}"]
    again = dockyard.run("pull", f"{fake.addr}/good/app:1")
    assert "Already exists" in again.stdout
    assert "Status: Image is up to date for" in again.stdout


def test_blob_with_wrong_bytes_leaves_the_store_unchanged(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    assert "digest mismatch" in failed_pull(dockyard, f"{fake.addr}/badblob/app:1")


@pytest.mark.parametrize(("repo", "message"), [
    ("endless", "is larger than the"),  # a layer blob longer than its descriptor
    ("hugemanifest", "is larger than 4194304 bytes"),  # docker's manifest limit
])
def test_a_body_without_end_is_cut_off(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path, repo: str, message: str
) -> None:
    assert message in failed_pull(dockyard, f"{fake.addr}/{repo}/app:1")
    # cut off within a few chunks of the limit, not after the registry's 1 GiB
    assert fake.hits[repo] < 64 << 20


def test_a_layer_descriptor_of_size_0_admits_no_bytes(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    """0 is a size like any other (the empty blob's), not "unknown": no way around the cut."""
    line = failed_pull(dockyard, f"{fake.addr}/zerosize/app:1")
    assert "is larger than the 0 bytes its descriptor gives" in line


def test_manifest_not_matching_the_requested_digest_is_refused(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    digest = sha256(fake.image.manifest)
    line = failed_pull(dockyard, f"{fake.addr}/wrongdigest/app@{digest}")
    assert "manifest digest mismatch" in line


def test_503_then_success_is_retried(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    dockyard.run("pull", f"{fake.addr}/flaky/app:1")
    assert max(v for k, v in fake.hits.items() if k.startswith("/v2/flaky/")) >= 3


def test_cut_download_resumes_with_range(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    fake.ranges.clear()
    dockyard.run("pull", f"{fake.addr}/cut/app:1")
    assert fake.ranges and fake.ranges[0] != "bytes=0-", fake.ranges
    inspect = json.loads(dockyard.run("inspect", f"{fake.addr}/cut/app:1").stdout)[0]
    assert inspect["Id"] == sha256(fake.image.config)


def test_redirect_to_another_host_drops_the_credentials(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    docker_config.mkdir()
    auth = {"auths": {fake.addr: {"auth": "dTpw"}}}  # u:p
    (docker_config / "config.json").write_text(json.dumps(auth))
    fake.storage_auth.clear()
    dockyard.run("pull", f"{fake.addr}/auth/redirect:1")
    assert fake.storage_auth and all(a is None for a in fake.storage_auth)


def test_a_link_to_another_host_gets_no_credentials(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    """A registry's Link (tags pagination) naming another host: docker's client sends
    credentials only to the hosts it logged in to."""
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"auths": {fake.addr: {"auth": "dTpw"}}}))
    fake.storage_auth.clear()
    dockyard.run("pull", "--all-tags", f"{fake.addr}/auth/linked/app")
    assert fake.storage_auth == [None]


def test_missing_credentials_is_one_line(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    result = dockyard.fails("pull", f"{fake.addr}/auth/app:1")
    line = one_line_error(result.stderr)
    assert "pull access denied for" in line and "docker login" in line


def test_connection_refused_is_one_line(dockyard: Dockyard, docker_config: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = dockyard.fails("pull", f"127.0.0.1:{port}/x/y")
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert f"127.0.0.1:{port}" in line and "connection refused" in line


def test_kill_9_in_the_middle_of_a_pull(
    fake: FakeRegistry, dockyard: Dockyard, docker_config: Path
) -> None:
    process = subprocess.Popen(
        [DOCKYARD, "pull", f"{fake.addr}/slow/app:1"], env=dockyard.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while fake.hits["hanging"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.hits["hanging"] > 0
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    dockyard.run("pull", f"{fake.addr}/good/after:1")
    listed = dockyard.run("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert listed == [f"{fake.addr}/good/after:1"]
    leftovers = [p for p in (dockyard.root / "tmp").iterdir() if not p.name.startswith(".")]
    assert leftovers == []


def test_parallel_downloads_limit_comes_from_daemon_json(
    fake: FakeRegistry, dockyard: Dockyard, tmp_path: Path, docker_config: Path
) -> None:
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps({"max-concurrent-downloads": 1}))
    os.environ["DOCKYARD_CONFIG"] = str(config)
    try:
        dockyard.run("pull", f"{fake.addr}/good/other:2")
    finally:
        os.environ["DOCKYARD_CONFIG"] = str(tmp_path / "no-daemon.json")
    config.write_text("{not json")
    os.environ["DOCKYARD_CONFIG"] = str(config)
    try:
        result = dockyard.fails("pull", f"{fake.addr}/good/other:2")
        assert "daemon.json" in one_line_error(result.stderr)
    finally:
        os.environ["DOCKYARD_CONFIG"] = str(tmp_path / "no-daemon.json")
