"""``top``: the container's processes, as the host's ``ps`` shows them.

As docker's daemon does: run ``ps`` with the user's options (``-ef`` by default) on
the host, and keep the header and the lines whose PID is one of the container's
(``runtime ps``).
"""

from __future__ import annotations

import subprocess

from dockyard.engine.container_ops import _runtime, status_of
from dockyard.errors import Conflict, DockyardError
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

DEFAULT_PS_ARGS = ["-ef"]


def top(store: StoreView, record: ContainerRecord, ps_args: list[str]) -> tuple[
        list[str], list[list[str]]]:  # fmt: skip
    """(ps's titles, one row of fields per process of the container)."""
    state = status_of(store, record)
    if not state.running:
        raise Conflict(f"Container {record.id} is not running")
    pids = set(_runtime(store, record, state).pids(record.id))
    try:
        done = subprocess.run(["ps", *(ps_args or DEFAULT_PS_ARGS)], capture_output=True,
                              text=True, check=False, timeout=60)  # fmt: skip
    except OSError as exc:
        raise DockyardError(f"ps: {exc}") from exc
    if done.returncode != 0:
        raise DockyardError(f"Error running ps: exit status {done.returncode}: "
                            f"{done.stderr.strip()}")  # fmt: skip
    return parse_ps(done.stdout, pids)


def parse_ps(output: str, pids: set[int]) -> tuple[list[str], list[list[str]]]:
    """The titles and the rows of ``pids``; the last column (the command) keeps its spaces."""
    lines = output.splitlines()
    if not lines:
        raise DockyardError("ps printed nothing")
    titles = lines[0].split()
    if "PID" not in titles:
        raise DockyardError("Couldn't find PID field in ps output")
    column = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(maxsplit=len(titles) - 1)
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
            rows.append(fields)
    return titles, rows
