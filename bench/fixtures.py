"""Deterministic fixtures for benchmarks and end-to-end tests, built once and cached.

Each builder returns a Path. Without ``out`` it returns the cached object itself; with
``out`` it places a copy there (a hard link when possible) and returns ``out``.

Cache: ``$DOCKYARD_BENCH_CACHE`` or ``bench/.cache/``. Objects are built under a
temporary name and renamed into place, so an interrupted build leaves nothing that a
later call would mistake for a finished fixture.

    python bench/fixtures.py busybox|minbase|rootfs200|layered|layered-oci|all [OUT]
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.busybox_rootfs import write_busybox_rootfs

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_ENV = "DOCKYARD_BENCH_CACHE"
MINBASE_ENV = "DOCKYARD_MINBASE"
# Built by the machine's provisioning; preferred over running debootstrap again.
SHARED_MINBASE = Path("/var/cache/dockyard-bench/minbase")
DEBIAN_MIRROR = "http://deb.debian.org/debian"

MIB = 1024 * 1024
FIXED_MTIME = 1_700_000_000  # every synthetic tar entry gets this mtime: same bytes each build
ROOTFS_TARGET_BYTES = 200 * MIB
PADDING_FILE_BYTES = 8 * MIB
BIG_LAYER_BYTES = 100 * MIB
SMALL_LAYER_BYTES = 1 * MIB
SMALL_LAYERS = 10

LAYERED_BASE_TAG = "dockyard-bench/minbase:base"
LAYERED_TAG = "dockyard-bench/layered:12"
OCI_LAYOUT_TAG = "layered"


class FixtureError(RuntimeError):
    """A fixture could not be built (missing tool, dockerd down, a command failed)."""


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    path = Path(os.environ.get(CACHE_ENV) or REPO_ROOT / "bench" / ".cache")
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():  # keeps git, ruff and mypy out of 300 MB of fixtures
        ignore.write_text("# fixtures cache: never committed, never linted\n*\n")
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _cached(name: str, build: Callable[[Path], None], out: Path | None) -> Path:
    target = cache_dir() / name
    if not target.exists():
        staging = target.with_name(f"{name}.tmp-{os.getpid()}")
        _remove(staging)
        try:
            build(staging)
            os.replace(staging, target)
        finally:
            _remove(staging)
    return _export(target, out)


def _export(cached: Path, out: Path | None) -> Path:
    if out is None:
        return cached
    out = Path(out)
    if out.resolve() == cached.resolve():
        return out
    _remove(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if cached.is_dir():
        shutil.copytree(cached, out, symlinks=True)
    else:
        try:
            os.link(cached, out)  # fixtures are read-only inputs; a link saves 300 MB copies
        except OSError:
            shutil.copyfile(cached, out)
    return out


# ------------------------------------------------------------------ tar writing


def seeded_chunks(seed: str, size: int, chunk: int = MIB) -> Iterator[bytes]:
    """Reproducible incompressible bytes: SHAKE-256 of (seed, chunk index)."""
    index = 0
    while size > 0:
        length = min(chunk, size)
        yield hashlib.shake_256(f"{seed}/{index}".encode()).digest(length)
        size -= length
        index += 1


def write_seeded_file(path: Path, seed: str, size: int) -> Path:
    with path.open("wb") as handle:
        for block in seeded_chunks(seed, size):
            handle.write(block)
    return path


def _entry(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = FIXED_MTIME, 0, 0, "", ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    tar.addfile(_entry(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))


def _walk_sorted(root: Path) -> Iterator[Path]:
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        path = Path(entry.path)
        yield path
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_sorted(path)


def add_tree(tar: tarfile.TarFile, root: Path) -> int:
    """Add root's contents (names relative to root, sorted); skip device nodes, fifos
    and sockets, which a rootfs fixture does not need and extractors treat specially.
    Returns how many entries were skipped."""
    skipped = 0
    for path in _walk_sorted(root):
        info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
        if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
            skipped += 1
            continue
        info.uname = info.gname = ""  # numeric ids only: the host's names must not leak in
        if info.isreg():
            with path.open("rb") as handle:
                tar.addfile(info, handle)
        else:
            tar.addfile(info)
    return skipped


def tar_directory(root: Path, dest: Path) -> Path:
    """A deterministic uncompressed tar of root's contents (e.g. an OCI layout)."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        add_tree(tar, root)
    return dest


