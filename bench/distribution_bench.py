"""pull and push: dockyard vs docker (the engine) vs skopeo (OCI layout), same run.

    .venv/bin/python bench/distribution_bench.py [--reps 3] [--fs scratch|host]

The image is bench/fixtures.py's 12-layer ~300 MB one (debootstrap minbase + 100 MiB
random + ten 1 MiB layers). Every push goes to a fresh CNCF distribution
(``docker-registry``) on 127.0.0.1; every pull starts from an empty local store
(a new dockyard root, the image and its layers removed from docker, a new OCI
layout directory for skopeo). Prints each time and dockyard's ratio to docker's and
skopeo's (targets: pull <= 0.5x docker, push <= 0.5x docker). Needs root and dockerd
(``scripts/dockerd.sh start``). With --fs scratch (the default) every store written
(dockyard roots, docker's data root, skopeo's layouts, the registries' storage) is on a
fresh journaled ext4 made for the run, with a private dockerd on it
(bench/scratch_fs.py); --fs host keeps them on the host filesystem and current dockerd.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import fixtures, scratch_fs  # noqa: E402
from tests.registry.interop_fixtures import Server, free_port  # noqa: E402

DOCKYARD = [str(Path(sys.executable).parent / "dockyard")]
SKOPEO = ["skopeo", "--insecure-policy"]
TOOLS = ("docker", "dockyard", "skopeo")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def timed(argv: list[str]) -> float:
    # Untimed: write back the previous run's dirty pages (a docker load, an rmtree) so
    # no tool pays for another's. Twice: where the scratch loop device is buffered (the
    # kernel refused direct I/O) the first sync only moves them into its image file.
    subprocess.run(["sync"], check=True)
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    run(argv)
    return time.perf_counter() - start


def registry(work: Path) -> Server:
    port = free_port()
    config = work / f"registry-{port}.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / f'registry-{port}'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    return Server(["/usr/bin/docker-registry", "serve", str(config)], port, work / "reg.log")


def docker(*args: str) -> list[str]:
    return [*fixtures.docker_argv(), *args]


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.archive = fixtures.layered_docker_archive()
        self.layout = fixtures.layered_oci_layout()
        self.docker_image = self._docker_load()

    def _docker_load(self) -> str:
        out = subprocess.run(docker("load", "-i", str(self.archive)), capture_output=True,
                             text=True, check=True).stdout
        return out.strip().splitlines()[-1].split(": ", 1)[1]

    def _root(self, name: str) -> Path:
        root = self.work / f"{name}-{time.perf_counter_ns()}"
        return root

    # -- push: local image -> empty registry ------------------------------------------

    def push_dockyard(self, target: str) -> float:
        root = self._root("dockyard-push")
        run([*DOCKYARD, "--root", str(root), "load", "-i", str(self.archive)])
        run([*DOCKYARD, "--root", str(root), "tag", fixtures.LAYERED_TAG, target])
        seconds = timed([*DOCKYARD, "--root", str(root), "push", target])
        shutil.rmtree(root)
        return seconds

    def push_docker(self, target: str) -> float:
        run(docker("tag", self.docker_image, target))
        seconds = timed(docker("push", target))
        run(docker("rmi", target))
        return seconds

    def push_skopeo(self, target: str) -> float:
        source = f"oci:{self.layout}:{fixtures.OCI_LAYOUT_TAG}"
        return timed([*SKOPEO, "copy", "--dest-tls-verify=false", source, f"docker://{target}"])

    # -- pull: registry -> empty local store ------------------------------------------

    def pull_dockyard(self, source: str) -> float:
        root = self._root("dockyard-pull")
        seconds = timed([*DOCKYARD, "--root", str(root), "pull", source])
        shutil.rmtree(root)
        return seconds

    def pull_docker(self, source: str) -> float:
        # Nothing of the image may stay in docker's store, or it would skip layers.
        run(docker("rmi", "-f", self.docker_image))
        try:
            seconds = timed(docker("pull", source))
            run(docker("rmi", source))
        finally:
            self.docker_image = self._docker_load()
        return seconds

    def pull_skopeo(self, source: str) -> float:
        target = self._root("skopeo-pull")
        seconds = timed([*SKOPEO, "copy", "--src-tls-verify=false", f"docker://{source}",
                         f"oci:{target}:layered"])
        shutil.rmtree(target)
        return seconds


Times = dict[str, float]


@contextmanager
def workspace(fs: str) -> Iterator[tuple[Path, str]]:
    """The work directory and the report's filesystem line."""
    if fs == "scratch":
        with scratch_fs.scratch_filesystem() as scratch:
            yield scratch.path, scratch.description
        return
    reason = fixtures.dockerd_unreachable_reason()
    if reason:
        raise SystemExit(f"{reason} (run scripts/dockerd.sh start)")
    with tempfile.TemporaryDirectory(prefix="distribution-bench-", dir="/var/tmp") as tmp:
        yield Path(tmp), scratch_fs.host_description(Path(tmp), with_docker=True)


def measure(work: Path, reps: int) -> tuple[Times, Times]:
    """(pull, push) medians per tool."""
    bench = Bench(work)
    def push_once(tool: str, i: int) -> float:
        server = registry(work)
        try:
            seconds: float = getattr(bench, f"push_{tool}")(f"{server.addr}/bench/{tool}:{i}")
            return seconds
        finally:
            server.stop()

    # Tools take turns (A B C A B C ...) so a drift of the machine's speed hits all.
    push_runs: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    for i in range(reps):
        for tool in TOOLS:
            push_runs[tool].append(push_once(tool, i))
            log(f"push {tool}: {push_runs[tool][-1]:.2f} s")
    push = {tool: statistics.median(times) for tool, times in push_runs.items()}
    server = registry(work)
    try:
        source = f"{server.addr}/bench/image:12"
        bench.push_docker(source)  # docker's manifest and blobs: what docker pulls
        pull_runs: dict[str, list[float]] = {tool: [] for tool in TOOLS}
        for _ in range(reps):
            for tool in TOOLS:
                action: Callable[[str], float] = getattr(bench, f"pull_{tool}")
                pull_runs[tool].append(action(source))
                log(f"pull {tool}: {pull_runs[tool][-1]:.2f} s")
        pull = {tool: statistics.median(times) for tool, times in pull_runs.items()}
    finally:
        server.stop()
    run(docker("rmi", "-f", bench.docker_image))
    return pull, push


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3,
                        help="runs of each tool (median); the machine is noisy")
    scratch_fs.add_fs_argument(parser)
    args = parser.parse_args()
    try:
        # Fixtures first: building them needs whatever dockerd is current (the host's),
        # and they stay in bench/.cache whatever --fs says.
        fixtures.layered_docker_archive()
        fixtures.layered_oci_layout()
        with workspace(args.fs) as (work, where):
            pull, push = measure(work, args.reps)
    except fixtures.FixtureError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"filesystem: {where}")
    print(f"{'':8}{'dockyard':>10}{'docker':>10}{'skopeo':>10}{'vs docker':>11}{'vs skopeo':>11}")
    for name, times in (("pull", pull), ("push", push)):
        print(f"{name:8}{times['dockyard']:>9.2f}s{times['docker']:>9.2f}s"
              f"{times['skopeo']:>9.2f}s{times['dockyard'] / times['docker']:>10.2f}x"
              f"{times['dockyard'] / times['skopeo']:>10.2f}x")


    return 0


if __name__ == "__main__":
    sys.exit(main())
