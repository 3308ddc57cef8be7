"""The port proxy: dockyard's docker-proxy, and the owner of the container's network.

A container that publishes ports gets its network namespace from a small process
that whoever supervises the container (its monitor, or the CLI in the foreground)
forks just before starting it.  The proxy

1. binds the host sockets while still in the host's namespace, so a port that is
   taken fails the start with one clear line and nothing started;
2. unshares a new network namespace and brings its loopback up (what runc does for
   a namespace it creates itself);
3. tells its parent the ports it bound; the container joins that namespace
   (``/proc/<pid>/ns/net`` in its config.json), as podman's containers join the
   namespace podman made;
4. relays every TCP connection and UDP flow to the container port on the
   namespace's loopback, where the container's service listens.

It dies with its parent (PR_SET_PDEATHSIG), so a killed monitor frees the ports, and
its parent stops it when the container exits.  The relay itself is ``relay.py``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import signal
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import NetworkSetupFailed, PortUnavailable
from dockyard.network.ports import PortMap, PortRequest, join_host_port, port_key
from dockyard.runtime import _libc

NOBODY = 65534  # the kernel's overflow uid and gid
_RANDOM_PORT_ATTEMPTS = 20
_BACKLOG = 128
# The container's address for the relay: an alias of its loopback, so a service bound
# to 127.0.0.1 only stays private (as behind docker's bridge) and a relayed client is
# not "localhost" to it. rootless podman's containers have the same address (slirp4netns).
SERVICE_ADDRESS = "10.0.2.100"
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_SIOCSIFADDR, _SIOCSIFNETMASK, _HOST_MASK = 0x8916, 0x891C, "255.255.255.255"


@dataclass
class _Listener:
    sock: socket.socket
    request: PortRequest
    host_ip: str
    host_port: int


@dataclass
class PortProxy:
    """A running proxy: its pid (its namespace is the container's) and what it bound."""

    pid: int
    ports: PortMap = field(default_factory=dict)

    @property
    def netns_path(self) -> str:
        return f"/proc/{self.pid}/ns/net"

    def stop(self) -> None:
        # SIGKILL: the proxy holds nothing to flush, and no mask it inherited can block it.
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


# ------------------------------------------------------------------ the parent's side


def start_port_proxy(requests: list[PortRequest]) -> PortProxy:
    """Fork the proxy; return once it has bound every port (raises PortUnavailable if not)."""
    ours, theirs = socket.socketpair()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # never returns into the caller's code
        status = 0
        try:
            ours.close()
            _proxy_main(requests, theirs, parent)
        except BaseException as exc:  # noqa: BLE001 — a proxy has nobody to raise to
            status = 1
            with contextlib.suppress(BaseException):
                failure = f"setting up the container's network failed: {exc}"
                _send(theirs, {"ok": False, "message": failure})
        finally:
            os._exit(status)
    theirs.close()
    with ours:
        message = _receive(ours)
    if not message.get("ok"):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        text = str(message.get("message") or "the port proxy failed to start")
        raise PortUnavailable(text) if message.get("taken") else NetworkSetupFailed(text)
    ports = message.get("ports")
    return PortProxy(pid, ports if isinstance(ports, dict) else {})


def _send(channel: socket.socket, message: dict[str, object]) -> None:
    channel.sendall(json.dumps(message).encode() + b"\n")


def _receive(channel: socket.socket) -> dict[str, object]:
    data = b""
    while not data.endswith(b"\n"):
        chunk = channel.recv(65536)
        if not chunk:
            return {"ok": False, "message": "the port proxy exited while starting"}
        data += chunk
    message = json.loads(data)
    return message if isinstance(message, dict) else {}


# ------------------------------------------------------------------ the proxy's side


def _proxy_main(requests: list[PortRequest], channel: socket.socket, parent: int) -> None:
    os.setpgid(0, 0)  # out of the terminal's process group: ^C is for the container
    signal.pthread_sigmask(signal.SIG_SETMASK, set())  # a mask our caller inherited
    _libc.die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        return
    # Two descriptors a connection: the caller's soft limit (often 1024) is too few.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        listeners = [listener for request in requests for listener in _bind(request)]
    except PortUnavailable as exc:
        _send(channel, {"ok": False, "taken": True, "message": str(exc)})
        return
    _libc.unshare_network()
    _configure_namespace()
    from dockyard.network.relay import serve  # before giving up root: it reads src/

    _drop_privileges(parent)
    _send(channel, {"ok": True, "ports": _bound_ports(listeners)})
    _detach([channel.fileno(), *(listener.sock.fileno() for listener in listeners)])
    channel.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    serve([(listener.sock, listener.request) for listener in listeners])


def _drop_privileges(parent: int) -> None:
    """Relaying needs no privilege: become nobody, so a flaw in it cannot be root's.
    (The kernel clears the parent-death signal on a change of user: set it again.)"""
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    _libc.die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:
        raise SystemExit(0)


def _detach(keep: list[int]) -> None:
    """stdio on /dev/null and no other inherited descriptor (a log, the attach socket)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def _addresses(request: PortRequest) -> list[tuple[socket.AddressFamily, str]]:
    if request.host_ip:
        family = socket.AF_INET6 if ":" in request.host_ip else socket.AF_INET
        return [(family, request.host_ip)]
    return [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")]


def _candidates(request: PortRequest) -> Iterator[int]:
    if request.host_port == 0:
        yield from [0] * _RANDOM_PORT_ATTEMPTS
    else:
        yield from range(request.host_port, request.host_port_end + 1)


def _bind(request: PortRequest) -> list[_Listener]:
    """Sockets for one request on the same host port; an unset address means IPv4 and
    IPv6 (the latter skipped where this host has no IPv6)."""
    failure: tuple[str, int, OSError] | None = None
    for port in _candidates(request):
        bound: list[_Listener] = []
        try:
            for family, ip in _addresses(request):
                chosen = bound[0].host_port if bound else port
                sock = _bind_one(family, ip, chosen, request)
                if sock is not None:
                    bound.append(_Listener(sock, request, ip, sock.getsockname()[1]))
        except OSError as exc:
            for listener in bound:
                listener.sock.close()
            failure = (ip, chosen, exc)
            continue
        return bound
    assert failure is not None
    ip, port, error = failure
    where = join_host_port(ip, str(port))
    reason = "port is already allocated" if error.errno == errno.EADDRINUSE else error.strerror
    raise PortUnavailable(f"Bind for {where} failed: {reason}")


def _bind_one(family: socket.AddressFamily, ip: str, port: int, request: PortRequest) -> (
        socket.socket | None):  # fmt: skip
    """One bound (and, for TCP, listening) socket; None for IPv6 on a host without it."""
    kind = socket.SOCK_STREAM if request.proto == "tcp" else socket.SOCK_DGRAM
    optional = family == socket.AF_INET6 and not request.host_ip
    try:
        sock = socket.socket(family, kind)
    except OSError as exc:
        if optional and exc.errno == errno.EAFNOSUPPORT:
            return None
        raise
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            if optional and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                sock.close()
                return None
            raise
        if kind == socket.SOCK_STREAM:
            sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _bound_ports(listeners: list[_Listener]) -> PortMap:
    ports: PortMap = {}
    for listener in listeners:
        key = port_key(listener.request.proto, listener.request.container_port)
        ports.setdefault(key, []).append(
            {"HostIp": listener.host_ip, "HostPort": str(listener.host_port)}
        )
    return ports


def _configure_namespace() -> None:
    """Loopback up, plus the service address the relay connects to (see relay.py)."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))
        # An alias of lo (what ``ip addr add ADDR/32 dev lo label lo:0`` makes).
        for command, address in ((_SIOCSIFADDR, SERVICE_ADDRESS), (_SIOCSIFNETMASK, _HOST_MASK)):
            sockaddr = struct.pack("=H2s4s8x", socket.AF_INET, b"", socket.inet_aton(address))
            fcntl.ioctl(sock, command, struct.pack("16s16s", b"lo:0", sockaddr))


# ------------------------------------------------------------------ for the supervisors


def publish_ports(bundle: Path, requests: list[PortRequest]) -> PortProxy | None:
    """Start the proxy and point the bundle's network namespace at it; None if there is
    nothing to publish (the runtime then makes the namespace itself)."""
    if not requests:
        return None
    from dockyard.runtime.spec import join_network_namespace

    proxy = start_port_proxy(requests)
    try:
        join_network_namespace(bundle, proxy.netns_path)
    except BaseException:
        proxy.stop()
        raise
    return proxy
