"""A container's mount point: what ``create`` decided, stored per container, shown by inspect.

Like docker's ``volume/mounts.MountPoint`` (kept in its config.v2.json): one entry
per destination, whichever flag it came from (``-v``, ``--mount``, ``--volumes-from``
or the image's ``Volumes``).  A volume's host path is not stored: it follows from
the store root (``<root>/volumes/<name>/_data``), so a moved root still works.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from dockyard.errors import ConfigError

MountType = Literal["bind", "volume", "tmpfs"]

# moby volume/local: names the local driver accepts (at least two characters).
VOLUME_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")
DEFAULT_PROPAGATION = "rprivate"


def check_volume_name(name: str) -> str:
    """The local driver's rule, with docker's message (it tells a path from a name)."""
    if len(name) == 1:
        raise ConfigError(
            f"create {name}: volume name is too short, names should be at least two "
            "alphanumeric characters"
        )
    if not VOLUME_NAME_RE.match(name):
        raise ConfigError(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path"
        )
    return name


def volume_data_dir(volumes_root: Path, name: str) -> Path:
    return volumes_root / name / "_data"


@dataclass(frozen=True)
class MountPoint:
    """One mount of a container.

    ``source`` is the host path of a bind (as the user wrote it, cleaned; resolved
    only when the container starts); ``name`` the volume of a volume mount.
    ``mode`` is docker's inspect ``Mode`` (the ``-v`` options text, or ``z`` for a
    local volume named by a flag).  ``create_source`` marks a ``-v`` bind whose
    missing host directory is created (``--mount`` refuses a missing source instead).
    ``anonymous``: the volume's name was made up for this mount (``-v /dir``): ``rm -v``
    and ``run --rm`` remove it, as docker removes a mount whose spec has no source.
    """

    type: MountType
    destination: str
    source: str = ""
    name: str = ""
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    copy_data: bool = False
    create_source: bool = False
    tmpfs_size: int = 0
    tmpfs_mode: int = 0
    anonymous: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MountPoint:
        return cls(**data)

    def host_source(self, volumes_root: Path) -> str:
        if self.type == "volume":
            return str(volume_data_dir(volumes_root, self.name))
        return self.source

    def inspect_view(self, volumes_root: Path) -> dict[str, Any]:
        """Docker's ``Mounts`` entry of container inspect (its key order, too)."""
        view: dict[str, Any] = {"Type": self.type}
        if self.type == "volume":
            view["Name"] = self.name
        view["Source"] = self.host_source(volumes_root)
        view["Destination"] = self.destination
        if self.type == "volume":
            view["Driver"] = "local"
        view.update(Mode=self.mode, RW=self.rw, Propagation=self.propagation)
        return view

    def inherited(self, read_only: bool) -> MountPoint:
        """The copy ``--volumes-from`` makes: never copied up, no longer its own ``-v`` text;
        ``:ro`` makes it read-only, ``:rw`` cannot make a read-only mount writable."""
        return MountPoint(
            type=self.type,
            destination=self.destination,
            source=self.source,
            name=self.name,
            mode="",
            rw=self.rw and not read_only,
            propagation=self.propagation,
            create_source=self.create_source,
            tmpfs_size=self.tmpfs_size,
            tmpfs_mode=self.tmpfs_mode,
            anonymous=self.anonymous,  # docker copies the parent's spec, source and all
        )


def sort_by_depth(points: list[MountPoint]) -> list[MountPoint]:
    """Parents before children (``/a`` before ``/a/b``), as docker orders the spec's mounts."""
    return sorted(points, key=lambda p: len(Path(p.destination).parts))
