"""dockyard vs docker on the image commands of issue 2, in one run: load, import, save.

Every measurement is a whole process (`docker load -i`, `dockyard --root R load -i`, ...)
timed from outside with time.perf_counter. Each operation runs --runs times per engine,
alternating which engine goes first, from fresh state (docker: the image removed;
dockyard: an empty --root) and after a sync, so both see the same page cache and no
dirty data of the other's run. The table shows medians and dockyard/docker.

By default (--fs scratch) both engines' state lives on a fresh journaled ext4 made for
the run, with a private dockerd on it (bench/scratch_fs.py); --fs host uses the host
filesystem and the current dockerd.

    python bench/image_bench.py [--runs 3] [--ops load,import,save] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script (`python bench/image_bench.py`): make the repo root importable so the
# fixtures module has one name, bench.fixtures, here, in tests and for mypy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import fixtures, scratch_fs

TARGET_RATIO = 0.5
IMPORT_TAG = "dockyard-bench/import:200"
ENGINES = ("dockyard", "docker")
OPERATIONS = ("load", "import", "save")


class BenchError(RuntimeError):
    """A timed command failed; the message carries the end of its stderr."""


@dataclass(frozen=True)
class Case:
    """One engine's side of one operation: untimed prepare, the timed argv, cleanup."""

    argv: list[str]
    prepare: Callable[[], None] = lambda: None
    cleanup: Callable[[], None] = lambda: None


@dataclass
class Outcome:
    times: list[float] = field(default_factory=list)
    error: str | None = None

    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and not self.error else None


# ------------------------------------------------------------------ running


def run_quiet(argv: list[str]) -> None:
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise BenchError(f"{' '.join(argv[:3])}... exit {done.returncode}: {' | '.join(tail)}")


def settle(drop_caches: bool) -> None:
    """Flush the previous run's dirty pages so they are not written during this one."""
    os.sync()
    # A loop filesystem's writeback lands in its backing file's page cache; the second
    # sync writes that out too (next to nothing to do on the host filesystem).
    os.sync()
    if drop_caches:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def timed(case: Case, drop_caches: bool) -> float:
    case.prepare()
    settle(drop_caches)
    started = time.perf_counter()
    try:
        run_quiet(case.argv)
        return time.perf_counter() - started
    finally:
        case.cleanup()


def warm(path: Path) -> None:
    """Read an input once so the first engine measured does not pay for a cold cache."""
    with path.open("rb") as handle:
        while handle.read(8 * fixtures.MIB):
            pass


def measure(cases: dict[str, Case], runs: int, drop_caches: bool) -> dict[str, Outcome]:
    outcomes = {engine: Outcome() for engine in cases}
    for index in range(runs):
        order = list(cases) if index % 2 == 0 else list(reversed(cases))  # alternate A/B
        for engine in order:
            outcome = outcomes[engine]
            if outcome.error:
                continue
            try:
                outcome.times.append(timed(cases[engine], drop_caches))
            except BenchError as exc:
                outcome.error = str(exc)
    return outcomes


# ------------------------------------------------------------------ engines


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _unlink(path: Path) -> Callable[[], None]:
    return lambda: path.unlink(missing_ok=True)


class DockerSide:
    """docker's commands; fresh state is the image removed again."""

    def __init__(self, workdir: Path) -> None:
        self.docker = fixtures.docker_argv()
        self.out = workdir / "docker-save.tar"

    def rmi(self, tag: str) -> Callable[[], None]:
        def remove() -> None:
            fixtures.docker("rmi", "-f", tag, check=False)

        return remove

    def load(self, archive: Path) -> Case:
        rmi = self.rmi(fixtures.LAYERED_TAG)
        return Case([*self.docker, "load", "-i", str(archive)], rmi, rmi)

    def import_(self, rootfs: Path) -> Case:
        rmi = self.rmi(IMPORT_TAG)
        return Case([*self.docker, "import", str(rootfs), IMPORT_TAG], rmi, rmi)

    def save(self, rootfs: Path) -> Case:
        run_quiet([*self.docker, "import", str(rootfs), IMPORT_TAG])
        return Case([*self.docker, "save", "-o", str(self.out), IMPORT_TAG],
                    _unlink(self.out), _unlink(self.out))

    def finish(self) -> None:
        self.rmi(IMPORT_TAG)()
        self.rmi(fixtures.LAYERED_TAG)()


