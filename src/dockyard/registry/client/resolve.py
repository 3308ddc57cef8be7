"""From a tag or digest to one image: its manifest (via an index for the platform) and config.

Every document is checked against the digest it was asked for: a pull by digest whose
manifest hashes to something else is refused, and so is an index child or config that
does not match its descriptor.
"""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.errors import ConfigError, DigestMismatch, InvalidDocument
from dockyard.image import mediatypes as mt
from dockyard.image.config import Config, decode_config
from dockyard.image.manifest import Document, ImageIndex, ImageManifest, decode_manifest
from dockyard.registry.client.repository import Repository

_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class PlatformSpec:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


def parse_platform(text: str | None) -> PlatformSpec:
    """``os/arch[/variant]``; None means this host's platform."""
    if not text:
        machine = host_platform.machine()
        variant = "v7" if machine == "armv7l" else None
        return PlatformSpec("linux", _ARCHES.get(machine, machine), variant)
    parts = text.lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(f'"{text}": unknown operating system or architecture')
    return PlatformSpec(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


@dataclass(frozen=True)
class ResolvedImage:
    digest: Digest  # of the document the tag or digest names (an index, or the manifest)
    documents: tuple[Document, ...]  # that document and, under an index, the chosen manifest
    manifest: ImageManifest
    config: Config


async def resolve(repo: Repository, reference: str, platform: PlatformSpec) -> ResolvedImage:
    top = await _fetch(repo, reference)
    documents = [top]
    if top.is_index:
        child = _choose(top.index, platform)
        documents.append(await _fetch(repo, child))
    manifest = documents[-1].manifest
    if manifest.config.media_type not in mt.CONFIGS:
        raise InvalidDocument(f"unsupported config media type {manifest.config.media_type}")
    for layer in manifest.layers:
        if layer.media_type not in mt.LAYERS:
            raise InvalidDocument(f"unsupported layer media type {layer.media_type}")
    config = decode_config(await repo.get_blob(manifest.config.parsed_digest))
    if len(config.parsed.rootfs.diff_ids) != len(manifest.layers):
        raise InvalidDocument(
            f"manifest has {len(manifest.layers)} layers but the image config lists "
            f"{len(config.parsed.rootfs.diff_ids)}"
        )
    return ResolvedImage(top.digest, tuple(documents), manifest, config)


async def _fetch(repo: Repository, reference: str) -> Document:
    fetched = await repo.get_manifest(reference)
    actual = Digest.of_bytes(fetched.raw)
    if reference.startswith(("sha256:", "sha512:")):
        expected = Digest.parse(reference)
        if Digest.of_bytes(fetched.raw, expected.algorithm) != expected:
            raise DigestMismatch(reference, str(actual), "manifest")
    else:
        announced = fetched.digest_header or ""
        if announced.startswith("sha256:") and announced != str(actual):
            raise DigestMismatch(announced, str(actual), "manifest")
    return decode_manifest(fetched.raw, fetched.content_type)


def _choose(index: ImageIndex, wanted: PlatformSpec) -> str:
    """The index entry for the platform; docker's wording when there is none."""
    candidates = [
        d for d in index.manifests
        if d.platform is not None and d.media_type in mt.IMAGE_MANIFESTS
        and d.platform.matches(wanted.os, wanted.architecture, wanted.variant)
    ]
    if not candidates:
        raise InvalidDocument(f"no matching manifest for {wanted} in the manifest list entries")
    # An exact variant beats an entry without one.
    candidates.sort(key=lambda d: d.platform is None or d.platform.variant != wanted.variant)
    return candidates[0].digest
