"""Docker's security defaults (moby oci/defaults.go, daemon/oci_linux.go) and host probes."""

from __future__ import annotations

import os
import resource
import stat

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

# Index = capability number (linux/capability.h).
ALL_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)

READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

# Device cgroup rules: deny all, then allow what docker allows (the runtime adds the
# standard null/zero/full/tty/random/urandom/ptmx/pts devices itself).
_ALLOWED_CHAR_DEVICES = ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1))


def device_rules(*, privileged: bool) -> list[dict[str, object]]:
    if privileged:
        return [{"allow": True, "access": "rwm"}]
    rules: list[dict[str, object]] = [{"allow": False, "access": "rwm"}]
    rules += [
        {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
        for major, minor in _ALLOWED_CHAR_DEVICES
    ]
    rules.append({"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    return rules


def known_capabilities() -> list[str]:
    """All capabilities we can grant (``--privileged``): the kernel's, within our bounding set.

    Asking the runtime for one outside our own bounding set fails the container
    ("unable to apply caps"), as it does when dockyard itself runs in a container.
    """
    try:
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith("CapBnd:"))
        bounding = int(line.split()[1], 16)
    except (OSError, StopIteration, ValueError):
        bounding = (1 << len(ALL_CAPABILITIES)) - 1
    return [name for bit, name in enumerate(ALL_CAPABILITIES) if bounding >> bit & 1]


# /dev entries that the runtime or the default mounts provide themselves.
_SKIP_DEV = frozenset({"pts", "shm", "fd", "mqueue", "console", "ptmx", "core", ".lxc", ".udev"})


def host_devices(root: str = "/dev") -> list[dict[str, object]]:
    """Every char and block device under /dev, as spec ``linux.devices`` (``--privileged``)."""
    devices: list[dict[str, object]] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return devices
    for entry in entries:
        if entry.name in _SKIP_DEV:
            continue
        if entry.is_dir(follow_symlinks=False):
            devices += host_devices(entry.path)
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            devices.append(
                {
                    "path": entry.path,
                    "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "fileMode": stat.S_IMODE(st.st_mode),
                    "uid": st.st_uid,
                    "gid": st.st_gid,
                }
            )
    return devices


# The limits docker (>= 25) gives a container, clamped to our own: this kernel
# refuses to raise a hard limit, and the runtime would fail on any such request.
_WANTED_RLIMITS = {"RLIMIT_NOFILE": (1024, 524288)}


def rlimits() -> list[dict[str, object]]:
    limits: list[dict[str, object]] = []
    for name, (wanted_soft, wanted_hard) in _WANTED_RLIMITS.items():
        _, own_hard = resource.getrlimit(getattr(resource, name))
        hard = wanted_hard if own_hard == resource.RLIM_INFINITY else min(wanted_hard, own_hard)
        limits.append({"type": name, "soft": min(wanted_soft, hard), "hard": hard})
    return limits


def cgroup_controllers() -> frozenset[str]:
    """The cgroup controllers usable here (v1 hierarchies, or v2's cgroup.controllers)."""
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return frozenset(f.read().split())
    except OSError:
        pass
    try:
        return frozenset(
            name for name in os.listdir("/sys/fs/cgroup") if name in {"cpu", "memory", "pids"}
        )
    except OSError:
        return frozenset()
