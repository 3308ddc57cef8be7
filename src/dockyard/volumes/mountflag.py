"""``--mount type=…,source=…,target=…`` into docker's API mount object (the client's part).

As docker's CLI (opts/mount.go): CSV fields, ``key=value`` or a bare boolean key,
``type`` defaults to ``volume``; every error reads ``invalid argument "<value>" for
"--mount" flag: <reason>``.  The daemon's validation follows in ``volumes.parse``.
"""

from __future__ import annotations

import csv
from typing import Any

from dockyard.errors import ConfigError

_BOOL_WORDS = {
    "1": True,
    "t": True,
    "T": True,
    "true": True,
    "TRUE": True,
    "True": True,
    "0": False,
    "f": False,
    "F": False,
    "false": False,
    "FALSE": False,
    "False": False,
}
_FLAG_KEYS = {"readonly", "ro", "volume-nocopy", "bind-nonrecursive"}
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _parse_bool(key: str, value: str) -> bool:
    """Go's strconv.ParseBool."""
    if value not in _BOOL_WORDS:
        raise ConfigError(f"invalid value for {key}: {value}")
    return _BOOL_WORDS[value]


def _parse_size(key: str, value: str) -> int:
    """go-units RAMInBytes: ``64m``, ``1g``, ``512k``, bytes."""
    text = value.strip().lower().removesuffix("b").removesuffix("i")
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _SIZE_UNITS else (text, "")
    try:
        size = float(number)
    except ValueError:
        raise ConfigError(f"invalid value for {key}: {value}") from None
    return int(size * _SIZE_UNITS[unit])


def _key_value_map(value: str) -> tuple[str, str]:
    key, _, val = value.partition("=")
    return key, val


class _MountBuilder:
    def __init__(self) -> None:
        self.mount: dict[str, Any] = {"Type": "volume"}

    def section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self.mount.setdefault(name, {})
        return section

    def flag(self, key: str, value: bool) -> None:
        if key in ("readonly", "ro"):
            self.mount["ReadOnly"] = value
        elif key == "volume-nocopy":
            self.section("VolumeOptions")["NoCopy"] = value
        else:
            self.section("BindOptions")["NonRecursive"] = value

    def field(self, key: str, value: str, raw: str) -> None:
        if key in _FLAG_KEYS:
            self.flag(key, _parse_bool(key, value))
        elif key == "type":
            self.mount["Type"] = value.lower()
        elif key in ("source", "src"):
            self.mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            self.mount["Target"] = value
        elif key == "consistency":
            self.mount["Consistency"] = value.lower()
        elif key == "bind-propagation":
            self.section("BindOptions")["Propagation"] = value.lower()
        elif key == "volume-label":
            label, val = _key_value_map(value)
            self.section("VolumeOptions").setdefault("Labels", {})[label] = val
        elif key == "volume-driver":
            self.section("VolumeOptions").setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            option, val = _key_value_map(value)
            driver = self.section("VolumeOptions").setdefault("DriverConfig", {})
            driver.setdefault("Options", {})[option] = val
        elif key == "tmpfs-size":
            self.section("TmpfsOptions")["SizeBytes"] = _parse_size(key, value)
        elif key == "tmpfs-mode":
            try:
                self.section("TmpfsOptions")["Mode"] = int(value, 8)
            except ValueError:
                raise ConfigError(f"invalid value for {key}: {value}") from None
        else:
            raise ConfigError(f"unexpected key '{key}' in '{raw}'")

    def check(self) -> dict[str, Any]:
        kind = self.mount["Type"]
        if not kind:
            raise ConfigError("type is required")
        if not self.mount.get("Target"):
            raise ConfigError("target is required")
        for section, prefix, wanted in (
            ("VolumeOptions", "volume", "volume"),
            ("BindOptions", "bind", "bind"),
            ("TmpfsOptions", "tmpfs", "tmpfs"),
        ):
            if section in self.mount and kind != wanted:
                raise ConfigError(f"cannot mix '{prefix}-*' options with mount type '{kind}'")
        if not self.mount.get("ReadOnly"):
            self.mount.pop("ReadOnly", None)  # omitted when false, as docker's JSON
        return self.mount


def _mount_object(value: str) -> dict[str, Any]:
    builder = _MountBuilder()
    fields = next(csv.reader([value]), [])
    for raw in fields:
        key, sep, val = raw.partition("=")
        key = key.lower()
        if not sep and key in _FLAG_KEYS:
            builder.flag(key, True)
            continue
        if not sep:
            raise ConfigError(f"invalid field '{raw}' must be a key=value pair")
        builder.field(key, val, raw)
    return builder.check()


def parse_mount_flag(value: str) -> dict[str, Any]:
    """One ``--mount`` value as docker's API mount object (empty fields omitted)."""
    try:
        return _mount_object(value)
    except ConfigError as exc:
        raise ConfigError(f'invalid argument "{value}" for "--mount" flag: {exc}') from None
