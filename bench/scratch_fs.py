"""A fresh, journaled ext4 for one benchmark run, with a private dockerd on it.

Why: this machine's root filesystem is ext4 without a journal. There the inode
allocator skips every inode freed in the last minutes (fs/ext4/ialloc.c,
recently_deleted), scanning each block group from bit 0 for every new inode, so a
bench that unpacks and deletes images in one place gets slower run after run, and
which engine suffers depends on where its state happens to sit. A loop-mounted ext4
made for the run (journal on, mkfs's default) puts both engines on the same, clean
footing.

The loop device does direct I/O on its image file, as a disk would. Buffered, every
block is cached twice (the scratch filesystem's page and the image file's), and the
image file's writeback from earlier runs went on during later timed commands (in
four buffered runs of the distribution bench a dockyard pull took 1.9-2.2 s, against
1.3-1.5 s alone; in five with direct I/O, a median of 1.3-1.9 s; docker's pull took
3.4-3.9 s in all of them). A real disk has no second cache.

    with scratch_filesystem() as fs:   # root only
        fs.path        # the mountpoint: the bench's workdir
        fs.description # one line for the report

While the block runs, DOCKER_HOST points at a private dockerd whose data root, exec
root and socket are on the scratch filesystem, and TMPDIR at <mountpoint>/tmp (for
skopeo, dockyard and other child processes). On exit, even after an exception or
Ctrl-C, the daemon is stopped, everything under the mountpoint is unmounted, and the
image file and the mountpoint are removed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench import fixtures

GIB = 1024**3
BASE_DIR = Path("/var/tmp")
DOCKERD_SCRIPT = fixtures.REPO_ROOT / "scripts" / "dockerd.sh"
FS_CHOICES = ("scratch", "host")
COMMAND_TIMEOUT = 120.0


class ScratchFsError(fixtures.FixtureError):
    """The scratch filesystem or its dockerd could not be set up (or torn down)."""


@dataclass(frozen=True)
class ScratchFs:
    path: Path
    description: str
    docker_host: str


def add_fs_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fs", choices=FS_CHOICES, default="scratch",
        help="scratch: both engines' state on a fresh journaled ext4 made for the run "
             "(root; default); host: the host filesystem and the current dockerd")


# ------------------------------------------------------------------ helpers


def _run(argv: list[str], what: str, env: dict[str, str] | None = None,
         new_session: bool = False) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False,
                              timeout=COMMAND_TIMEOUT, start_new_session=new_session)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScratchFsError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()[-5:]
        raise ScratchFsError(f"{what} failed ({done.returncode}): {' | '.join(output)}")


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as \\ooo."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True)
class _Mount:
    target: str
    fstype: str
    source: str


def _mounts() -> list[_Mount]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        mounts.append(_Mount(_unescape(fields[4]), tail[0], _unescape(tail[1])))
    return mounts


def _mounted_under(top: Path) -> list[str]:
    """Mount targets at or below top, in the order to unmount them: deepest first, and
    for mounts stacked on one path the newest first."""
    inside = [(i, m.target) for i, m in enumerate(_mounts())
              if m.target == str(top) or m.target.startswith(f"{top}/")]
    inside.sort(key=lambda item: (item[1].count("/"), item[0]), reverse=True)
    return [target for _, target in inside]


def _ext4_journal(device: str) -> str:
    """'journaled' / 'no journal' for a mounted ext4 device, '' when unknown. jbd2 lists
    each journal it runs as /proc/fs/jbd2/<dev>-<inode>; reading the superblock instead
    needs the raw device, which a sandbox may refuse even to root."""
    name = Path(device).name
    if not Path("/proc/fs/ext4", name).is_dir():
        return ""
    jbd2 = Path("/proc/fs/jbd2")
    journals = [entry.name for entry in jbd2.iterdir()] if jbd2.is_dir() else []
    return "journaled" if any(j.startswith(f"{name}-") for j in journals) else "no journal"


def filesystem_of(path: Path) -> str:
    """'ext4 /dev/vda, no journal': the filesystem holding path."""
    resolved = str(path.resolve())
    best: _Mount | None = None
    for mount in _mounts():
        inside = resolved == mount.target or resolved.startswith(mount.target.rstrip("/") + "/")
        if inside and (best is None or len(mount.target) >= len(best.target)):
            best = mount
    if best is None:
        return "unknown filesystem"
    journal = _ext4_journal(best.source) if best.fstype.startswith("ext") else ""
    return f"{best.fstype} {best.source}" + (f", {journal}" if journal else "")


def host_description(workdir: Path, with_docker: bool) -> str:
    """The report line for --fs host: where the workdir and docker's data root live."""
    text = f"host (workdir {workdir} on {filesystem_of(workdir)}"
    if with_docker:
        done = fixtures.docker("info", "--format", "{{.DockerRootDir}}", check=False, timeout=30)
        root = done.stdout.strip()
        if done.returncode == 0 and root:
            text += f"; docker data root {root} on {filesystem_of(Path(root))}"
    return text + ")"


