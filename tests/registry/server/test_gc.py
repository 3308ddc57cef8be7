"""Garbage collection over a registry directory in CNCF distribution's layout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.errors import StoreError
from dockyard.registry.server.gc import GarbageCollector
from dockyard.registry.server.storage import FilesystemDriver

V2 = "docker/registry/v2"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"


class RegistryDir:
    """Writes blobs, links and tags the way distribution lays them out."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.v2 = root / V2

    def _link(self, path: Path, digest: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "link").write_text(digest)

    def blob(self, data: bytes, repo: str | None = "app") -> dict[str, object]:
        hex_ = hashlib.sha256(data).hexdigest()
        path = self.v2 / "blobs" / "sha256" / hex_[:2] / hex_
        path.mkdir(parents=True, exist_ok=True)
        (path / "data").write_bytes(data)
        if repo:
            self._link(self.v2 / "repositories" / repo / "_layers/sha256" / hex_, f"sha256:{hex_}")
        return {"mediaType": LAYER, "digest": f"sha256:{hex_}", "size": len(data)}

    def manifest(self, repo: str, document: dict[str, object], tag: str | None = None) -> str:
        data = json.dumps(document).encode()
        digest = str(self.blob(data, repo=None)["digest"])
        hex_ = digest.split(":")[1]
        manifests = self.v2 / "repositories" / repo / "_manifests"
        self._link(manifests / "revisions/sha256" / hex_, digest)
        if tag:
            self._link(manifests / "tags" / tag / "current", digest)
            self._link(manifests / "tags" / tag / "index/sha256" / hex_, digest)
        return digest

    def image(self, repo: str, tag: str | None, *layers: bytes, subject: str | None = None) -> str:
        config = self.blob(json.dumps({"layers": [len(x) for x in layers]}).encode(), repo)
        document: dict[str, object] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {**config, "mediaType": CONFIG},
            "layers": [self.blob(layer, repo) for layer in layers],
        }
        if subject:
            document["subject"] = self.descriptor(subject, OCI_MANIFEST)
        return self.manifest(repo, document, tag)

    def descriptor(self, digest: str, media_type: str) -> dict[str, object]:
        return {"mediaType": media_type, "digest": digest, "size": self.data(digest).stat().st_size}

    def data(self, digest: str) -> Path:
        hex_ = digest.split(":")[1]
        return self.v2 / "blobs/sha256" / hex_[:2] / hex_ / "data"

    def exists(self, data: bytes) -> bool:
        return self.data(f"sha256:{hashlib.sha256(data).hexdigest()}").exists()

    def untag(self, repo: str, tag: str) -> None:
        import shutil

        shutil.rmtree(self.v2 / "repositories" / repo / "_manifests/tags" / tag)

    def age(self, seconds: float = 7200) -> None:
        """Make every file look ``seconds`` old (outside the grace window)."""
        then = time.time() - seconds
        for directory, _, files in os.walk(self.root):
            for name in files:
                os.utime(Path(directory) / name, (then, then))

    def revision(self, repo: str, digest: str) -> Path:
        return self.v2 / "repositories" / repo / "_manifests/revisions/sha256" / digest[7:]


@pytest.fixture
def registry(tmp_path: Path) -> RegistryDir:
    return RegistryDir(tmp_path / "root")


def collect(registry: RegistryDir, **options: object) -> GarbageCollector:
    collector = GarbageCollector(FilesystemDriver(registry.root), **options)  # type: ignore[arg-type]
    collector.run()
    return collector


def test_delete_untagged_sweeps_only_unreferenced_blobs(registry: RegistryDir) -> None:
    kept = registry.image("app", "a", b"layer-a", b"shared")
    gone = registry.image("app", "b", b"layer-b", b"shared")
    registry.untag("app", "b")
    registry.age()
    result = collect(registry, delete_untagged=True).result
    assert registry.exists(b"layer-a") and registry.exists(b"shared")
    assert registry.data(kept).exists()
    assert not registry.exists(b"layer-b") and not registry.data(gone).exists()
    assert not registry.revision("app", gone).exists() and registry.revision("app", kept).exists()
    assert result.deleted_manifests == [("app", result.deleted_manifests[0][1])]
    layer_b = hashlib.sha256(b"layer-b").hexdigest()
    assert not (registry.v2 / "repositories/app/_layers/sha256" / layer_b).exists()


def test_untagged_revisions_are_kept_without_delete_untagged(registry: RegistryDir) -> None:
    registry.image("app", "a", b"layer-a")
    untagged = registry.image("app", None, b"layer-u")
    registry.blob(b"orphan upload")
    registry.age()
    result = collect(registry).result
    assert registry.exists(b"layer-u") and registry.data(untagged).exists()
    assert not registry.exists(b"orphan upload")
    assert len(result.deleted_blobs) == 1 and result.deleted_manifests == []


