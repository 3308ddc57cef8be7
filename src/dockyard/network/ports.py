"""Published ports: docker's ``-p`` syntax, its PortBindings shape and its displays.

``-p [IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO]`` as docker's
go-connections ``nat.ParsePortSpec`` reads it; what ``create`` records is docker's
``HostConfig.PortBindings`` (``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``),
and what a running container holds is ``NetworkSettings.Ports`` (the same shape,
with the addresses and ports actually bound).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from dockyard.errors import ConfigError

PROTOCOLS = ("tcp", "udp")  # docker also has sctp; the proxy relays TCP and UDP
MAX_PORT = 65535

# {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
PortMap = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class PortRequest:
    """One container port to publish: where on the host (port 0: any free one)."""

    proto: str
    container_port: int
    host_ip: str  # "" : every address (IPv4 and IPv6)
    host_port: int  # 0: a free port chosen at start
    host_port_end: int  # == host_port unless a range to pick a free port from

    def to_json(self) -> dict[str, Any]:
        return {"proto": self.proto, "container_port": self.container_port,
                "host_ip": self.host_ip, "host_port": self.host_port,
                "host_port_end": self.host_port_end}  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PortRequest:
        return cls(str(raw["proto"]), int(raw["container_port"]), str(raw["host_ip"]),
                   int(raw["host_port"]), int(raw["host_port_end"]))  # fmt: skip


def _port_range(text: str, what: str) -> tuple[int, int]:
    """``80`` or ``80-90``, as go-connections' ParsePortRange."""
    start_text, dash, end_text = text.partition("-")
    # Go's ParseUint takes ASCII digits only (Python's int() also takes "+8", "8_0", " 8").
    if not (_digits(start_text) and (not dash or _digits(end_text))):
        raise ConfigError(f"invalid {what}: {text}")
    start = int(start_text)
    end = int(end_text) if dash else start
    if not (start <= MAX_PORT and end <= MAX_PORT) or end < start:
        raise ConfigError(f"invalid {what}: {text}")
    return start, end


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _split_proto(text: str) -> tuple[str, str]:
    port, _, proto = text.partition("/")
    return port, (proto or "tcp").lower()


def _split_parts(spec: str) -> tuple[str, str, str]:
    """(ip, host port, container port): the last two ``:`` fields are the ports."""
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _host_ip(text: str) -> str:
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ConfigError(f"invalid IP address: {text}") from None
    return text


def _short_form(spec: str) -> str:
    """docker's long syntax (``published=8080,target=80,protocol=udp``) as the short
    one, as docker/cli's convertToStandardNotation makes it: other keys (``mode``,
    ``host_ip``, ...) are ignored, a missing target fails as an empty port."""
    params = {"protocol": "tcp"}
    for param in spec.split(","):
        key, eq, value = param.partition("=")
        if not eq:
            raise ConfigError(
                f"invalid publish opts format (should be name=value but got '{param}')"
            )
        params[key] = value.partition("=")[0]  # Go's Split keeps the text before a second "="
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def parse_publish(spec: str) -> list[PortRequest]:
    """One ``-p`` value as the container ports it publishes (short or long syntax)."""
    spec = spec.strip()
    if "=" in spec:
        spec = _short_form(spec)
    raw_ip, host_text, container_text = _split_parts(spec)
    ip = _host_ip(raw_ip)
    container_text, proto = _split_proto(container_text)
    if not container_text:
        raise ConfigError(f"no port specified: {spec}<empty>")
    if proto not in PROTOCOLS:
        raise ConfigError(
            f"invalid proto: {proto}"
            + (" (dockyard publishes tcp and udp ports)" if proto == "sctp" else "")
        )
    start, end = _port_range(container_text, "containerPort")
    if start == 0:
        raise ConfigError(f"invalid containerPort: {container_text}")
    host_start, host_end = _port_range(host_text, "hostPort") if host_text else (0, 0)
    count = end - start
    if host_text and host_end - host_start != count and count != 0:
        raise ConfigError(f"invalid ranges specified for container and host Ports: "
                          f"{container_text} and {host_text}")  # fmt: skip
    if count == 0:  # one container port; a host range is where to find a free port
        return [PortRequest(proto, start, ip, host_start, host_end)]
    return [PortRequest(proto, start + i, ip, host_start + i if host_text else 0,
                        host_start + i if host_text else 0) for i in range(count + 1)]  # fmt: skip


def port_key(proto: str, port: int) -> str:
    return f"{port}/{proto}"


@dataclass(frozen=True)
class PortFilter:
    """A ``ps -f publish=`` / ``expose=`` value: a port or a range, and a protocol."""

    start: int
    end: int
    proto: str

    @classmethod
    def parse(cls, key: str, value: str) -> PortFilter:
        """As moby's portOp: ``80``, ``80/udp``, ``8000-8080/tcp`` (the protocol as given)."""
        if ":" in value:
            raise ConfigError(f"filter for '{key}' should not contain ':': {value}")
        port_text, _, proto = value.partition("/")
        try:
            start, end = _port_range(port_text, "port")
        except ConfigError:
            raise ConfigError(f"error while looking up for {key} {port_text}: invalid port "
                              f"'{port_text}'") from None  # fmt: skip
        return cls(start, end, proto or "tcp")

    def matches(self, port: int, proto: str) -> bool:
        return self.start <= port <= self.end and proto == self.proto


