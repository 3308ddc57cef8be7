"""Published ports, dockyard vs docker in one run: bulk bytes and new connections.

    python bench/port_bench.py [--mib N] [--requests N] [--reps N]

Root only.  On a fresh scratch filesystem (bench/scratch_fs.py) with a private dockerd
run as installed (bridge network, iptables, docker-proxy for connections from the host's
own loopback), both engines run the same busybox image with ``-p 127.0.0.1:PORT:...``:

- stream: the bench sends ``--mib`` MiB (default 512) to ``nc -l > /dev/null`` in the
  container and half-closes; timed until the server closes its end;
- requests: ``--requests`` (default 300) HTTP/1.0 GETs of /hostname from busybox
  httpd, one new connection each, one after another.

Each figure is the median of ``--reps`` (default 3); the engines take turns.  Prints
seconds and dockyard/docker ratios.  No issue sets a target: this records where
dockyard's userland relay (an asyncio proxy) stands against docker's (Go).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import fixtures, scratch_fs

IMAGE = "dockyard-bench/busybox:ports"
SINK = "while true; do nc -l -p 7 > /dev/null; done"
HTTPD = ["httpd", "-f", "-p", "80", "-h", "/etc"]
CHUNK = b"\0" * (1 << 20)


def _free_ports(count: int) -> list[int]:
    """Distinct free ports: all bound at once, so the kernel cannot hand one out twice."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


class Engine:
    """One engine's containers: a sink and a web server, each on a published port."""

    def __init__(self, name: str, argv: list[str], ports: list[int]) -> None:
        self.name = name
        self.argv = argv
        self.sink_port, self.web_port = ports

    def start(self, rootfs: Path) -> None:
        _run([*self.argv, "import", str(rootfs), IMAGE])
        _run([*self.argv, "run", "-d", "--name", "bench-sink", "-p",
              f"127.0.0.1:{self.sink_port}:7", IMAGE, "sh", "-c", SINK])  # fmt: skip
        _run([*self.argv, "run", "-d", "--name", "bench-web", "-p",
              f"127.0.0.1:{self.web_port}:80", IMAGE, *HTTPD])  # fmt: skip
        _wait_for_http(self.web_port)

    def stop(self) -> None:
        subprocess.run([*self.argv, "rm", "-f", "bench-sink", "bench-web"],
                       capture_output=True, check=False, timeout=120)  # fmt: skip
        subprocess.run([*self.argv, "rmi", IMAGE], capture_output=True, check=False,
                       timeout=120)  # fmt: skip

    def stream(self, mib: int) -> float:
        """Seconds to push ``mib`` MiB through the published port to the sink."""
        deadline = time.monotonic() + 10
        while True:  # between two connections the sink's nc is restarting
            try:
                sock = socket.create_connection(("127.0.0.1", self.sink_port), timeout=60)
                sock.sendall(CHUNK[:1])
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with sock:
            start = time.perf_counter()
            for _ in range(mib):
                sock.sendall(CHUNK)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1)  # returns when the sink has read everything and closed
            elapsed = time.perf_counter() - start
        time.sleep(0.2)  # let the loop start the next nc
        return elapsed

    def requests(self, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            _get(self.web_port)
        return time.perf_counter() - start


def _get(port: int) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/hostname")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET /hostname on port {port}: {response.status}")
        return body
    finally:
        conn.close()


def _wait_for_http(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            _get(port)
            return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def measure(engines: list[Engine], mib: int, requests: int, reps: int) -> (
        dict[str, dict[str, float]]):  # fmt: skip
    times: dict[str, dict[str, list[float]]] = {e.name: {"stream": [], "requests": []}
                                                for e in engines}  # fmt: skip
    for engine in engines:  # warm-up: caches, the proxies' first connections
        engine.stream(16)
        engine.requests(10)
    for _ in range(reps):
        for engine in engines:
            times[engine.name]["stream"].append(engine.stream(mib))
            times[engine.name]["requests"].append(engine.requests(requests))
    return {name: {k: statistics.median(v) for k, v in kinds.items()}
            for name, kinds in times.items()}  # fmt: skip


def report(results: dict[str, dict[str, float]], mib: int, requests: int, reps: int,
           where: str) -> None:  # fmt: skip
    print(f"published ports: dockyard vs docker (median of {reps})")
    print(f"filesystem: {where}")
    print(f"{'operation':<34}{'dockyard':>10}{'docker':>10}{'ratio':>8}")
    rows = ((f"stream {mib} MiB to the container", "stream"),
            (f"{requests} requests, new connections", "requests"))  # fmt: skip
    for label, kind in rows:
        ours, theirs = results["dockyard"][kind], results["docker"][kind]
        print(f"{label:<34}{ours:>9.3f}s{theirs:>9.3f}s{ours / theirs:>8.2f}")
    for name in ("dockyard", "docker"):
        rate = mib / results[name]["stream"]
        per = results[name]["requests"] / requests * 1000
        print(f"  {name}: {rate:.0f} MiB/s, {per:.2f} ms a request")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=512, help="MiB streamed (default 512)")
    parser.add_argument("--requests", type=int, default=300, help="GETs (default 300)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (containers, a private dockerd with its bridge)", file=sys.stderr)
        return 2
    try:
        rootfs = fixtures.busybox_rootfs_tar()  # before the scratch dockerd takes over
        with ExitStack() as stack:
            scratch = stack.enter_context(scratch_fs.scratch_filesystem(docker_network="bridge"))
            root = Path(tempfile.mkdtemp(prefix="dockyard-port-bench-", dir=scratch.path))
            local = fixtures.REPO_ROOT / ".venv" / "bin" / "dockyard"
            binary = os.environ.get("DOCKYARD_BIN") or str(local)
            ports = _free_ports(4)
            engines = [Engine("dockyard", [binary, "--root", str(root)], ports[:2]),
                       Engine("docker", fixtures.docker_argv(), ports[2:])]  # fmt: skip
            for engine in engines:
                stack.callback(engine.stop)  # before the scratch dockerd stops
                engine.start(rootfs)
            results = measure(engines, args.mib, args.requests, args.reps)
            report(results, args.mib, args.requests, args.reps, scratch.description)
    except fixtures.FixtureError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
