"""Resolve docker's ``-u name[:group]`` against the container's own passwd and group.

Follows docker (moby/sys/user GetExecUser): numeric ids pass through even when
absent from the files; a user without an explicit group gets its passwd gid (0
if unknown); supplementary groups are those of /etc/group listing the user.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dockyard.errors import UserNotFound
from dockyard.runtime.rootpath import read_file_in_root

_MAX_FILE = 64 << 20  # no passwd or group is larger: a bigger one is not read whole


class ExecUser(NamedTuple):
    """The ids a container process runs as (``process.user`` of the runtime spec)."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()

    def to_spec(self) -> dict[str, object]:
        user: dict[str, object] = {"uid": self.uid, "gid": self.gid}
        if self.additional_gids:
            user["additionalGids"] = list(self.additional_gids)
        return user


def _read_entries(rootfs: Path, path: str) -> list[list[str]]:
    """The rows of the container's ``path`` (read inside its root: a symlink to a host
    file, a FIFO or a device there counts as no file, as with docker)."""
    data = read_file_in_root(rootfs, path, _MAX_FILE)
    if data is None:
        return []
    text = data.decode(errors="replace")
    rows = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _as_id(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def resolve_user(rootfs: Path, spec: str | None) -> ExecUser:
    """Resolve ``spec`` (``user``, ``uid``, ``user:group``, ``uid:gid``, or empty = root).

    Raises UserNotFound when a name is not in the container's files.
    """
    user_part, _, group_part = (spec or "").partition(":")
    user_part = user_part or "0"
    passwd = [row for row in _read_entries(rootfs, "/etc/passwd") if len(row) >= 4]
    numeric_uid = _as_id(user_part)
    entry = next(
        (
            row
            for row in passwd
            if (row[0] == user_part if numeric_uid is None else _as_id(row[2]) == numeric_uid)
        ),
        None,
    )
    if numeric_uid is not None:
        uid = numeric_uid
    elif entry is not None and entry[2].isdigit():
        uid = int(entry[2])
    else:
        raise UserNotFound(f"unable to find user {user_part}: no matching entries in passwd file")
    gid = _as_id(entry[3]) if entry is not None else None
    groups = [row for row in _read_entries(rootfs, "/etc/group") if len(row) >= 3]
    if group_part:
        gid = _resolve_group(groups, group_part)
    name = entry[0] if entry is not None else None
    extra = tuple(
        sorted(
            {
                int(row[2])
                for row in groups
                if name is not None and row[2].isdigit() and name in _members(row)
            }
            - {gid or 0}
        )
    )
    # The primary group leads the supplementary ones, as docker's containers have it
    # (``id`` there: groups=0(root),10(wheel)).
    return ExecUser(uid, gid or 0, (gid or 0, *extra))


def _members(row: list[str]) -> list[str]:
    return row[3].split(",") if len(row) > 3 and row[3] else []


def _resolve_group(groups: list[list[str]], group: str) -> int:
    numeric = _as_id(group)
    if numeric is not None:
        return numeric
    for row in groups:
        if row[0] == group and row[2].isdigit():
            return int(row[2])
    raise UserNotFound(f"unable to find group {group}: no matching entries in group file")
