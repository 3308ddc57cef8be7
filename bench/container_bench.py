"""Containers, dockyard vs docker in one run: ``run --rm busybox true`` and ``commit``.

    python bench/container_bench.py [--runs N] [--commits N] [--engines dockyard,docker]
                                    [--fs scratch|host] [--docker-network none|bridge]

The same busybox rootfs is imported into both engines.  ``run`` is the median of
``--runs`` (default 10) after one warm-up each; each commit is the median of
``--commits`` (default 3), each on a fresh container that holds a new 100 MB random
file, or 10,000 new small files, timed after a sync.  The engines take turns.  Prints seconds and
the dockyard/docker ratio (targets: run <= 0.33, commits <= 0.5).  With --fs scratch
(the default) dockyard's root and docker's data root are on a fresh journaled ext4 made
for the run (bench/scratch_fs.py); --fs host keeps them on the host filesystem.

docker runs its containers with ``--network none`` by default: the same work as
dockyard's default (a namespace with a loopback only).  ``--docker-network bridge``
(with --fs scratch) runs docker as installed instead, its default bridge network on,
as the issue's anchor figure (0.40 s) was taken.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import fixtures, scratch_fs

IMAGE = "dockyard-bench/busybox:ctr"
BIG_FILE = "head -c 104857600 /dev/urandom > /big"
SMALL_FILES = (
    "mkdir /many && cd /many && i=0; while [ $i -lt 10000 ]; do echo $i > f$i; i=$((i+1)); done"
)
TARGETS = {"run --rm busybox true": 0.33, "commit (100 MB file)": 0.5,
           "commit (10,000 files)": 0.5}  # fmt: skip

Engine = Callable[..., subprocess.CompletedProcess[str]]


def quiet(argv: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    quiet(argv)
    return time.perf_counter() - start


class Side:
    """One engine: its argv prefix and the extra ``run`` flags it needs here."""

    def __init__(self, name: str, argv: list[str], run_flags: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.run_flags = run_flags

    def cmd(self, *args: str) -> list[str]:
        return [*self.argv, *args]

    def run_argv(self) -> list[str]:
        return self.cmd("run", "--rm", *self.run_flags, IMAGE, "true")

    def commit_after(self, script: str, label: str) -> float:
        name = f"bench-{label}-{os.getpid()}"
        quiet(self.cmd("run", "--name", name, *self.run_flags, IMAGE, "sh", "-c", script))
        settle()
        try:
            return timed(self.cmd("commit", name, f"dockyard-bench/{label}:{os.getpid()}"))
        finally:
            quiet(self.cmd("rm", "-f", name))
            quiet(self.cmd("rmi", f"dockyard-bench/{label}:{os.getpid()}"))


def settle() -> None:
    """Write back what the container wrote, so the commit does not race its writeback.

    Twice: where the scratch loop device is buffered (the kernel refused direct I/O)
    the first sync only moves them into its image file.
    """
    subprocess.run(["sync"], check=True)
    subprocess.run(["sync"], check=True)


def make_sides(engines: list[str], root: Path, docker_network: str) -> dict[str, Side]:
    rootfs = fixtures.busybox_rootfs_tar()
    sides: dict[str, Side] = {}
    if "dockyard" in engines:
        local = fixtures.REPO_ROOT / ".venv" / "bin" / "dockyard"
        binary = os.environ.get("DOCKYARD_BIN") or str(local)
        side = Side("dockyard", [binary, "--root", str(root)], [])
        quiet(side.cmd("import", str(rootfs), IMAGE))
        sides["dockyard"] = side
    if "docker" in engines:
        fixtures.ensure_dockerd()
        flags = ["--network", "none"] if docker_network == "none" else []
        side = Side("docker", fixtures.docker_argv(), flags)
        quiet(side.cmd("import", str(rootfs), IMAGE))
        sides["docker"] = side
    return sides


def measure(sides: dict[str, Side], runs: int, commits: int) -> dict[str, dict[str, list[float]]]:
    """Every time of every engine; the engines take turns run by run, so a drift of the
    machine hits both."""
    results: dict[str, dict[str, list[float]]] = {label: {} for label in TARGETS}
    for side in sides.values():
        quiet(side.run_argv())  # warm-up: caches, the runtime probe
    run_times = results["run --rm busybox true"]
    for name in sides:
        run_times[name] = []
    for _ in range(runs):
        for name, side in sides.items():
            run_times[name].append(timed(side.run_argv()))
    for label, script, tag in (("commit (100 MB file)", BIG_FILE, "big"),
                               ("commit (10,000 files)", SMALL_FILES, "many")):
        commit_times = results[label]
        for name in sides:
            commit_times[name] = []
        for i in range(commits):
            for name, side in sides.items():
                commit_times[name].append(side.commit_after(script, f"{tag}{i}"))
    return results


def report(results: dict[str, dict[str, list[float]]], runs: int, commits: int,
           where: str) -> None:  # fmt: skip
    """Medians and their ratio; then each engine's fastest and slowest run."""
    print(f"containers: dockyard vs docker (run: median of {runs}; commits: median of {commits})")
    print(f"filesystem: {where}")
    print(f"{'operation':<24}{'dockyard':>10}{'docker':>10}{'ratio':>8}{'target':>8}")
    for label, times in results.items():
        ours, theirs = (statistics.median(times[name]) if times.get(name) else None
                        for name in ("dockyard", "docker"))  # fmt: skip
        ratio = f"{ours / theirs:.2f}" if ours and theirs else "-"
        cells = [f"{t:.3f}s" if t is not None else "-" for t in (ours, theirs)]
        print(f"{label:<24}{cells[0]:>10}{cells[1]:>10}{ratio:>8}{TARGETS[label]:>8}")
    print("spread (min-max):")
    for label, times in results.items():
        spread = "  ".join(f"{name} {min(t):.3f}-{max(t):.3f}s" for name, t in times.items())
        print(f"  {label:<24}{spread}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of `run --rm` (median)")
    parser.add_argument("--commits", type=int, default=3, help="commits of each kind (median)")
    parser.add_argument("--engines", default="dockyard,docker")
    parser.add_argument("--docker-network", choices=("none", "bridge"), default="none",
                        help="docker's containers: --network none (the same work as "
                             "dockyard's), or its default bridge network (--fs scratch)")
    scratch_fs.add_fs_argument(parser)
    args = parser.parse_args(argv)
    if args.docker_network == "bridge" and args.fs != "scratch":
        parser.error("--docker-network bridge needs --fs scratch (a dockerd of the bench's own)")
    if os.geteuid() != 0:
        print("needs root (overlayfs mounts, runc)", file=sys.stderr)
        return 2
    engines = args.engines.split(",")
    sides: dict[str, Side] = {}
    try:
        fixtures.busybox_rootfs_tar()  # before the scratch dockerd takes over
        with ExitStack() as stack:
            where: str | None = None
            if args.fs == "scratch":
                scratch = stack.enter_context(
                    scratch_fs.scratch_filesystem(docker_network=args.docker_network))
                root = Path(tempfile.mkdtemp(prefix="dockyard-ctr-bench-", dir=scratch.path))
                where = scratch.description
            else:
                root = Path(tempfile.mkdtemp(prefix="dockyard-ctr-bench-"))
            try:
                sides = make_sides(engines, root, args.docker_network)
                where = where or scratch_fs.host_description(root, "docker" in sides)
                where += f"; docker's network: {args.docker_network}"
                report(measure(sides, args.runs, args.commits), args.runs, args.commits, where)
            finally:  # before the scratch dockerd stops: docker must still answer
                if "docker" in sides:
                    subprocess.run(sides["docker"].cmd("rmi", IMAGE), capture_output=True,
                                   check=False)
                shutil.rmtree(root, ignore_errors=True)
    except fixtures.FixtureError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
