"""``run -p`` / ``-P``: the container's ports reached from the host, across processes.

Every test talks to 127.0.0.1 (or ::1) only.  The services are busybox's httpd and
nc, and for UDP the host's own python run in the container through a read-only bind
of / (busybox has no UDP server).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import (
    assert_nothing_left,
    mounts_under,
    needs_containers,
    processes_of,
)

pytestmark = needs_containers

HTTPD = ["httpd", "-f", "-p", "80", "-h", "/etc"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def http_get(host: str, port: int, path: str, timeout: float = 10.0) -> str:
    """The body of a GET, retried while the service in the container is starting."""
    deadline = time.monotonic() + timeout
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}{path}"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer: {exc}") from exc
            time.sleep(0.05)


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return False
    return True


def http_or_echo_ready(port: int, timeout: float = 10.0) -> bool:
    """Whether an echo service behind ``port`` answers (the proxy accepts before it does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"?")
            try:
                if sock.recv(1) == b"?":
                    return True
            except ConnectionResetError:
                pass
        time.sleep(0.05)
    return False


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def web(dockyard: Dockyard, busybox: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    dockyard.run("run", "-d", "--name", "web", "-p", f"{port}:80", busybox, *HTTPD)
    yield "web", port
    dockyard.run("rm", "-f", "web", check=False)


def test_published_port_serves_the_container_and_follows_stop_and_start(
    dockyard: Dockyard, web: tuple[str, int]
) -> None:
    name, port = web
    hostname = dockyard.run("inspect", "-f", "{{.Config.Hostname}}", name).stdout.strip()
    assert http_get("127.0.0.1", port, "/hostname") == hostname + "\n"
    if has_ipv6_loopback():
        assert http_get("::1", port, "/hostname") == hostname + "\n"

    ps = dockyard.run("ps", "--format", "{{.Names}} {{.Ports}}").stdout
    assert f"{name} 0.0.0.0:{port}->80/tcp" in ps
    lines = dockyard.run("port", name).stdout.splitlines()
    assert lines[0] == f"80/tcp -> 0.0.0.0:{port}"
    assert dockyard.run("port", name, "80/tcp").stdout.splitlines()[0] == f"0.0.0.0:{port}"
    missing = dockyard.fails("port", name, "81")
    assert missing.stderr == f"Error: No public port '81/tcp' published for {name}\n"
    view = json.loads(dockyard.run("inspect", name).stdout)[0]
    requested = {"HostIp": "", "HostPort": str(port)}
    assert view["HostConfig"]["PortBindings"] == {"80/tcp": [requested]}
    assert view["Config"]["ExposedPorts"] == {"80/tcp": {}}
    bound = {"HostIp": "0.0.0.0", "HostPort": str(port)}
    assert bound in view["NetworkSettings"]["Ports"]["80/tcp"]

    dockyard.run("stop", "-t", "1", name)
    assert refused(port)
    assert dockyard.run("port", name).stdout == ""
    assert json.loads(dockyard.run("inspect", name).stdout)[0]["NetworkSettings"]["Ports"] == {}

    dockyard.run("start", name)
    assert http_get("127.0.0.1", port, "/hostname") == hostname + "\n"
    dockyard.run("rm", "-f", name)
    assert wait_until(lambda: bindable(port))
    assert_nothing_left(dockyard)


def test_ps_filters_by_published_and_exposed_port(dockyard: Dockyard, web: tuple[str, int]) -> None:
    """moby's filters: ``publish`` names a host port, ``expose`` a container port, of
    the ports ``ps`` shows (running containers only); either may match."""
    name, port = web
    dockyard.run("run", "-d", "--name", "plain", "--expose", "81/udp", "busybox", "sleep", "60")
    dockyard.run("create", "--name", "stopped", "-p", "80", "--expose", "81/udp", "busybox", "true")
    try:
        def names(*specs: str) -> list[str]:
            filters = [arg for spec in specs for arg in ("-f", spec)]
            listed = dockyard.run("ps", "-a", *filters, "--format", "{{.Names}}").stdout
            return sorted(listed.split())

        assert names(f"publish={port}") == [name]
        assert names(f"publish={port}/tcp") == [name]
        assert names(f"publish={port - 1}-{port + 1}") == [name]
        assert names(f"publish={port}/udp") == []
        assert names("expose=80") == [name]
        assert names("expose=81/udp") == ["plain"]
        assert names(f"publish={port}", "expose=81/udp") == sorted([name, "plain"])
        bad = dockyard.fails("ps", "-f", "publish=127.0.0.1:80")
        assert bad.stderr == "Error: filter for 'publish' should not contain ':': 127.0.0.1:80\n"
    finally:
        dockyard.run("rm", "-f", "plain", "stopped")


def test_a_taken_port_fails_the_run_and_starts_nothing(dockyard: Dockyard, busybox: str) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = dockyard.fails("run", "-d", "--name", "clash", "-p", f"{port}:80", busybox, *HTTPD)
        assert failed.returncode == 125
        message = f"Error: Bind for 0.0.0.0:{port} failed: port is already allocated\n"
        assert failed.stderr == message
        # As docker: the container exists, created and never started, and holds nothing.
        assert dockyard.run("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == (
            "clash created\n"
        )
        assert (mounts_under(dockyard.root), processes_of(dockyard.root)) == ([], [])
        restart = dockyard.fails("start", "clash")
        assert "port is already allocated" in restart.stderr
    dockyard.run("start", "clash")  # the port is free now
    assert http_get("127.0.0.1", port, "/hostname")
    dockyard.run("rm", "-f", "clash")
    assert_nothing_left(dockyard)


def test_bad_publish_values_are_refused_before_anything_is_made(
    dockyard: Dockyard, busybox: str
) -> None:
    before = dockyard.snapshot()
    for spec, message in (("abc", "invalid containerPort: abc"),
                          ("1.2.3:80:80", "invalid IP address: 1.2.3"),
                          ("80/icmp", "invalid proto: icmp")):  # fmt: skip
        failed = dockyard.fails("run", "-d", "-p", spec, busybox, *HTTPD)
        assert (failed.returncode, failed.stderr) == (125, f"Error: {message}\n")
    assert dockyard.snapshot() == before


def test_random_host_ports_and_publish_all(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "rnd", "-p", "127.0.0.1::80", "-P", "--expose", "81",
                 busybox, *HTTPD)  # fmt: skip
    try:
        lines = dockyard.run("port", "rnd").stdout.splitlines()
        published = dict(line.split(" -> ", 1) for line in lines if "127.0.0.1" in line)
        host_port = int(published["80/tcp"].rpartition(":")[2])
        assert host_port > 0
        assert http_get("127.0.0.1", host_port, "/hostname")
        assert any(line.startswith("81/tcp -> 0.0.0.0:") for line in lines)  # from -P
    finally:
        dockyard.run("rm", "-f", "rnd")


def test_tcp_relay_carries_megabytes_and_half_closes(dockyard: Dockyard, busybox: str) -> None:
    port = free_port()
    dockyard.run("run", "-d", "--name", "echo", "-p", f"127.0.0.1:{port}:7", busybox,
                 "nc", "-ll", "-p", "7", "-e", "cat")  # fmt: skip
    payload = os.urandom(4 << 20)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(payload[:1])
                first = sock.recv(1)
                if first:
                    break
            assert time.monotonic() < deadline, "the echo service never answered"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)  # cat sees EOF only if the half-close is relayed
            received = bytearray()
            while chunk := sock.recv(1 << 16):
                received += chunk
        assert bytes(received) == payload
    finally:
        dockyard.run("rm", "-f", "echo")


UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 53))\n"
    "while True:\n"
    "    data, peer = s.recvfrom(2048)\n"
    "    s.sendto(b'echo:' + data, peer)\n"
)


def test_udp_port_relays_datagrams_both_ways(dockyard: Dockyard, busybox: str) -> None:
    port = free_port()
    dockyard.run("run", "-d", "--name", "udp", "-v", "/:/host:ro", "-p", f"127.0.0.1:{port}:53/udp",
                 busybox, "chroot", "/host", "/usr/bin/python3", "-c", UDP_ECHO)  # fmt: skip
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            deadline = time.monotonic() + 10
            while True:  # datagrams sent before the server binds are dropped, as with docker
                sock.sendto(b"ping", ("127.0.0.1", port))
                try:
                    assert sock.recvfrom(2048)[0] == b"echo:ping"
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "no UDP answer"
    finally:
        dockyard.run("rm", "-f", "udp")


def test_a_killed_monitor_frees_its_ports(dockyard: Dockyard, web: tuple[str, int]) -> None:
    name, port = web
    assert http_get("127.0.0.1", port, "/hostname")
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", name).stdout.strip()
    directory = dockyard.root / "containers" / container_id
    monitor = json.loads((directory / "state.json").read_text())["monitor_pid"]
    os.kill(monitor, signal.SIGKILL)
    assert wait_until(lambda: bindable(port)), "the port proxy outlived its monitor"
    assert dockyard.run("ps", "-a", "--format", "{{.Names}} {{.State}} [{{.Ports}}]").stdout == (
        f"{name} exited []\n"
    )


