"""-v, --mount and --volumes-from parsing: docker's results and docker's messages."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import ConfigError
from dockyard.volumes.model import MountPoint, check_volume_name
from dockyard.volumes.mountflag import parse_mount_flag
from dockyard.volumes.parse import (
    mount_point,
    parse_volume_flag,
    parse_volumes_from,
    valid_mode,
    validate_mount,
)

INVALID_NAME = (
    'create {0}: "{0}" includes invalid characters for a local volume name, only '
    '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
    "use absolute path"
)


def test_bind_volume_and_anonymous() -> None:
    bind = parse_volume_flag("/etc/myHostData:/etc/myDockerData")
    assert bind == MountPoint(
        "bind",
        "/etc/myDockerData",
        source="/etc/myHostData",
        propagation="rprivate",
        create_source=True,
    )
    assert parse_volume_flag("/h//x/:/c/./d/:ro").to_json() == {
        **bind.to_json(),
        "source": "/h/x",
        "destination": "/c/d",
        "mode": "ro",
        "rw": False,
    }
    named = parse_volume_flag("data:/srv")
    assert (named.type, named.name, named.mode, named.copy_data) == ("volume", "data", "z", True)
    nocopy = parse_volume_flag("data:/srv:nocopy,ro")
    assert (nocopy.copy_data, nocopy.rw, nocopy.mode) == (False, False, "nocopy,ro")
    anonymous = parse_volume_flag("/scratch")
    assert (anonymous.type, anonymous.name, anonymous.mode) == ("volume", "", "")
    shared = parse_volume_flag("/h:/c:rshared")
    assert shared.propagation == "rshared"


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (
            "/tmp/x:y",
            "invalid volume specification: '/tmp/x:y': invalid mount config for type "
            "\"bind\": invalid mount path: 'y' mount path must be absolute",
        ),
        (
            "rel",
            "invalid volume specification: 'rel': invalid mount config for type "
            "\"volume\": invalid mount path: 'rel' mount path must be absolute",
        ),
        (
            "/tmp:/",
            "invalid volume specification: '/tmp:/': invalid mount config for type "
            "\"bind\": invalid specification: destination can't be '/'",
        ),
        ("/tmp:/x:foo", "invalid mode: foo"),
        ("/tmp:/x:ro,rw", "invalid mode: ro,rw"),
        ("/foo:rw", "invalid volume specification: '/foo:rw'"),
        ("/tmp:/x:ro:rw", "invalid spec: /tmp:/x:ro:rw: too many colons"),
        (":/x", "invalid spec: :/x: empty section between colons"),
        ("", "invalid empty volume spec"),
        (
            "/tmp:/x:nocopy",
            "invalid volume specification: '/tmp:/x:nocopy': invalid mount "
            'config for type "bind": field VolumeOptions must not be specified',
        ),
        (
            "vol:/x:rshared",
            "invalid volume specification: 'vol:/x:rshared': invalid mount "
            'config for type "volume": field BindOptions must not be specified',
        ),
    ],
)
def test_bad_volume_flags(flag: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_volume_flag(flag)
    assert str(caught.value) == message


@pytest.mark.parametrize("name", ["./x", "../x", "x/y", "-x", "_x", "a b"])
def test_volume_names(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_volume_name(name)
    assert str(caught.value) == INVALID_NAME.format(name)


def test_volume_name_rules() -> None:
    assert check_volume_name("my.vol_1-2") == "my.vol_1-2"
    with pytest.raises(ConfigError, match="volume name is too short"):
        check_volume_name("a")


def test_modes() -> None:
    assert valid_mode("") and valid_mode("ro") and valid_mode("z,ro,rslave,nocopy")
    assert not valid_mode("ro,rw") and not valid_mode("Z,z") and not valid_mode("rwx")


def test_mount_flag_objects() -> None:
    assert parse_mount_flag("type=bind,source=/src,target=/dst,readonly") == {
        "Type": "bind",
        "Source": "/src",
        "Target": "/dst",
        "ReadOnly": True,
    }
    assert parse_mount_flag("src=vol,dst=/d,volume-nocopy") == {
        "Type": "volume",
        "Source": "vol",
        "Target": "/d",
        "VolumeOptions": {"NoCopy": True},
    }
    assert parse_mount_flag("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770") == {
        "Type": "tmpfs",
        "Target": "/t",
        "TmpfsOptions": {"SizeBytes": 64 << 20, "Mode": 0o1770},
    }
    assert parse_mount_flag("type=bind,src=/s,dst=/d,ro=false,bind-propagation=rslave") == {
        "Type": "bind",
        "Source": "/s",
        "Target": "/d",
        "BindOptions": {"Propagation": "rslave"},
    }
    labelled = parse_mount_flag('"volume-label=a=b",volume-opt=o=1,src=v,dst=/d')
    assert labelled["VolumeOptions"] == {
        "Labels": {"a": "b"},
        "DriverConfig": {"Options": {"o": "1"}},
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("x=y", "unexpected key 'x' in 'x=y'"),
        ("type=volume,target=/x,bogus", "invalid field 'bogus' must be a key=value pair"),
        ("source=/tmp", "target is required"),
        ("type=volume,target=/x,readonly=maybe", "invalid value for readonly: maybe"),
        (
            "type=bind,src=/tmp,dst=/x,volume-nocopy",
            "cannot mix 'volume-*' options with mount type 'bind'",
        ),
        (
            "type=volume,dst=/x,tmpfs-size=1m",
            "cannot mix 'tmpfs-*' options with mount type 'volume'",
        ),
        ("type=tmpfs,dst=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ],
)
def test_bad_mount_flags(value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mount_flag(value)
    assert str(caught.value) == f'invalid argument "{value}" for "--mount" flag: {reason}'


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        (
            {"Type": "bind", "Source": "/nonexistent-dockyard", "Target": "/x"},
            'invalid mount config for type "bind": bind source path does not exist: '
            "/nonexistent-dockyard",
        ),
        (
            {"Type": "bind", "Target": "/x"},
            'invalid mount config for type "bind": field Source must not be empty',
        ),
        (
            {"Type": "bind", "Source": "rel", "Target": "/x"},
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must "
            "be absolute",
        ),
        (
            {"Type": "foo", "Target": "/x"},
            'invalid mount config for type "foo": mount type unknown',
        ),
        (
            {"Type": "tmpfs", "Source": "/tmp", "Target": "/x"},
            'invalid mount config for type "tmpfs": field Source must not be specified',
        ),
        (
            {"Type": "volume", "Target": "/x", "ReadOnly": True},
            'invalid mount config for type "volume": must not set ReadOnly mode when using '
            "anonymous volumes",
        ),
    ],
)
def test_daemon_validation(mount: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_mount(mount, bind_source_must_exist=True)
    assert str(caught.value) == message


def test_mount_points_of_mount_objects() -> None:
    volume = mount_point({"Type": "volume", "Source": "v", "Target": "/d", "ReadOnly": True})
    assert (volume.name, volume.mode, volume.rw, volume.copy_data) == ("v", "z", False, True)
    bind = mount_point({"Type": "bind", "Source": "/s", "Target": "/d"})
    assert (bind.mode, bind.propagation, bind.create_source) == ("", "rprivate", False)
    tmpfs = mount_point({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 5}})
    assert (tmpfs.type, tmpfs.tmpfs_size) == ("tmpfs", 5)


def test_volumes_from() -> None:
    assert parse_volumes_from("u1") == ("u1", False)
    assert parse_volumes_from("u1:ro") == ("u1", True)
    assert parse_volumes_from("u1:rw") == ("u1", False)
    for bad in ("u1:nocopy", "u1:rshared", "u1:bogus"):
        with pytest.raises(ConfigError, match="invalid mode"):
            parse_volumes_from(bad)


def test_inspect_views() -> None:
    from pathlib import Path

    root = Path("/r/volumes")
    bind = parse_volume_flag("/h:/c")
    assert bind.inspect_view(root) == {
        "Type": "bind",
        "Source": "/h",
        "Destination": "/c",
        "Mode": "",
        "RW": True,
        "Propagation": "rprivate",
    }
    named = parse_volume_flag("v1:/d:ro")
    assert list(named.inspect_view(root).items()) == [
        ("Type", "volume"),
        ("Name", "v1"),
        ("Source", "/r/volumes/v1/_data"),
        ("Destination", "/d"),
        ("Driver", "local"),
        ("Mode", "ro"),
        ("RW", False),
        ("Propagation", ""),
    ]
    inherited = named.inherited(read_only=False)
    assert (inherited.mode, inherited.rw, inherited.copy_data) == ("", False, False)
    assert parse_volume_flag("/h:/c").inherited(read_only=True).rw is False


def test_a_mount_volume_shows_mode_z_named_or_not() -> None:
    """docker's inspect: Mode "z" for every --mount volume given without options, and
    for a named -v one; an anonymous -v /dir shows none."""
    anonymous = {"Type": "volume", "Target": "/anon"}
    named = {"Type": "volume", "Source": "v1", "Target": "/named"}
    assert mount_point(anonymous).mode == "z" and mount_point(named).mode == "z"
    assert parse_volume_flag("/dir").mode == "" and parse_volume_flag("v1:/d").mode == "z"
