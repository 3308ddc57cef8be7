"""A driver over an OCI runtime's CLI (runc or crun, which share the commands we use).

Every call passes ``--root <state dir>`` so dockyard's containers live apart from
any other user of the runtime.  Failures become ``OCIRuntimeFailed``; a command
that cannot be started in the container becomes one of its two subclasses here,
carrying docker's exit codes (``exit_code`` 127 not found, 126 not executable),
so the CLI's usual ``sys.exit(err.exit_code)`` does the right thing.

How a failure of the runtime is told from the container's own exit status 1 in
``run`` (where the container shares the runtime's stderr): the runtime logs its
errors as JSON to ``<bundle>/runtime.log`` (``--log``); an error logged by this
invocation means the runtime failed.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from dockyard.errors import (
    Conflict,
    ContainerCommandNotExecutable,
    ContainerCommandNotFound,
    ContainerNotFound,
    OCIRuntimeFailed,
)
from dockyard.runtime import _proc

RUNTIME_LOG = "runtime.log"


def runtime_error(argv: list[str], returncode: int, message: str) -> OCIRuntimeFailed:
    """The exception for a runtime failure, classified as docker's daemon does."""
    if 'exec: "' in message or "exec failed" in message:
        if "executable file not found" in message or "no such file or directory" in message:
            return ContainerCommandNotFound(argv, returncode, message)
        if "permission denied" in message or "exec format error" in message:
            return ContainerCommandNotExecutable(argv, returncode, message)
    return OCIRuntimeFailed(argv, returncode, message)


def parse_signal(name: str | int) -> int:
    """``9``, ``KILL`` or ``SIGKILL`` -> 9; ConfigError-free: bad names raise OCIRuntimeFailed."""
    if isinstance(name, int) or name.isdigit():
        return int(name)
    upper = name.upper()
    try:
        return int(signal.Signals[upper if upper.startswith("SIG") else f"SIG{upper}"])
    except KeyError as exc:
        raise OCIRuntimeFailed(["kill"], 1, f"invalid signal: {name}") from exc


