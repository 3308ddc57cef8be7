"""Container mounts: the spec's ``mounts`` entries and docker's default set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

_BIND_OPTIONS = ("rbind", "rprivate")


class Mount(NamedTuple):
    """One entry of the runtime spec's ``mounts`` (a bind mount unless ``type`` says)."""

    destination: str
    source: str
    type: str = "bind"
    options: Sequence[str] = _BIND_OPTIONS

    @classmethod
    def bind(cls, source: str, destination: str, *, read_only: bool = False) -> Mount:
        options = (*_BIND_OPTIONS, "ro") if read_only else _BIND_OPTIONS
        return cls(destination=destination, source=source, options=options)

    def to_spec(self) -> dict[str, object]:
        return {
            "destination": self.destination,
            "type": self.type,
            "source": self.source,
            "options": list(self.options),
        }


def default_mounts(*, privileged: bool) -> list[dict[str, object]]:
    """Docker's default mounts (moby oci/defaults.go); privileged gets /sys and cgroup rw."""
    sys_mode = "rw" if privileged else "ro"
    return [
        {
            "destination": "/proc",
            "type": "proc",
            "source": "proc",
            "options": ["rw", "nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["rw", "nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": [
                "rw",
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": [sys_mode, "nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": [sys_mode, "nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["rw", "nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["rw", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
    ]