class DockyardSide:
    """dockyard's commands; fresh state is an empty --root."""

    def __init__(self, workdir: Path, executable: str) -> None:
        self.exe = executable
        self.root = workdir / "dockyard-root"
        self.save_root = workdir / "dockyard-save-root"
        self.out = workdir / "dockyard-save.tar"

    def _fresh(self) -> Callable[[], None]:
        return lambda: _remove_tree(self.root)

    def load(self, archive: Path) -> Case:
        argv = [self.exe, "--root", str(self.root), "load", "-i", str(archive)]
        return Case(argv, self._fresh(), self._fresh())

    def import_(self, rootfs: Path) -> Case:
        argv = [self.exe, "--root", str(self.root), "import", str(rootfs), IMPORT_TAG]
        return Case(argv, self._fresh(), self._fresh())

    def save(self, rootfs: Path) -> Case:
        _remove_tree(self.save_root)
        run_quiet([self.exe, "--root", str(self.save_root), "import", str(rootfs), IMPORT_TAG])
        argv = [self.exe, "--root", str(self.save_root), "save", "-o", str(self.out), IMPORT_TAG]
        return Case(argv, _unlink(self.out), _unlink(self.out))

    def finish(self) -> None:
        _remove_tree(self.root)
        _remove_tree(self.save_root)


Side = DockerSide | DockyardSide


def input_for(operation: str) -> Path:
    """The fixture an operation reads (built and cached on first use)."""
    if operation == "load":
        return fixtures.layered_docker_archive()
    return fixtures.rootfs_200m_tar()


def cases_for(operation: str, sides: dict[str, Side]) -> tuple[dict[str, Case], dict[str, str]]:
    """Build each engine's Case; an engine whose setup fails is reported, not measured."""
    cases: dict[str, Case] = {}
    errors: dict[str, str] = {}
    source = input_for(operation)
    for engine, side in sides.items():
        build = {"load": side.load, "import": side.import_, "save": side.save}[operation]
        try:
            cases[engine] = build(source)
        except BenchError as exc:
            errors[engine] = f"setup: {exc}"
    return cases, errors


# ------------------------------------------------------------------ report


def describe(operation: str) -> str:
    size = input_for(operation).stat().st_size / 1e6
    return f"load (12 layers, {size:.0f} MB)" if operation == "load" else (
        f"{operation} ({size:.0f} MB rootfs)")


def _seconds(outcome: Outcome | None) -> str:
    if outcome is None:
        return "-"
    median = outcome.median()
    return "error" if median is None else f"{median:.2f}"


def table_row(label: str, outcomes: dict[str, Outcome]) -> str:
    mine, theirs = outcomes.get("dockyard"), outcomes.get("docker")
    ratio, verdict = "-", ""
    if mine and theirs and mine.median() is not None and theirs.median():
        value = (mine.median() or 0.0) / (theirs.median() or 1.0)
        ratio, verdict = f"{value:.2f}", "ok" if value <= TARGET_RATIO else "MISS"
    return (f"{label:30} {_seconds(mine):>11} {_seconds(theirs):>9} {ratio:>6} "
            f"{'<= ' + str(TARGET_RATIO):>7} {verdict}")