# ------------------------------------------------------------------ dockerd


def _dockerd_env(mountpoint: Path, network: str = "none") -> dict[str, str]:
    return {**os.environ, "DOCKYARD_DOCKERD_ROOT": str(mountpoint / "dockerd"),
            "DOCKER_SOCK": str(mountpoint / "docker.sock"),
            "DOCKYARD_DOCKERD_NETWORK": network}


def _start_dockerd(mountpoint: Path, network: str) -> None:
    # A new session: Ctrl-C on the bench must not take the daemon down before the
    # bench's own cleanup (docker rmi, rm) has run.
    _run(["bash", str(DOCKERD_SCRIPT), "start"], "starting the scratch dockerd",
         _dockerd_env(mountpoint, network), new_session=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill 0; it holds no files, so it counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _end(pids: list[int], grace: float) -> None:
    """SIGTERM, wait up to grace seconds, then SIGKILL whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = [pid for pid in pids if _alive(pid)]
        if not pids:
            return


def _processes_using(mountpoint: Path) -> list[int]:
    """Our daemon's descendants (containerd, shims) name files under the mountpoint on
    their command line; the path is a fresh mkdtemp name, so nothing else matches."""
    needle = str(mountpoint).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _stop_dockerd(mountpoint: Path) -> None:
    pidfile = mountpoint / "dockerd" / "dockerd.pid"
    try:
        pid: int | None = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        pid = None
    try:
        _run(["bash", str(DOCKERD_SCRIPT), "stop"], "stopping the scratch dockerd",
             _dockerd_env(mountpoint))
    finally:
        # dockerd.sh gives up after 20 s without a SIGKILL; a live daemon would keep
        # the filesystem busy.
        if pid is not None and _alive(pid):
            _end([pid], 5.0)
        if leftovers := _processes_using(mountpoint):
            _end(leftovers, 5.0)


# ------------------------------------------------------------------ mounts


def _unmount_all(mountpoint: Path, image: Path) -> None:
    """Unmount everything at or below mountpoint (dockerd's bind of its data root,
    overlay and nsfs mounts of containers, then the loop filesystem); umount -l only for
    what will not go, and detach any loop device still bound to the image."""
    for _ in range(3):  # a mount can hold another's target busy for a moment
        targets = _mounted_under(mountpoint)
        if not targets:
            break
        for target in targets:
            subprocess.run(["umount", target], capture_output=True, check=False,
                           timeout=COMMAND_TIMEOUT)
        if _mounted_under(mountpoint):
            time.sleep(0.5)
    for target in _mounted_under(mountpoint):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False,
                       timeout=COMMAND_TIMEOUT)
    # the device scratch_filesystem attached (no autoclear), or one a lazy unmount
    # still holds
    done = subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True,
                          check=False, timeout=COMMAND_TIMEOUT)
    for line in done.stdout.splitlines():
        device = line.split(":", 1)[0]
        subprocess.run(["losetup", "-d", device], capture_output=True, check=False,
                       timeout=COMMAND_TIMEOUT)
    if remaining := _mounted_under(mountpoint):
        raise ScratchFsError(f"still mounted after umount -l: {', '.join(remaining)}")


def _attach_loop(image: Path) -> str:
    """A loop device on image, doing direct I/O where the kernel allows it (losetup
    opens the image O_DIRECT for that: a filesystem that refuses gets a buffered one)."""
    failure = ""
    for direct in (["--direct-io=on"], []):
        argv = ["losetup", "--find", "--show", *direct, str(image)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False,
                                  timeout=COMMAND_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ScratchFsError(f"losetup failed: {exc}") from exc
        device = done.stdout.strip()
        if done.returncode == 0 and device.startswith("/dev/loop"):
            return device
        failure = f"losetup failed ({done.returncode}): {done.stderr.strip()}"
    raise ScratchFsError(failure)


def _loop_io(device: str) -> str:
    """'direct I/O' or 'buffered' (losetup falls back to buffered when refused)."""
    flag = Path("/sys/block", Path(device).name, "loop", "dio")
    try:
        return "direct I/O" if flag.read_text().strip() == "1" else "buffered"
    except OSError:
        return "I/O mode unknown"


def _remove_mountpoint(mountpoint: Path) -> None:
    # Unmounted, it is the empty mkdtemp directory again: rmdir, never a recursive
    # delete that could reach through a mount that did not go away.
    if _mounted_under(mountpoint):
        return
    with suppress(OSError):
        mountpoint.rmdir()


# ------------------------------------------------------------------ public


@contextmanager
def scratch_filesystem(size_gib: int = 32, docker_network: str = "none") -> Iterator[ScratchFs]:
    """Make, mount and hand over a fresh journaled ext4 with a private dockerd on it.

    ``docker_network="bridge"``: the daemon as installed, its default bridge network on
    (scripts/dockerd.sh restores the host's iptables rules when it stops)."""
    if os.geteuid() != 0:
        raise ScratchFsError("--fs scratch needs root (mkfs, mount, dockerd); "
                             "run as root or pass --fs host")
    for tool in ("mkfs.ext4", "mount", "umount", "losetup", "bash"):
        if shutil.which(tool) is None:
            raise ScratchFsError(f"{tool} not found (needed by --fs scratch)")
    with ExitStack() as stack:  # callbacks run in reverse: env, dockerd, mounts, files
        fd, name = tempfile.mkstemp(prefix="dockyard-scratch-", suffix=".img", dir=BASE_DIR)
        os.close(fd)
        image = Path(name)
        stack.callback(image.unlink, missing_ok=True)
        try:
            os.truncate(image, size_gib * GIB)  # sparse: only what is written takes space
        except OSError as exc:
            raise ScratchFsError(f"cannot size {image} to {size_gib} GiB: {exc}") from exc
        _run(["mkfs.ext4", "-q", "-F", str(image)], "mkfs.ext4")
        # Resolved: /proc/self/mountinfo names targets by their real path.
        mountpoint = Path(tempfile.mkdtemp(prefix="dockyard-scratch-", dir=BASE_DIR)).resolve()
        stack.callback(_remove_mountpoint, mountpoint)
        stack.callback(_unmount_all, mountpoint, image)
        device = _attach_loop(image)
        _run(["mount", device, str(mountpoint)], f"mount {device}")
        if "journaled" not in filesystem_of(mountpoint):  # the point of the exercise
            raise ScratchFsError(f"mkfs.ext4 made no journal on {image} (mke2fs.conf?)")
        (mountpoint / "tmp").mkdir()
        (mountpoint / "tmp").chmod(0o1777)  # like /tmp: the umask would narrow mkdir's mode
        stack.callback(_stop_dockerd, mountpoint)
        _start_dockerd(mountpoint, docker_network)
        docker_host = f"unix://{mountpoint / 'docker.sock'}"
        stack.enter_context(_environ({"DOCKER_HOST": docker_host,
                                      "TMPDIR": str(mountpoint / "tmp")}))
        yield ScratchFs(
            path=mountpoint,
            description=(f"fresh journaled ext4 (loop, {_loop_io(device)}, {size_gib} GiB "
                         f"sparse) at {mountpoint}"),
            docker_host=docker_host,
        )
