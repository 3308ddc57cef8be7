"""What an image archive holds: one entry per image, from manifest.json or index.json.

``docker save`` writes manifest.json (and, since Docker 25, an OCI layout beside it);
``skopeo copy … oci:`` and others write an OCI image layout. Both become
``ArchiveImage``s that name the archive members holding the config and each layer.
"""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass

import msgspec

from dockyard.digest import Digest
from dockyard.errors import InvalidArchive, InvalidDigest, InvalidDocument
from dockyard.image import mediatypes as mt
from dockyard.image.manifest import Descriptor, decode_manifest
from dockyard.transports.tar_index import TarIndex

IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class ArchiveLayer:
    member: str
    media_type: str
    digest: Digest | None  # the blob's digest when the archive names it (OCI layout)


@dataclass(frozen=True)
class ArchiveImage:
    config_member: str
    config_digest: Digest | None
    layers: list[ArchiveLayer]
    repo_tags: list[str]
    manifest: tuple[Digest, str, bytes] | None = None  # digest, media type, raw


class _DockerManifestEntry(msgspec.Struct, rename="pascal"):
    config: str
    layers: list[str]
    repo_tags: list[str] | None = None


def read_entries(index: TarIndex) -> list[ArchiveImage]:
    """The images in an archive, preferring docker's manifest.json when present."""
    if index.has("manifest.json"):
        return _docker_entries(index)
    if index.has("index.json"):
        return _oci_entries(index)
    raise InvalidArchive(
        "invalid image archive: neither manifest.json (docker save) nor index.json (OCI layout)"
    )


def _docker_entries(index: TarIndex) -> list[ArchiveImage]:
    try:
        entries = msgspec.json.decode(index.read("manifest.json"), type=list[_DockerManifestEntry])
    except msgspec.DecodeError as exc:
        raise InvalidArchive(f"invalid manifest.json in archive: {exc}") from exc
    images = []
    for entry in entries:
        layers = [
            ArchiveLayer(name, mt.DOCKER_LAYER, _digest_from_name(name)) for name in entry.layers
        ]
        images.append(
            ArchiveImage(
                entry.config, _digest_from_name(entry.config), layers, entry.repo_tags or []
            )
        )
    return images


def _digest_from_name(name: str) -> Digest | None:
    """Docker 25+ and OCI layouts name blobs by digest: blobs/sha256/<hex>."""
    parts = name.strip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "blobs":
        try:
            return Digest.parse(f"{parts[-2]}:{parts[-1]}")
        except InvalidDigest:
            return None
    return None


def _blob_member(descriptor: Descriptor) -> str:
    digest = descriptor.parsed_digest
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _oci_entries(index: TarIndex) -> list[ArchiveImage]:
    raw = index.read("index.json")
    try:
        document = decode_manifest(raw, mt.OCI_INDEX)
    except InvalidDocument as exc:
        raise InvalidArchive(f"invalid index.json in OCI layout: {exc}") from exc
    images: list[ArchiveImage] = []
    for descriptor in document.index.manifests:
        images.extend(_oci_image(index, descriptor, _names(descriptor)))
    return images


def _names(descriptor: Descriptor) -> list[str]:
    annotations = descriptor.annotations or {}
    name = annotations.get(IMAGE_NAME_ANNOTATION)
    return [name] if name else []


def _oci_image(index: TarIndex, descriptor: Descriptor, tags: list[str]) -> list[ArchiveImage]:
    digest = descriptor.parsed_digest
    raw = index.read(_blob_member(descriptor))
    digest.verify(raw, "manifest")
    document = decode_manifest(raw, descriptor.media_type)
    if document.is_index:
        chosen = select_platform(document.index.manifests)
        return _oci_image(index, chosen, tags)
    manifest = document.manifest
    layers = [
        ArchiveLayer(_blob_member(layer), layer.media_type, layer.parsed_digest)
        for layer in manifest.layers
    ]
    for layer in manifest.layers:
        if layer.media_type not in mt.LAYERS:
            raise InvalidArchive(f"unsupported layer media type {layer.media_type}")
    config = manifest.config
    return [
        ArchiveImage(
            _blob_member(config),
            config.parsed_digest,
            layers,
            tags,
            (digest, document.media_type, raw),
        )
    ]


def host_platform_pair() -> tuple[str, str]:
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(
        machine, machine
    )
    return "linux", arch


def select_platform(manifests: list[Descriptor]) -> Descriptor:
    """The host's entry of an index (os/architecture), as docker picks it."""
    os_name, arch = host_platform_pair()
    for candidate in manifests:
        if candidate.platform is not None and candidate.platform.matches(os_name, arch):
            return candidate
    images = [m for m in manifests if m.media_type in mt.IMAGE_MANIFESTS and m.platform is None]
    if len(images) == 1:
        return images[0]
    raise InvalidArchive(f"no image for platform {os_name}/{arch} in the index")
