"""Test images made here: rootfs tarballs, docker-save archives and OCI layouts.

A fake in the go-containerregistry ``random`` sense: real formats, generated content.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(files: dict[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    """An uncompressed tar holding ``files`` (path -> content) and ``dirs``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@dataclass
class FakeImage:
    """An image as an archive writer sees it: layer tars and a config over them."""

    layers: list[bytes]
    tags: list[str] = field(default_factory=list)
    cmd: list[str] | None = None
    history_comment: str = "made by imagefactory"

    def config(self, diff_ids: list[str] | None = None) -> bytes:
        ids = diff_ids if diff_ids is not None else [sha256(layer) for layer in self.layers]
        document = {
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": self.cmd} if self.cmd else {},
            "rootfs": {"type": "layers", "diff_ids": ids},
            "history": [
                {
                    "created": "2024-01-01T00:00:00Z",
                    "created_by": f"layer {i}",
                    "comment": self.history_comment,
                }
                for i in range(len(self.layers))
            ],
        }
        return json.dumps(document).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_docker_archive(
    out: Path,
    images: list[FakeImage],
    diff_ids: list[str] | None = None,
    gzip_layers: bool = False,
) -> Path:
    """A legacy ``docker save`` archive (layer dirs with layer.tar, <id>.json, manifest.json)."""
    entries = []
    with tarfile.open(out, "w") as tar:
        written: set[str] = set()
        for image in images:
            config = image.config(diff_ids)
            layer_names = []
            for layer in image.layers:
                name = f"{hashlib.sha256(layer).hexdigest()}/layer.tar"
                if name not in written:
                    _add(tar, name, gzip.compress(layer) if gzip_layers else layer)
                    written.add(name)
                layer_names.append(name)
            config_name = f"{hashlib.sha256(config).hexdigest()}.json"
            _add(tar, config_name, config)
            entries.append(
                {"Config": config_name, "RepoTags": image.tags or None, "Layers": layer_names}
            )
        _add(tar, "manifest.json", json.dumps(entries).encode())
    return out


def write_oci_layout_tar(
    out: Path,
    image: FakeImage,
    ref_name: str | None = None,
    gzip_layers: bool = True,
    corrupt_manifest: bool = False,
) -> Path:
    """An OCI image layout (oci-layout, index.json, blobs/) as a tar, as skopeo writes it."""
    blobs: dict[str, bytes] = {}
    layer_descriptors = []
    for layer in image.layers:
        blob = gzip.compress(layer, mtime=0) if gzip_layers else layer
        blobs[sha256(blob)] = blob
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzip_layers else "")
        layer_descriptors.append({"mediaType": media, "digest": sha256(blob), "size": len(blob)})
    config = image.config()
    blobs[sha256(config)] = config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(config),
                "size": len(config),
            },
            "layers": layer_descriptors,
        }
    ).encode()
    manifest_digest = sha256(manifest)
    blobs[manifest_digest] = manifest + (b" " if corrupt_manifest else b"")
    descriptor: dict[str, object] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest,
        "size": len(manifest),
    }
    if ref_name:
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    index = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()
    with tarfile.open(out, "w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", index)
        for digest, data in blobs.items():
            _add(tar, f"blobs/sha256/{digest.split(':')[1]}", data)
    return out
