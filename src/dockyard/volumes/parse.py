"""``-v``, ``--mount`` and ``--volumes-from`` as docker reads them, with docker's messages.

The daemon's side (moby ``volume/mounts/linux_parser.go``): validate an API mount
object (``--mount``, already split by ``mountflag``) or a ``-v`` string, and make a
``MountPoint`` of it.
"""

from __future__ import annotations

import posixpath
from typing import Any

from dockyard.errors import ConfigError
from dockyard.volumes.model import DEFAULT_PROPAGATION, MountPoint

_RW_MODES = frozenset({"rw", "ro"})
_LABEL_MODES = frozenset({"z", "Z"})
PROPAGATIONS = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave"})
_COPY_MODES = frozenset({"nocopy"})
_CONSISTENCY_MODES = frozenset({"consistent", "cached", "delegated"})
_MODE_KINDS = (_RW_MODES, _LABEL_MODES, PROPAGATIONS, _COPY_MODES, _CONSISTENCY_MODES)


def valid_mode(mode: str) -> bool:
    """A comma list with at most one option of each kind (rw, label, propagation ...)."""
    if not mode:
        return True
    counts = [0] * len(_MODE_KINDS)
    for option in mode.split(","):
        kind = next((i for i, kinds in enumerate(_MODE_KINDS) if option in kinds), None)
        if kind is None:
            return False
        counts[kind] += 1
        if counts[kind] > 1:
            return False
    return True


def _mode_options(mode: str) -> list[str]:
    return mode.split(",") if mode else []


def clean_path(path: str) -> str:
    """Go's ``path.Clean``."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


class MountConfigError(ConfigError):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f'invalid mount config for type "{kind}": {reason}')


def _check_target(kind: str, target: str) -> None:
    if not target:
        raise MountConfigError(kind, "field Target must not be empty")
    if clean_path(target) == "/":
        raise MountConfigError(kind, "invalid specification: destination can't be '/'")
    if not target.startswith("/"):
        raise MountConfigError(kind, f"invalid mount path: '{target}' mount path must be absolute")


def validate_mount(mount: dict[str, Any], *, bind_source_must_exist: bool) -> None:
    """moby's validateMountConfig on an API mount object."""
    kind = str(mount.get("Type", ""))
    source = str(mount.get("Source") or "")
    _check_target(kind, str(mount.get("Target") or ""))
    if kind == "bind":
        if not source:
            raise MountConfigError(kind, "field Source must not be empty")
        propagation = (mount.get("BindOptions") or {}).get("Propagation")
        if propagation and propagation not in PROPAGATIONS:
            raise MountConfigError(kind, f"invalid propagation mode: {propagation}")
        if mount.get("VolumeOptions") is not None:
            raise MountConfigError(kind, "field VolumeOptions must not be specified")
        if not source.startswith("/"):
            raise MountConfigError(
                kind, f"invalid mount path: '{source}' mount path must be absolute"
            )
        if bind_source_must_exist and not posixpath.lexists(source):
            raise MountConfigError(kind, f"bind source path does not exist: {source}")
    elif kind == "volume":
        if mount.get("BindOptions") is not None:
            raise MountConfigError(kind, "field BindOptions must not be specified")
        if not source and mount.get("ReadOnly"):
            raise MountConfigError(kind, "must not set ReadOnly mode when using anonymous volumes")
    elif kind == "tmpfs":
        if mount.get("BindOptions") is not None:
            raise MountConfigError(kind, "field BindOptions must not be specified")
        if source:
            raise MountConfigError(kind, "field Source must not be specified")
    else:
        raise MountConfigError(kind, "mount type unknown")


def mount_point(mount: dict[str, Any], mode: str | None = None) -> MountPoint:
    """A validated API mount object as a mount point (moby parseMountSpec).

    A volume mount without a source is anonymous: its ``name`` is left empty here
    and given a random one when the container is created. ``mode`` is the text of a
    ``-v``'s options; None for a ``--mount``.
    """
    kind = mount["Type"]
    destination = clean_path(mount["Target"])
    rw = not mount.get("ReadOnly", False)
    if kind == "bind":
        propagation = (mount.get("BindOptions") or {}).get("Propagation") or DEFAULT_PROPAGATION
        return MountPoint(
            "bind",
            destination,
            source=clean_path(mount["Source"]),
            mode=mode or "",
            rw=rw,
            propagation=propagation,
        )
    if kind == "volume":
        name = mount.get("Source") or ""
        copy = not (mount.get("VolumeOptions") or {}).get("NoCopy", False)
        # docker shows "z" for a local volume given without a mode: any --mount one, and
        # a named -v one (an anonymous -v /dir shows none).
        shown = mode or ("z" if name or mode is None else "")
        return MountPoint("volume", destination, name=name, mode=shown, rw=rw, copy_data=copy)
    tmpfs = mount.get("TmpfsOptions") or {}
    return MountPoint(
        "tmpfs",
        destination,
        rw=rw,
        tmpfs_size=int(tmpfs.get("SizeBytes") or 0),
        tmpfs_mode=int(tmpfs.get("Mode") or 0),
    )


def _spec_error(raw: str, exc: ConfigError) -> ConfigError:
    return ConfigError(f"invalid volume specification: '{raw}': {exc}")


def _split_volume_flag(raw: str) -> list[str]:
    """The client's checks (docker's compose loader) before anything reaches the daemon."""
    if not raw:
        raise ConfigError("invalid empty volume spec")
    parts = raw.split(":")
    if any(not part for part in parts):
        raise ConfigError(f"invalid spec: {raw}: empty section between colons")
    if len(parts) > 3:
        raise ConfigError(f"invalid spec: {raw}: too many colons")
    return parts


def parse_volume_flag(raw: str) -> MountPoint:
    """One ``-v`` value: ``/ctr``, ``NAME:/ctr[:mode]`` or ``/host:/ctr[:mode]``."""
    parts = _split_volume_flag(raw)
    if len(parts) == 2 and valid_mode(parts[1]):
        raise ConfigError(f"invalid volume specification: '{raw}'")  # /foo:rw
    source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
    mode = parts[2] if len(parts) == 3 else ""
    if not valid_mode(mode):
        raise ConfigError(f"invalid mode: {mode}")
    options = _mode_options(mode)
    mount: dict[str, Any] = {
        "Type": "bind" if source.startswith("/") else "volume",
        "Source": source,
        "Target": target,
        "ReadOnly": "ro" in options,
    }
    if "nocopy" in options:
        mount["VolumeOptions"] = {"NoCopy": True}
    propagation = next((o for o in options if o in PROPAGATIONS), None)
    if propagation:
        mount["BindOptions"] = {"Propagation": propagation}
    try:
        validate_mount(mount, bind_source_must_exist=False)
    except ConfigError as exc:
        raise _spec_error(raw, exc) from None
    point = mount_point(mount, mode)
    if point.type == "bind":
        return MountPoint(**{**point.to_json(), "create_source": True})
    return point


def parse_volumes_from(spec: str) -> tuple[str, bool]:
    """``CONTAINER[:ro|:rw]`` -> (container, read_only)."""
    if not spec:
        raise ConfigError("volumes-from specification cannot be an empty string")
    container, _, mode = spec.partition(":")
    options = _mode_options(mode)
    if mode and (
        not valid_mode(mode) or "nocopy" in options or any(o in PROPAGATIONS for o in options)
    ):
        raise ConfigError(f"invalid mode: {mode}")
    return container, "ro" in options