def test_a_manifest_deleted_through_the_api_is_no_root(registry: RegistryDir) -> None:
    """DELETE /v2/<name>/manifests/<digest> removes the revision's link, not its directory
    (as distribution does): such a revision no longer keeps its blobs."""
    registry.image("app", "a", b"layer-a")
    gone = registry.image("app", None, b"layer-gone")
    (registry.revision("app", gone) / "link").unlink()
    registry.age()
    collect(registry)
    assert registry.exists(b"layer-a")
    assert not registry.exists(b"layer-gone") and not registry.data(gone).exists()


def test_grace_window_keeps_recent_blobs_and_revisions(registry: RegistryDir) -> None:
    registry.image("app", "a", b"layer-a")
    registry.age()
    registry.blob(b"just uploaded")  # a push in flight: no manifest yet
    in_flight = registry.image("app", None, b"pushed by digest")
    result = collect(registry, delete_untagged=True, grace=3600).result
    assert registry.exists(b"just uploaded") and registry.exists(b"pushed by digest")
    assert registry.revision("app", in_flight).exists()
    assert result.deleted_blobs == [] and len(result.kept_recent) == 1


def test_dry_run_deletes_nothing(registry: RegistryDir) -> None:
    registry.image("app", "a", b"layer-a")
    gone = registry.image("app", "b", b"layer-bb")
    registry.untag("app", "b")
    registry.blob(b"orphan")
    registry.age()
    before = sorted(p for p in registry.root.rglob("*"))
    result = collect(registry, delete_untagged=True, dry_run=True).result
    assert sorted(p for p in registry.root.rglob("*")) == before
    assert len(result.deleted_blobs) == 4  # layer-b, its config, its manifest, the orphan
    assert [digest for _, digest in result.deleted_manifests] == [result.deleted_manifests[0][1]]
    assert str(result.deleted_manifests[0][1]) == gone


def test_index_children_and_their_layers_are_marked(registry: RegistryDir) -> None:
    amd64 = registry.image("multi", None, b"amd64 layer")
    arm64 = registry.image("multi", None, b"arm64 layer")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [registry.descriptor(d, OCI_MANIFEST) for d in (amd64, arm64)],
    }
    registry.manifest("multi", index, "latest")
    registry.age()
    result = collect(registry, delete_untagged=True).result
    assert registry.exists(b"amd64 layer") and registry.exists(b"arm64 layer")
    assert registry.revision("multi", amd64).exists()
    assert result.deleted_blobs == [] and result.deleted_manifests == []


def test_referrers_live_as_long_as_their_subject(registry: RegistryDir) -> None:
    kept = registry.image("app", "a", b"layer-a")
    gone = registry.image("app", "b", b"layer-b")
    signature = registry.image("app", None, b"signature of a", subject=kept)
    orphan_sig = registry.image("app", None, b"signature of b", subject=gone)
    registry.untag("app", "b")
    registry.age()
    collect(registry, delete_untagged=True)
    assert registry.exists(b"signature of a") and registry.revision("app", signature).exists()
    assert not registry.exists(b"signature of b")
    assert not registry.revision("app", orphan_sig).exists()


def test_a_manifest_tagged_elsewhere_keeps_its_blobs(registry: RegistryDir) -> None:
    digest = registry.image("one", "v1", b"common layer")
    registry.image("two", None, b"common layer")  # the same manifest bytes, untagged here
    registry.age()
    result = collect(registry, delete_untagged=True).result
    assert result.deleted_manifests == [("two", result.deleted_manifests[0][1])]
    assert registry.data(digest).exists() and registry.exists(b"common layer")


def test_unreadable_manifest_stops_before_deleting(registry: RegistryDir) -> None:
    registry.image("app", "a", b"layer-a")
    registry.blob(b"orphan")
    broken = registry.manifest("app", {"schemaVersion": 2, "layers": "nope"}, "broken")
    registry.age()
    with pytest.raises(StoreError, match=broken):
        collect(registry)
    assert registry.exists(b"orphan")


def test_cli_garbage_collect(registry: RegistryDir, tmp_path: Path) -> None:
    registry.image("app", "a", b"layer-a")
    registry.blob(b"orphan")
    registry.age()
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage: {{filesystem: {{rootdirectory: {registry.root}}}}}\n"
    )
    argv = [
        sys.executable,
        "-c",
        "from dockyard.cli.main import main; main()",
        "registry",
        "garbage-collect",
    ]
    dry = subprocess.run(
        [*argv, "--dry-run", str(config)], capture_output=True, text=True, check=True
    )
    assert "would delete 1 blobs" in dry.stdout and registry.exists(b"orphan")
    run = subprocess.run([*argv, str(config)], capture_output=True, text=True, check=True)
    assert "deleted 1 blobs" in run.stdout and not registry.exists(b"orphan")
    bad = subprocess.run(
        [*argv, "--grace", "soon", str(config)], check=False, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "Error: --grace: invalid duration" in bad.stderr
