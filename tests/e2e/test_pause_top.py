"""``pause`` / ``unpause`` (the cgroup freezer, from any later process) and ``top``."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from tests.conftest import DOCKYARD, Dockyard
from tests.e2e.container_helpers import assert_nothing_left, needs_containers

pytestmark = needs_containers

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done"


def log_lines(dockyard: Dockyard, name: str) -> int:
    return len(dockyard.run("logs", name).stdout.splitlines())


def grows(dockyard: Dockyard, name: str, seconds: float = 0.6) -> bool:
    before = log_lines(dockyard, name)
    time.sleep(seconds)
    return log_lines(dockyard, name) > before


def test_pause_freezes_until_unpause(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "pz", busybox, "sh", "-c", COUNTER)
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", "pz").stdout.strip()
    assert grows(dockyard, "pz")
    assert dockyard.run("pause", "pz").stdout == "pz\n"
    assert not grows(dockyard, "pz")
    shown = dockyard.run("ps", "--format", "{{.Names}} {{.State}} {{.Status}}").stdout
    assert shown.startswith("pz paused Up ") and shown.endswith(" (Paused)\n")
    state = json.loads(dockyard.run("inspect", "pz").stdout)[0]["State"]
    assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
    assert dockyard.run("ps", "-q", "-f", "status=paused").stdout.strip() == container_id[:12]
    assert dockyard.run("ps", "-q", "-f", "status=running").stdout == ""

    refused = dockyard.fails("exec", "pz", "true")
    assert refused.stderr == (
        f"Error: Container {container_id} is paused, unpause the container before exec\n"
    )
    again = dockyard.fails("pause", "pz")
    assert again.stderr == f"Error: Container {container_id} is already paused\n"

    assert dockyard.run("unpause", "pz").stdout == "pz\n"
    assert grows(dockyard, "pz")
    assert dockyard.run("exec", "pz", "echo", "in").stdout == "in\n"
    dockyard.run("pause", "pz")
    assert dockyard.fails("start", "pz").stderr == (
        "Error: cannot start a paused container, try unpause instead\n"
    )
    assert dockyard.fails("attach", "pz").stderr == (
        f"Error: container {container_id} is paused, unpause the container before attach\n"
    )
    assert dockyard.fails("rm", "pz").stderr == (
        'Error: cannot remove container "/pz": container is paused and must be unpaused first\n'
    )
    dockyard.run("unpause", "pz")
    not_paused = dockyard.fails("unpause", "pz")
    assert not_paused.stderr == f"Error: Container {container_id} is not paused\n"

    dockyard.run("rm", "-f", "pz")
    assert_nothing_left(dockyard)


def test_pause_of_a_stopped_container_is_refused(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("create", "--name", "idle", busybox, "true")
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", "idle").stdout.strip()
    refused = dockyard.fails("pause", "idle")
    assert refused.stderr == f"Error: Container {container_id} is not running\n"
    dockyard.run("rm", "idle")


def test_stop_resumes_a_paused_container_so_it_can_act_on_the_signal(
    dockyard: Dockyard, busybox: str
) -> None:
    script = "trap 'exit 3' TERM; while true; do sleep 0.05; done"
    dockyard.run("run", "-d", "--name", "trapper", busybox, "sh", "-c", script)
    dockyard.run("pause", "trapper")
    dockyard.run("stop", "-t", "30", "trapper")
    # 3: the trap ran (a container left frozen would have been killed: 137)
    assert dockyard.run("inspect", "-f", "{{.State.ExitCode}}", "trapper").stdout == "3\n"
    dockyard.run("start", "trapper")  # a new run starts unpaused
    assert dockyard.run("inspect", "-f", "{{.State.Paused}}", "trapper").stdout == "false\n"
    dockyard.run("rm", "-f", "trapper")


def test_a_signal_that_is_not_the_stop_signal_leaves_it_paused(
    dockyard: Dockyard, busybox: str
) -> None:
    """moby's killWithSignal: with a StopSignal set, only it (or SIGKILL) resumes."""
    dockyard.run("commit", "--change", "STOPSIGNAL SIGUSR2",
                 dockyard.run("create", busybox, "true").stdout.strip(), "stops/usr2")  # fmt: skip
    script = "trap 'echo usr1' USR1; trap 'exit 5' USR2; while true; do sleep 0.05; done"
    dockyard.run("run", "-d", "--name", "sig", "stops/usr2", "sh", "-c", script)
    dockyard.run("pause", "sig")
    dockyard.run("kill", "-s", "USR1", "sig")
    assert dockyard.run("inspect", "-f", "{{.State.Status}}", "sig").stdout == "paused\n"
    dockyard.run("kill", "-s", "USR2", "sig")
    assert dockyard.run("wait", "sig").stdout == "5\n"
    assert "usr1" in dockyard.run("logs", "sig").stdout  # delivered once it thawed
    dockyard.run("rm", "-f", "sig")