def print_report(results: dict[str, dict[str, Outcome]], runs: int, where: str) -> None:
    print(f"\nmedian of {runs} runs, whole processes, seconds")
    print(f"filesystem: {where}")
    print(f"{'operation':30} {'dockyard s':>11} {'docker s':>9} {'ratio':>6} {'target':>7}")
    for operation, outcomes in results.items():
        print(table_row(describe(operation), outcomes))
    for operation, outcomes in results.items():
        for engine, outcome in outcomes.items():
            runs_text = ", ".join(f"{t:.2f}" for t in outcome.times)
            print(f"  {operation:6} {engine:8} runs: [{runs_text}]"
                  + (f"  error: {outcome.error}" if outcome.error else ""))


def write_json(path: Path, results: dict[str, dict[str, Outcome]]) -> None:
    data = {op: {eng: {"times": o.times, "median": o.median(), "error": o.error}
                 for eng, o in outcomes.items()} for op, outcomes in results.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


# ------------------------------------------------------------------ main


def default_dockyard() -> str:
    local = fixtures.REPO_ROOT / ".venv" / "bin" / "dockyard"
    return os.environ.get("DOCKYARD_BIN") or (str(local) if local.exists() else "dockyard")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per engine (median)")
    parser.add_argument("--ops", default=",".join(OPERATIONS), help="load,import,save")
    parser.add_argument("--engines", default=",".join(ENGINES), help="dockyard,docker")
    parser.add_argument("--dockyard", default=default_dockyard(), help="dockyard executable")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="with --fs host: scratch dir (default: a temp dir under /var/tmp)")
    parser.add_argument("--drop-caches", action="store_true",
                        help="drop the page cache before every run (root; cold-cache figures)")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    scratch_fs.add_fs_argument(parser)
    args = parser.parse_args(argv)
    if args.workdir is not None and args.fs != "host":
        parser.error("--workdir needs --fs host (with --fs scratch the workdir is the "
                     "scratch filesystem)")
    return args


def make_sides(engines: list[str], workdir: Path, dockyard: str) -> dict[str, Side]:
    sides: dict[str, Side] = {}
    for engine in engines:
        if engine == "docker":
            fixtures.ensure_dockerd()
            sides[engine] = DockerSide(workdir)
        elif engine == "dockyard":
            sides[engine] = DockyardSide(workdir, dockyard)
        else:
            raise SystemExit(f"unknown engine {engine!r}; choose from {ENGINES}")
    return sides


def run_operation(operation: str, sides: dict[str, Side], runs: int,
                  drop_caches: bool) -> dict[str, Outcome]:
    print(f"== {operation}", file=sys.stderr, flush=True)
    cases, errors = cases_for(operation, sides)
    warm(input_for(operation))
    outcomes = measure(cases, runs, drop_caches)
    outcomes.update({engine: Outcome(error=error) for engine, error in errors.items()})
    return outcomes


def open_workdir(stack: ExitStack, args: argparse.Namespace) -> tuple[Path, str | None]:
    """The workdir and, for --fs scratch, the report line (host's needs dockerd up)."""
    if args.fs == "scratch":
        scratch = stack.enter_context(scratch_fs.scratch_filesystem())
        workdir: Path = scratch.path / "bench"
        workdir.mkdir()
        return workdir, scratch.description
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir="/var/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.workdir is None:
        stack.callback(_remove_tree, workdir)
    return workdir, None


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    operations = [op for op in args.ops.split(",") if op]
    if unknown := set(operations) - set(OPERATIONS):
        raise SystemExit(f"unknown operation(s) {sorted(unknown)}; choose from {OPERATIONS}")
    engines = [e for e in args.engines.split(",") if e]
    try:
        for operation in operations:
            input_for(operation)  # build fixtures now: they may need the host's dockerd
        with ExitStack() as stack:
            workdir, where = open_workdir(stack, args)
            sides = make_sides(engines, workdir, args.dockyard)
            if where is None:
                where = scratch_fs.host_description(workdir, "docker" in sides)
            results = {op: run_operation(op, sides, args.runs, args.drop_caches)
                       for op in operations}
            for side in sides.values():
                side.finish()
    except fixtures.FixtureError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print_report(results, args.runs, where)
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
