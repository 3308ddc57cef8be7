"""dockyard's registry against CNCF distribution (docker-registry 2.8), same work, same run.

    .venv/bin/python bench/registry_bench.py [--reps 3] [--workers N] [--duration 10]

Measures, for each server on 127.0.0.1 with its own fresh root:
- skopeo push and pull of a 12-layer image of ~300 MB (uncompressed): a debootstrap
  minbase rootfs (bookworm), a 100 MB random layer and ten 1 MB random layers, all
  gzip layers in an OCI layout cached under bench/.cache/ (built on first run:
  needs debootstrap and a Debian mirror; without one, the host's /usr/lib stands in
  and the report says so);
- manifest GET and 1 MB blob GET with ``wrk -c32 -t2``.
Prints each figure and the ratio dockyard / distribution (for times, lower is better).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from isal import igzip

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
LAYOUT = CACHE / "layout"
TAG = "bench"
REPO = "bench/image"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rootfs() -> tuple[Path, str]:
    """A minbase rootfs directory (debootstrap, cached) and a description of it."""
    target = CACHE / "minbase"
    if not target.exists():
        log("building a debootstrap minbase rootfs (once) ...")
        staging = CACHE / "minbase.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "bookworm",
                str(staging),
                "http://deb.debian.org/debian",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log(f"debootstrap failed ({result.stderr.strip()[-200:]}); using the host's /usr/lib")
            return Path("/usr/lib"), "host /usr/lib (debootstrap unavailable)"
        staging.rename(target)
    return target, "debootstrap --variant=minbase bookworm"


def _gzip_tar_of(directory: Path, out: Path) -> str:
    """gzip(tar of directory) into out; returns the tar's diff_id."""
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(directory), "-cf", "-", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    diff = hashlib.sha256()
    with igzip.open(out, "wb", compresslevel=1) as gz:  # type: ignore[no-untyped-call]
        while chunk := tar.stdout.read(1 << 20):
            diff.update(chunk)
            gz.write(chunk)
    if tar.wait() != 0:
        raise SystemExit(f"tar of {directory} failed")
    return f"sha256:{diff.hexdigest()}"


def _random_layer(size: int, out: Path) -> str:
    """A layer holding one file of random bytes (incompressible, like media or binaries)."""
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        (Path(tmp) / "random.bin").write_bytes(os.urandom(size))
        return _gzip_tar_of(Path(tmp), out)


def _add_blob(blobs: Path, source: Path) -> dict[str, object]:
    digest = hashlib.sha256()
    with source.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    size = source.stat().st_size
    source.rename(blobs / digest.hexdigest())
    return {"mediaType": GZIP_LAYER, "digest": f"sha256:{digest.hexdigest()}", "size": size}


def _add_json(blobs: Path, document: Mapping[str, object], media_type: str) -> dict[str, object]:
    data = json.dumps(document).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def build_layout() -> str:
    """The cached OCI layout (built once); returns what the base layer is made of."""
    note = LAYOUT / "base.txt"
    if (LAYOUT / "index.json").exists():
        return note.read_text()
    base, description = rootfs()
    staging = CACHE / "layout.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    blobs = staging / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    log("building the 12-layer OCI layout (once) ...")
    layers, diff_ids = [], []
    sources = [("base", 0), ("random100m", 100 << 20)] + [
        (f"random1m-{i}", 1 << 20) for i in range(10)
    ]
    for name, size in sources:
        out = staging / f"{name}.tar.gz"
        diff_ids.append(_gzip_tar_of(base, out) if size == 0 else _random_layer(size, out))
        layers.append(_add_blob(blobs, out))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["bash"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": _add_json(blobs, config, "application/vnd.oci.image.config.v1+json"),
        "layers": layers,
    }
    desc = _add_json(blobs, manifest, str(manifest["mediaType"]))
    desc["annotations"] = {"org.opencontainers.image.ref.name": TAG}
    (staging / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [desc]}))
    (staging / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (staging / "base.txt").write_text(description)
    shutil.rmtree(LAYOUT, ignore_errors=True)
    staging.rename(LAYOUT)
    return description


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Registry:
    """One server under test, restartable on a fresh root."""

    def __init__(self, name: str, workdir: Path, workers: int) -> None:
        self.name, self.workdir, self.workers = name, workdir, workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def argv(self, root: Path) -> list[str]:
        if self.name == "dockyard":
            return [
                sys.executable,
                "-c",
                "from dockyard.cli.main import main; main()",
                "registry",
                "serve",
                "--addr",
                f"127.0.0.1:{self.port}",
                "--root",
                str(root),
                "--workers",
                str(self.workers),
            ]
        config = self.workdir / "distribution.yml"
        config.write_text(
            "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
            f"storage: {{filesystem: {{rootdirectory: {root}}}}}\n"
            f"http: {{addr: 127.0.0.1:{self.port}}}\n"
        )
        return ["/usr/bin/docker-registry", "serve", str(config)]

    def start(self) -> None:
        self.stop()
        root = self.workdir / "root"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        env = {**os.environ, "REGISTRY_LOG_ACCESSLOG_DISABLED": "true"}
        self.process = subprocess.Popen(
            self.argv(root),
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "server.log").open("wb"),
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise SystemExit(f"{self.name} did not start: {(self.workdir / 'server.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self.process = None

    @property
    def url(self) -> str:
        return f"docker://127.0.0.1:{self.port}/{REPO}:{TAG}"


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def skopeo_push(registry: Registry) -> float:
    registry.start()  # a fresh root, so every blob really travels
    return timed(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{LAYOUT}:{TAG}",
            registry.url,
        ]
    )


def skopeo_pull(registry: Registry) -> float:
    with tempfile.TemporaryDirectory(dir=registry.workdir) as out:
        return timed(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                registry.url,
                f"oci:{out}:{TAG}",
            ]
        )