def test_commit_of_a_paused_container_leaves_it_paused(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "pc", busybox, "sh", "-c",
                 f"echo kept > /kept; {COUNTER}")  # fmt: skip
    time.sleep(0.3)
    dockyard.run("pause", "pc")
    dockyard.run("commit", "pc", "paused/commit:1")
    assert dockyard.run("inspect", "-f", "{{.State.Status}}", "pc").stdout == "paused\n"
    assert not grows(dockyard, "pc")
    ran = dockyard.run("run", "--rm", "paused/commit:1", "cat", "/kept")
    assert ran.stdout == "kept\n"
    dockyard.run("rm", "-f", "pc")


SLEEPERS = "sleep 1000 & sleep 2000; echo done"


def test_top_lists_the_containers_processes_only(dockyard: Dockyard, busybox: str) -> None:
    dockyard.run("run", "-d", "--name", "tp", busybox, "sh", "-c", SLEEPERS)
    try:
        deadline = time.monotonic() + 10
        while True:
            lines = dockyard.run("top", "tp").stdout.splitlines()
            if len(lines) >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        commands = sorted(line.split(None, 7)[7] for line in lines[1:])
        assert commands == [f"sh -c {SLEEPERS}", "sleep 1000", "sleep 2000"]
        custom = dockyard.run("top", "tp", "-o", "pid,comm").stdout.splitlines()
        assert custom[0].split() == ["PID", "COMMAND"]
        assert sorted(line.split()[1] for line in custom[1:]) == ["sh", "sleep", "sleep"]
        no_pid = dockyard.fails("top", "tp", "-o", "comm")
        assert no_pid.stderr == "Error: Couldn't find PID field in ps output\n"
    finally:
        dockyard.run("rm", "-f", "tp")
    dockyard.run("create", "--name", "still", busybox, "true")
    container_id = dockyard.run("inspect", "-f", "{{.Id}}", "still").stdout.strip()
    assert dockyard.fails("top", "still").stderr == (
        f"Error: Container {container_id} is not running\n"
    )


def test_sig_proxy_resumes_a_paused_foreground_container(dockyard: Dockyard, busybox: str) -> None:
    """``run``'s sig-proxy: the signal it passes on ends a paused container too."""
    script = "trap 'exit 3' INT; echo up; while true; do sleep 0.05; done"
    argv = [DOCKYARD, "run", "--name", "fg", busybox, "sh", "-c", script]
    pipe = subprocess.PIPE
    proc = subprocess.Popen(argv, env=dockyard.env(), stdout=pipe, stderr=pipe)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        pid = int(dockyard.run("inspect", "-f", "{{.State.Pid}}", "fg").stdout)
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:  # the container's init
            assert cmdline.read().split(b"\0")[:2] == [b"sh", b"-c"]
        dockyard.run("pause", "fg")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        dockyard.run("rm", "-f", "fg", check=False)