def _host_port_text(request: PortRequest) -> str:
    if request.host_port == 0:
        return ""
    if request.host_port_end != request.host_port:
        return f"{request.host_port}-{request.host_port_end}"
    return str(request.host_port)


def port_bindings(requests: list[PortRequest]) -> PortMap:
    """docker's HostConfig.PortBindings for the requests."""
    bindings: PortMap = {}
    for request in requests:
        bindings.setdefault(port_key(request.proto, request.container_port), []).append(
            {"HostIp": request.host_ip, "HostPort": _host_port_text(request)}
        )
    return bindings


def _parse_key(key: str) -> tuple[str, int]:
    port, proto = _split_proto(key)
    start, _ = _port_range(port, "port")
    return proto, start


def requests_from_host_config(host_config: dict[str, Any], exposed: dict[str, Any] | None) -> (
        list[PortRequest]):  # fmt: skip
    """What a container publishes at start: its PortBindings and, with -P
    (PublishAllPorts), every exposed port not bound already, on a free host port."""
    requests: list[PortRequest] = []
    bindings: PortMap = host_config.get("PortBindings") or {}
    for key, entries in bindings.items():
        proto, port = _parse_key(key)
        for entry in entries or [{}]:
            host_text = entry.get("HostPort") or ""
            start, end = _port_range(host_text, "hostPort") if host_text else (0, 0)
            requests.append(PortRequest(proto, port, entry.get("HostIp") or "", start, end))
    if host_config.get("PublishAllPorts"):
        for key in sorted(exposed or {}):
            if key not in bindings:
                proto, port = _parse_key(key)
                requests.append(PortRequest(proto, port, "", 0, 0))
    return requests


def exposed_ports(specs: list[str], requests: list[PortRequest]) -> dict[str, dict[str, Any]]:
    """``--expose`` values and the published container ports, as Config.ExposedPorts."""
    exposed: dict[str, dict[str, Any]] = {}
    for spec in specs:
        port_text, proto = _split_proto(spec)
        if proto not in (*PROTOCOLS, "sctp"):  # exposing is only metadata
            raise ConfigError(f"invalid proto: {proto}")
        start, end = _port_range(port_text, "range for ports exposed")
        for port in range(start, end + 1):
            exposed[port_key(proto, port)] = {}
    for request in requests:
        exposed[port_key(request.proto, request.container_port)] = {}
    return exposed


def join_host_port(host_ip: str, host_port: str) -> str:
    """Go's net.JoinHostPort: an IPv6 address in brackets."""
    return f"[{host_ip}]:{host_port}" if ":" in host_ip else f"{host_ip}:{host_port}"


def _form_group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if ip:
        group = f"{join_host_port(ip, group)}->{group}"
    return f"{group}/{proto}"


def _summary(published: PortMap, exposed: dict[str, Any] | None) -> (
        list[tuple[int, str, int, str]]):  # fmt: skip
    """docker's port summary of a container: (private, host ip, public, proto), public 0
    for a port that is exposed only."""
    ports: list[tuple[int, str, int, str]] = []
    for key in set(published) | set(exposed or {}):
        proto, private = _parse_key(key)
        entries = published.get(key) or []
        if not entries:
            ports.append((private, "", 0, proto))
        for entry in entries:
            ports.append((private, entry["HostIp"], int(entry["HostPort"]), proto))
    return ports


def port_summary(published: PortMap, exposed: dict[str, Any] | None) -> (
        list[tuple[int, int, str]]):  # fmt: skip
    """(private, public, proto) of each port ``ps`` shows; what its filters look at."""
    return [(private, public, proto) for private, _, public, proto in
            _summary(published, exposed)]  # fmt: skip


def display_ports(published: PortMap, exposed: dict[str, Any] | None) -> str:
    """``ps``'s PORTS column, as docker/cli's DisplayablePorts writes it: runs of
    consecutive ports grouped into ranges (``0.0.0.0:8000-8002->8000-8002/tcp``),
    exposed-only ports as ``443/tcp``, ports published elsewhere than their own
    number last (``0.0.0.0:8080->80/tcp``)."""
    ports = _summary(published, exposed)
    groups: dict[str, list[int]] = {}
    result: list[str] = []
    host_mappings: list[str] = []
    for private, ip, public, proto in sorted(ports):
        key = proto
        if ip:
            if public != private:
                host_mappings.append(f"{join_host_port(ip, str(public))}->{private}/{proto}")
                continue
            key = f"{ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(_form_group(key, *group))
            groups[key] = [private, private]
    result += [_form_group(key, first, last) for key, (first, last) in groups.items()]
    return ", ".join(result + host_mappings)


def _sort_key(key: str) -> tuple[int, str]:
    proto, port = _parse_key(key)
    return port, proto


def port_lines(published: PortMap, wanted: str | None) -> list[str]:
    """``docker port CONTAINER [PRIVATE_PORT[/PROTO]]``'s lines; [] if none match."""
    if wanted is not None:
        port_text, proto = _split_proto(wanted)
        start, _ = _port_range(port_text, "port")
        key = port_key(proto, start)
        return [join_host_port(e["HostIp"], e["HostPort"]) for e in published.get(key) or []]
    return [f"{key} -> {join_host_port(e['HostIp'], e['HostPort'])}"
            for key in sorted(published, key=_sort_key) for e in published[key]]  # fmt: skip