class Runtime(NamedTuple):
    """One OCI runtime binary and the state directory dockyard gives it."""

    name: str
    path: str
    state_root: Path

    def _argv(self, *args: str) -> list[str]:
        return [self.path, "--root", str(self.state_root), *args]

    def _spawn(
        self, argv: list[str], *, stdin: int | None, stdout: int | None, stderr: int | None
    ) -> int:
        try:
            return _proc.spawn(argv, stdin=stdin, stdout=stdout, stderr=stderr)
        except OSError as exc:
            raise OCIRuntimeFailed(argv, 127, f"cannot execute {self.path}: {exc}") from exc

    def _call(self, *args: str, setsid: bool = False) -> bytes:
        argv = self._argv("--log-format", "json", *args)
        try:
            code, out, err = _proc.run_captured(argv, setsid=setsid)
        except OSError as exc:
            raise OCIRuntimeFailed(argv, 127, f"cannot execute {self.path}: {exc}") from exc
        if code != 0:
            text = err.decode(errors="replace")
            message = _json_log_error(text.splitlines()) or text.strip()
            if "does not exist" in message:
                raise ContainerNotFound(f"No such container: {args[-1]}")
            raise runtime_error(argv, code, message)
        return out

    def _logged_run(
        self,
        log: Path,
        argv: list[str],
        *,
        stdin: int | None,
        stdout: int | None,
        stderr: int | None,
    ) -> int:
        """Run a runtime command whose errors go to ``log``; raise on a runtime failure."""
        log.write_bytes(b"")
        pid = self._spawn(argv, stdin=stdin, stdout=stdout, stderr=stderr)
        code = _proc.wait(pid)
        if code != 0:
            message = logged_error(log)
            if message is not None:
                raise runtime_error(argv, code, message)
        return code

    def run(
        self,
        container_id: str,
        bundle: Path,
        *,
        detach: bool = False,
        console_socket: Path | None = None,
        pid_file: Path | None = None,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> int:
        """``runtime run``: in the foreground, the container's exit code; detached, 0.

        Raises ContainerCommandNotFound / ContainerCommandNotExecutable /
        OCIRuntimeFailed when the container cannot be started.
        """
        log = bundle / RUNTIME_LOG
        argv = [
            self.path,
            "--root",
            str(self.state_root),
            "--log",
            str(log),
            "--log-format",
            "json",
            "run",
            "--bundle",
            str(bundle),
        ]
        if detach:
            argv.append("--detach")
        if console_socket is not None:
            argv += ["--console-socket", str(console_socket)]
        if pid_file is not None:
            argv += ["--pid-file", str(pid_file)]
        argv.append(container_id)
        return self._logged_run(log, argv, stdin=stdin, stdout=stdout, stderr=stderr)

    def create(
        self,
        container_id: str,
        bundle: Path,
        *,
        console_socket: Path | None = None,
        pid_file: Path | None = None,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> None:
        """``runtime create``: set the container up, stopped before its process runs."""
        log = bundle / RUNTIME_LOG
        argv = self._argv(
            "--log", str(log), "--log-format", "json", "create", "--bundle", str(bundle)
        )
        if console_socket is not None:
            argv += ["--console-socket", str(console_socket)]
        if pid_file is not None:
            argv += ["--pid-file", str(pid_file)]
        argv.append(container_id)
        code = self._logged_run(log, argv, stdin=stdin, stdout=stdout, stderr=stderr)
        if code != 0:
            raise OCIRuntimeFailed(argv, code, logged_error(log) or "")

    def start(self, container_id: str) -> None:
        """``runtime start``: run the process of a created container."""
        self._call("start", container_id)

    def exec(
        self,
        container_id: str,
        process_json: Path,
        *,
        detach: bool = False,
        console_socket: Path | None = None,
        pid_file: Path | None = None,
        log: Path,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> int:
        """``runtime exec --process``: the process's exit code (0 when detached)."""
        argv = self.exec_argv(container_id, process_json, log=log, detach=detach,
                              console_socket=console_socket, pid_file=pid_file)  # fmt: skip
        return self._logged_run(log, argv, stdin=stdin, stdout=stdout, stderr=stderr)

    def exec_argv(
        self,
        container_id: str,
        process_json: Path,
        *,
        log: Path,
        detach: bool = False,
        console_socket: Path | None = None,
        pid_file: Path | None = None,
    ) -> list[str]:
        """The command line of ``runtime exec --process``, its errors logged to ``log``."""
        argv = self._argv(
            "--log", str(log), "--log-format", "json", "exec", "--process", str(process_json)
        )
        if detach:
            argv.append("--detach")
        if console_socket is not None:
            argv += ["--console-socket", str(console_socket)]
        if pid_file is not None:
            argv += ["--pid-file", str(pid_file)]
        argv.append(container_id)
        return argv

    def kill(
        self, container_id: str, sig: str | int = "SIGTERM", *, all_processes: bool = False
    ) -> None:
        """Send a signal to the container's init (or every process with ``all_processes``).

        Conflict if the container is not running; ContainerNotFound if unknown.
        """
        args = ["kill"] + (["--all"] if all_processes else [])
        try:
            self._call(*args, container_id, str(parse_signal(sig)))
        except OCIRuntimeFailed as exc:
            if "not running" in exc.stderr or "process already finished" in exc.stderr:
                raise Conflict(f"container {container_id} is not running") from exc
            raise

    def pause(self, container_id: str) -> None:
        """Freeze every process of the container (cgroup freezer), e.g. during a commit.

        In a session of its own, as ``resume``: a ^C meant for us must not kill it
        half-way (the cgroup frozen, runc's state not yet written)."""
        self._call("pause", container_id, setsid=True)

    def resume(self, container_id: str) -> None:
        self._call("resume", container_id, setsid=True)

    def pids(self, container_id: str) -> list[int]:
        """The host pids of every process in the container (``runtime ps``)."""
        out = self._call("ps", "--format", "json", container_id)
        try:
            pids = json.loads(out or b"null") or []
        except ValueError as exc:
            raise OCIRuntimeFailed(self._argv("ps"), 0, f"bad ps JSON: {exc}") from exc
        return [int(pid) for pid in pids]

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """Forget the container (``--force`` kills it first); a no-op if unknown."""
        with contextlib.suppress(ContainerNotFound):
            self._call("delete", *(["--force"] if force else []), container_id)

    def state(self, container_id: str) -> dict[str, object]:
        """The runtime's state document (``status``: created|running|paused|stopped, ``pid``)."""
        out = self._call("state", container_id)
        try:
            document = json.loads(out)
        except ValueError as exc:
            raise OCIRuntimeFailed(self._argv("state"), 0, f"bad state JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise OCIRuntimeFailed(self._argv("state"), 0, "bad state JSON")
        return document

    def list_ids(self) -> Sequence[str]:
        """Ids of the containers the runtime knows under our state root."""
        out = self._call("list", "--format", "json")
        return [item["id"] for item in json.loads(out or b"null") or []]


def logged_error(log: Path) -> str | None:
    """The last error the runtime logged in ``log`` (JSON lines), if any."""
    try:
        return _json_log_error(log.read_text(errors="replace").splitlines())
    except OSError:
        return None


def _json_log_error(lines: list[str]) -> str | None:
    """The message of the last error among the runtime's JSON log lines, if any."""
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            return str(entry.get("msg", ""))
    return None