def wrk(url: str, duration: int, accept: str | None = None) -> tuple[float, float]:
    """(requests/s, MB/s) of ``wrk -c32 -t2``."""
    argv = ["wrk", "-c32", "-t2", f"-d{duration}s", "--latency", url]
    if accept:
        argv[1:1] = ["-H", f"Accept: {accept}"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    rate = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    assert rate is not None
    scale = {"B": 1e-6, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[rate.group(2)]
    if "non-2xx" in out:
        raise SystemExit(f"wrk saw errors for {url}:\n{out}")
    return rps, float(rate.group(1)) * scale


def measure(registry: Registry, reps: int, duration: int) -> dict[str, float]:
    log(f"[{registry.name}] skopeo push x{reps} ...")
    push = statistics.median(skopeo_push(registry) for _ in range(reps))
    log(f"[{registry.name}] skopeo pull x{reps} ...")
    pull = statistics.median(skopeo_pull(registry) for _ in range(reps))
    manifest = json.loads((LAYOUT / "index.json").read_text())["manifests"][0]
    layers = json.loads((LAYOUT / "blobs/sha256" / manifest["digest"][7:]).read_bytes())["layers"]
    one_mb = next(layer["digest"] for layer in layers if layer["size"] < 2 << 20)
    base = f"http://127.0.0.1:{registry.port}/v2/{REPO}"
    log(f"[{registry.name}] wrk manifest GET and 1 MB blob GET ...")
    manifest_rps, _ = wrk(f"{base}/manifests/{TAG}", duration, manifest["mediaType"])
    blob_rps, blob_mbs = wrk(f"{base}/blobs/{one_mb}", duration)
    registry.stop()
    return {
        "push_s": push,
        "pull_s": pull,
        "manifest_rps": manifest_rps,
        "blob_rps": blob_rps,
        "blob_mbs": blob_mbs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="skopeo runs per figure (median)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="dockyard worker processes"
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    args = parser.parse_args()
    for tool in ("skopeo", "wrk", "/usr/bin/docker-registry"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    base = build_layout()
    size = sum(p.stat().st_size for p in (LAYOUT / "blobs/sha256").iterdir())
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        for name in ("distribution", "dockyard"):
            registry = Registry(name, Path(tmp) / name, args.workers)
            registry.workdir.mkdir()
            try:
                results[name] = measure(registry, args.reps, args.duration)
            finally:
                registry.stop()
    print(f"image: 12 layers, {size / 1e6:.0f} MB compressed; base layer: {base}")
    print(f"dockyard workers: {args.workers}; skopeo runs: {args.reps} (median)")
    print(f"{'figure':<26}{'dockyard':>12}{'distribution':>14}{'ratio':>8}")
    labels = {
        "push_s": "skopeo push (s)",
        "pull_s": "skopeo pull (s)",
        "manifest_rps": "manifest GET (req/s)",
        "blob_rps": "1 MB blob GET (req/s)",
        "blob_mbs": "1 MB blob GET (MB/s)",
    }
    for key, label in labels.items():
        ours, theirs = results["dockyard"][key], results["distribution"][key]
        print(f"{label:<26}{ours:>12.2f}{theirs:>14.2f}{ours / theirs:>8.2f}")


if __name__ == "__main__":
    main()
