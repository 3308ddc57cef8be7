"""The container's /etc/hosts, /etc/hostname and /etc/resolv.conf, as docker writes them.

The files live in the container directory and are bind-mounted over the image's
own, so the image layers are never written and ``commit`` does not capture them.
"""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.runtime.mounts import Mount

HOST_RESOLV_CONF = Path("/etc/resolv.conf")
# systemd-resolved's stub (127.0.0.53) is useless in a container; its upstream list is here.
RESOLVED_UPSTREAM = Path("/run/systemd/resolve/resolv.conf")
DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")  # docker's fallback when none remain

DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def _is_local_nameserver(line: str) -> bool:
    parts = line.split()
    if len(parts) < 2 or parts[0] != "nameserver":
        return False
    address = parts[1]
    return address.startswith("127.") or address == "::1"


def container_resolv_conf(host_text: str) -> str:
    """Docker's filter: drop loopback nameservers; fall back to public DNS if none remain."""
    lines = [line for line in host_text.splitlines() if not _is_local_nameserver(line)]
    if not any(line.split()[:1] == ["nameserver"] for line in lines):
        lines += [f"nameserver {ns}" for ns in DEFAULT_NAMESERVERS]
    return "\n".join(lines) + "\n"


def _host_resolv_conf(network_mode: str) -> str:
    try:
        text = HOST_RESOLV_CONF.read_text()
    except OSError:
        text = ""
    if network_mode == "host":
        return text
    if "nameserver 127.0.0.53" in text and RESOLVED_UPSTREAM.exists():
        text = RESOLVED_UPSTREAM.read_text()
    return container_resolv_conf(text)


def _hosts(network_mode: str) -> str:
    if network_mode == "host":
        try:
            return Path("/etc/hosts").read_text()
        except OSError:
            return DEFAULT_HOSTS
    return DEFAULT_HOSTS


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_etc_files(container_dir: Path, hostname: str, network_mode: str) -> list[Mount]:
    """Write hostname, hosts and resolv.conf into ``container_dir``; return their mounts.

    ``network_mode`` is ``none`` or ``host`` (host copies the host's hosts and
    resolv.conf as they are, as docker does).
    """
    files = {
        "hostname": hostname + "\n",
        "hosts": _hosts(network_mode),
        "resolv.conf": _host_resolv_conf(network_mode),
    }
    mounts = []
    for name, text in files.items():
        path = container_dir / name
        _write(path, text)
        mounts.append(Mount(destination=f"/etc/{name}", source=str(path)))
    return mounts
