"""The image configuration (``application/vnd.oci.image.config.v1+json``)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from dockyard import __version__
from dockyard.digest import Digest
from dockyard.errors import InvalidDigest, InvalidDocument

# What dockyard writes as docker_version in the image configs it makes (import, commit).
DOCKER_VERSION = f"dockyard-{__version__}"

Empty = dict[str, object]


class ContainerConfig(msgspec.Struct, omit_defaults=True, rename="pascal"):
    """The ``config`` section: what a container of this image runs with."""

    user: str | None = None
    exposed_ports: dict[str, Empty] | None = None
    env: list[str] | None = None
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    volumes: dict[str, Empty] | None = None
    working_dir: str | None = None
    labels: dict[str, str] | None = None
    stop_signal: str | None = None
    args_escaped: bool | None = None
    shell: list[str] | None = None
    on_build: list[str] | None = None


class RootFS(msgspec.Struct):
    type: str
    diff_ids: list[str]


class History(msgspec.Struct, omit_defaults=True):
    created: str | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty_layer: bool = False


class ImageConfig(
    msgspec.Struct,
    omit_defaults=True,
    rename={"os_version": "os.version", "os_features": "os.features"},
):
    architecture: str
    os: str
    rootfs: RootFS
    created: str | None = None
    author: str | None = None
    config: ContainerConfig | None = None
    history: list[History] | None = None
    variant: str | None = None
    os_version: str | None = None
    os_features: list[str] | None = None
    comment: str | None = None  # docker writes the commit message here too
    docker_version: str | None = None

    def diff_ids(self) -> list[Digest]:
        return [Digest.parse(d) for d in self.rootfs.diff_ids]


@dataclass(frozen=True)
class Config:
    """A decoded image config with the exact bytes it came from."""

    raw: bytes
    parsed: ImageConfig

    @property
    def digest(self) -> Digest:
        return Digest.of_bytes(self.raw)


def decode_config(raw: bytes) -> Config:
    """Decode and validate an image config; the rootfs must be layers of valid diff_ids."""
    try:
        parsed = msgspec.json.decode(raw, type=ImageConfig)
    except msgspec.DecodeError as exc:
        raise InvalidDocument(f"malformed image config: {exc}") from exc
    if parsed.rootfs.type != "layers":
        raise InvalidDocument(f"unsupported rootfs type {parsed.rootfs.type!r}")
    try:
        parsed.diff_ids()
    except InvalidDigest as exc:
        raise InvalidDocument(f"malformed image config: {exc}") from exc
    if parsed.history is not None:
        non_empty = sum(1 for h in parsed.history if not h.empty_layer)
        if non_empty != len(parsed.rootfs.diff_ids):
            raise InvalidDocument(
                f"image config history has {non_empty} non-empty entries "
                f"but rootfs has {len(parsed.rootfs.diff_ids)} layers"
            )
    return Config(raw, parsed)


def encode_config(config: ImageConfig) -> bytes:
    return msgspec.json.encode(config)