def test_foreground_run_publishes_while_it_runs(dockyard: Dockyard, busybox: str) -> None:
    port = free_port()
    script = "httpd -p 80 -h /etc && while [ ! -e /tmp/done ]; do sleep 0.05; done; echo bye"
    argv = [DOCKYARD, "run", "--rm", "--name", "fg", "-p", f"{port}:80", busybox, "sh", "-c"]
    argv.append(script)
    pipe = subprocess.PIPE
    proc = subprocess.Popen(argv, env=dockyard.env(), stdout=pipe, stderr=pipe)
    try:
        assert http_get("127.0.0.1", port, "/hostname")
        dockyard.run("exec", "fg", "touch", "/tmp/done")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out) == (0, b"bye\n"), err
    assert wait_until(lambda: bindable(port))
    assert_nothing_left(dockyard)


PEER_ECHO = (
    "import socket\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 81))\n"
    "s.listen()\n"
    "while True:\n"
    "    c, peer = s.accept()\n"
    "    c.sendall(peer[0].encode())\n"
    "    c.close()\n"
)


def test_loopback_only_services_stay_private(dockyard: Dockyard, busybox: str) -> None:
    """Published ports reach what listens on the container's network, as behind docker's
    bridge: not a service bound to its 127.0.0.1, and clients are not localhost to it."""
    private, peer = free_port(), free_port()
    script = 'httpd -p 127.0.0.1:80 -h /etc && exec chroot /host /usr/bin/python3 -c "$CODE"'
    dockyard.run("run", "-d", "--name", "lo", "-v", "/:/host:ro", "-e", f"CODE={PEER_ECHO}",
                 "-p", f"127.0.0.1:{private}:80", "-p", f"127.0.0.1:{peer}:81",
                 busybox, "sh", "-c", script)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.create_connection(("127.0.0.1", peer), timeout=10) as sock:
                seen = sock.recv(100).decode()
            if seen or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert seen and not seen.startswith("127."), seen
        assert dockyard.run("exec", "lo", "wget", "-qO-", "http://127.0.0.1:80/hostname").stdout
        with socket.create_connection(("127.0.0.1", private), timeout=10) as sock:
            sock.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
            try:
                answer = sock.recv(100)
            except ConnectionResetError:
                answer = b""
        assert answer == b""  # the proxy found nothing listening and closed
    finally:
        dockyard.run("rm", "-f", "lo")


def test_explicit_network_none_publishes_nothing(dockyard: Dockyard, busybox: str) -> None:
    port = free_port()
    dockyard.run("run", "-d", "--name", "none", "--network", "none", "-p", f"{port}:80",
                 busybox, *HTTPD)  # fmt: skip
    try:
        assert refused(port)
        assert dockyard.run("port", "none").stdout == ""
    finally:
        dockyard.run("rm", "-f", "none")


MANY_ECHO = (
    "import selectors, socket\n"
    "sel = selectors.DefaultSelector()\n"
    "s = socket.socket()\n"
    "s.bind(('0.0.0.0', 7))\n"
    "s.listen(512)\n"
    "sel.register(s, selectors.EVENT_READ)\n"
    "while True:\n"
    "    for key, _ in sel.select():\n"
    "        if key.fileobj is s:\n"
    "            sel.register(s.accept()[0], selectors.EVENT_READ)\n"
    "            continue\n"
    "        data = key.fileobj.recv(4096)\n"
    "        if data:\n"
    "            key.fileobj.sendall(data)\n"
    "        else:\n"
    "            sel.unregister(key.fileobj)\n"
    "            key.fileobj.close()\n"
)


def test_many_connections_beyond_the_callers_descriptor_limit(
    dockyard: Dockyard, busybox: str
) -> None:
    """The proxy needs two descriptors a connection; a low soft limit of the caller's
    (inherited through fork) must not cap it."""
    import resource

    port = free_port()

    def low_limit() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))

    argv = [DOCKYARD, "run", "-d", "--name", "many", "-v", "/:/host:ro",
            "-p", f"127.0.0.1:{port}:7", busybox, "chroot", "/host", "/usr/bin/python3", "-c",
            MANY_ECHO]  # fmt: skip
    subprocess.run(argv, env=dockyard.env(), check=True, capture_output=True, preexec_fn=low_limit)
    connections: list[socket.socket] = []
    try:
        assert http_or_echo_ready(port)
        for _ in range(300):  # the proxy alone would stop near 60 at the caller's 128
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            connections.append(sock)
        for sock in connections:
            sock.sendall(b"x")
        for sock in connections:
            assert sock.recv(1) == b"x"
    finally:
        for sock in connections:
            sock.close()
        dockyard.run("rm", "-f", "many")


def test_host_network_discards_published_ports(dockyard: Dockyard, busybox: str) -> None:
    ran = dockyard.run("run", "--rm", "--network", "host", "-p", "5000:5000", busybox, "echo", "up")
    assert ran.stdout == "up\n"
    assert "Published ports are discarded when using host network mode" in ran.stderr
