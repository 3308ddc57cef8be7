"""A minimal root filesystem tarball from Debian's busybox-static.

The demo, the tests and the benchmarks all start from this image: ``/bin/busybox``
with one symlink per applet, ``/etc/passwd`` and ``/etc/group``, and the usual empty
top-level directories. The bytes are the same on every build (fixed times, numeric
owners, sorted entries), so the layer's DiffID is too.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path
from typing import IO

from dockyard.errors import ConfigError

BUSYBOX = Path("/bin/busybox")
FIXED_MTIME = 1_700_000_000
_DIRS = {
    "bin": 0o755,
    "dev": 0o755,
    "etc": 0o755,
    "proc": 0o555,
    "root": 0o700,
    "sys": 0o555,
    "tmp": 0o1777,
}
_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = b"root:x:0:\nnogroup:x:65534:\n"


def _entry(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = FIXED_MTIME, 0, 0, "", ""
    return info


def _applets(busybox: Path) -> list[str]:
    if not busybox.is_file():
        raise ConfigError(f"{busybox} is missing: apt-get install busybox-static")
    listed = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    return sorted(set(listed.stdout.split()) - {"busybox"})


def write_busybox_rootfs(out: IO[bytes], busybox: Path = BUSYBOX) -> None:
    """Write the rootfs tar to ``out`` (an open binary file)."""
    applets = _applets(busybox)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in sorted(_DIRS.items()):
            tar.addfile(_entry(name, tarfile.DIRTYPE, mode))
        with busybox.open("rb") as binary:
            size = os.fstat(binary.fileno()).st_size
            tar.addfile(_entry("bin/busybox", tarfile.REGTYPE, 0o755, size), binary)
        for applet in applets:
            tar.addfile(_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
        for name, data in (("etc/group", _GROUP), ("etc/passwd", _PASSWD)):
            tar.addfile(_entry(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))


def busybox_rootfs_bytes(busybox: Path = BUSYBOX) -> bytes:
    buffer = io.BytesIO()
    write_busybox_rootfs(buffer, busybox)
    return buffer.getvalue()


def busybox_rootfs_tar(out: Path, busybox: Path = BUSYBOX) -> Path:
    """The rootfs tar at ``out``, built unless already there (written aside, then renamed)."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    with open(partial, "wb") as handle:
        write_busybox_rootfs(handle, busybox)
    os.replace(partial, out)
    return out