# -------------------------------------------------------------------- busybox


def _build_busybox_tar(dest: Path) -> None:
    with dest.open("wb") as out:
        write_busybox_rootfs(out)


def busybox_rootfs_tar(out: Path | None = None) -> Path:
    """Busybox rootfs tarball (~1.3 MB): the small test image used everywhere."""
    return _cached("busybox-rootfs.tar", _build_busybox_tar, out)


# -------------------------------------------------------------------- minbase


def _minbase_complete(path: Path) -> bool:
    # debootstrap deletes <target>/debootstrap as its very last step
    return (path / "var/lib/dpkg/status").is_file() and not (path / "debootstrap").exists()


def _debootstrap(dest: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise FixtureError("debootstrap missing: apt-get install debootstrap")
    log = cache_dir() / "debootstrap.log"
    with log.open("w") as handle:
        cmd = ["debootstrap", "--variant=minbase", "bookworm", str(dest), DEBIAN_MIRROR]
        done = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise FixtureError(f"debootstrap failed ({done.returncode}); see {log}")


def minbase_dir() -> Path:
    """A finished debootstrap minbase of bookworm, building one only if none exists."""
    for candidate in (os.environ.get(MINBASE_ENV), SHARED_MINBASE, cache_dir() / "minbase"):
        if candidate and _minbase_complete(Path(candidate)):
            return Path(candidate)
    return _cached("minbase", _debootstrap, None)


def _build_minbase_tar(dest: Path) -> None:
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        add_tree(tar, minbase_dir())


def minbase_rootfs_tar(out: Path | None = None) -> Path:
    """Tar of the debootstrap minbase (~205 MB, /dev nodes left out)."""
    return _cached("minbase-rootfs.tar", _build_minbase_tar, out)


def _add_padding(tar: tarfile.TarFile, target: int) -> None:
    tar.addfile(_entry("opt/padding", tarfile.DIRTYPE, 0o755))
    # at least 1 MiB, so this layer never equals the plain minbase layer
    remaining = max(target - tar.offset, MIB)
    index = 0
    while remaining > 0:
        size = min(PADDING_FILE_BYTES, remaining)
        name = f"opt/padding/pad-{index:03d}.bin"
        data = b"".join(seeded_chunks(f"rootfs200/{name}", size))
        _add_bytes(tar, name, data)
        remaining -= size + tarfile.BLOCKSIZE
        index += 1


def _build_rootfs200_tar(dest: Path) -> None:
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        add_tree(tar, minbase_dir())
        _add_padding(tar, ROOTFS_TARGET_BYTES)


def rootfs_200m_tar(out: Path | None = None) -> Path:
    """The import benchmark's input: minbase plus seeded padding under /opt/padding,
    ~200 MiB in all."""
    return _cached("rootfs-200m.tar", _build_rootfs200_tar, out)


# --------------------------------------------------------------------- docker


def docker_argv() -> list[str]:
    """The docker client: $DOCKYARD_DOCKER, else Debian's (it matches the 20.10 daemon)."""
    override = os.environ.get("DOCKYARD_DOCKER")
    if override:
        return override.split()
    return ["/usr/bin/docker"] if Path("/usr/bin/docker").exists() else ["docker"]


def docker(
    *args: str | Path, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [*docker_argv(), *map(str, args)]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check and done.returncode != 0:
        raise FixtureError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def dockerd_unreachable_reason() -> str | None:
    """None when a docker daemon answers, else why not."""
    try:
        done = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker client unusable: {exc}"
    if done.returncode != 0:
        return f"dockerd not reachable: {done.stderr.strip() or done.stdout.strip()}"
    return None


def ensure_dockerd() -> None:
    """Start the project's private dockerd through scripts/dockerd.sh if one is needed."""
    if dockerd_unreachable_reason() is None:
        return
    script = REPO_ROOT / "scripts" / "dockerd.sh"
    if script.is_file():
        subprocess.run(["sh", str(script), "start"], check=False)
    reason = dockerd_unreachable_reason()
    if reason is not None:
        raise FixtureError(f"{reason} (start one: scripts/dockerd.sh start, or dockerd &)")


def docker_build_classic(context: Path, tag: str) -> None:
    """`docker build` with the classic builder: it works offline, given a local base."""
    docker("build", "--quiet", "-t", tag, context, env={"DOCKER_BUILDKIT": "0"})


# ---------------------------------------------------------- 12-layer archive


def _layered_context(context: Path) -> None:
    write_seeded_file(context / "big.bin", "layered/big", BIG_LAYER_BYTES)
    lines = [f"FROM {LAYERED_BASE_TAG}", "COPY big.bin /data/big.bin"]
    for index in range(1, SMALL_LAYERS + 1):
        name = f"small-{index:02d}.bin"
        write_seeded_file(context / name, f"layered/{name}", SMALL_LAYER_BYTES)
        lines.append(f"COPY {name} /data/{name}")
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")


def _build_layered_archive(dest: Path) -> None:
    ensure_dockerd()
    base = minbase_rootfs_tar()
    with tempfile.TemporaryDirectory(dir=cache_dir()) as context:
        _layered_context(Path(context))
        try:
            docker("import", base, LAYERED_BASE_TAG)
            docker_build_classic(Path(context), LAYERED_TAG)
            docker("save", "-o", dest, LAYERED_TAG)
            dest.chmod(0o644)  # docker writes 0600; benchmarks may run as another user
        finally:
            docker("rmi", LAYERED_TAG, LAYERED_BASE_TAG, check=False)


def layered_docker_archive(out: Path | None = None) -> Path:
    """`docker save` archive of a 12-layer ~315 MB image: minbase + 100 MiB + 10 x 1 MiB.

    The file contents are reproducible; the config (hence the image ID) carries the
    build's timestamps, so a rebuilt archive has a new ID."""
    return _cached("layered-12.docker.tar", _build_layered_archive, out)


def _build_layered_oci(dest: Path) -> None:
    if shutil.which("skopeo") is None:
        raise FixtureError("skopeo missing: apt-get install skopeo")
    source = f"docker-archive:{layered_docker_archive()}"
    done = subprocess.run(
        ["skopeo", "copy", "--quiet", source, f"oci:{dest}:{OCI_LAYOUT_TAG}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise FixtureError(f"skopeo copy failed: {done.stderr.strip()}")


def layered_oci_layout(out: Path | None = None) -> Path:
    """The 12-layer image as an OCI image layout directory (tag "layered")."""
    return _cached("layered-12.oci", _build_layered_oci, out)


# ------------------------------------------------------------------------ CLI

BUILDERS: dict[str, Callable[[Path | None], Path]] = {
    "busybox": busybox_rootfs_tar,
    "minbase": minbase_rootfs_tar,
    "rootfs200": rootfs_200m_tar,
    "layered": layered_docker_archive,
    "layered-oci": layered_oci_layout,
}


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _build_and_report(what: str, out: Path | None) -> None:
    started = time.perf_counter()
    path = BUILDERS[what](out)
    elapsed = time.perf_counter() - started
    print(f"{what:12} {_size(path) / 1e6:9.1f} MB {elapsed:7.1f} s  {path}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in [*BUILDERS, "all"] or len(argv) > 2:
        print(f"usage: fixtures.py {{{'|'.join(BUILDERS)}|all}} [OUT]", file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) == 2 else None
    try:
        for what in BUILDERS if argv[0] == "all" else [argv[0]]:
            _build_and_report(what, None if argv[0] == "all" else out)
    except FixtureError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
