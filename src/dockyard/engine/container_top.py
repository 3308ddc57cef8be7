"""``top``: the container's processes, as the host's ``ps`` shows them.

As docker's daemon does: run ``ps`` with the user's options (``-ef`` by default) on
the host, and keep the header and the lines whose PID is one of the container's
(``runtime ps``).
"""

from __future__ import annotations

import os
import re
import subprocess

from dockyard.engine.container_ops import _runtime, status_of
from dockyard.errors import ConfigError, Conflict, DockyardError
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

DEFAULT_PS_ARGS = ["-ef"]


def top(store: StoreView, record: ContainerRecord, ps_args: list[str]) -> tuple[
        list[str], list[list[str]]]:  # fmt: skip
    """(ps's titles, one row of fields per process of the container)."""
    state = status_of(store, record)
    if not state.running:
        raise Conflict(f"Container {record.id} is not running")
    args = ps_args or DEFAULT_PS_ARGS
    _check_ps_args(" ".join(args))
    pids = set(_runtime(store, record, state).pids(record.id))
    # ps's own environment: COLUMNS would cut the command, PS_FORMAT change the columns.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    try:
        done = subprocess.run(["ps", *args], capture_output=True, text=True, env=env,
                              check=False, timeout=60)  # fmt: skip
    except OSError as exc:
        raise DockyardError(f"ps: {exc}") from exc
    if done.returncode != 0:
        first = done.stderr.strip().splitlines()[:1]
        raise DockyardError(f"ps: {first[0] if first else f'exit status {done.returncode}'}")
    return parse_ps(done.stdout, pids)


_PID_ALIAS = re.compile(r"\s+(\S*)=\s*(PID\S*)")


def _check_ps_args(joined: str) -> None:
    """moby's validatePSArgs: a column renamed to PID would be taken for the pids."""
    for key, value in _PID_ALIAS.findall(joined):
        if key != "pid":
            raise ConfigError(f'specifying "{key}={value}" is not allowed')


def parse_ps(output: str, pids: set[int]) -> tuple[list[str], list[list[str]]]:
    """moby's parsePSOutput: the titles and the rows of ``pids``, the extra fields of a
    row joined into its last column (the command); with ``m`` a thread's row (PID
    ``-``) follows its process's."""
    lines = output.splitlines()
    if not lines:
        raise DockyardError("ps printed nothing")
    titles = lines[0].split()
    if "PID" not in titles:
        raise DockyardError("Couldn't find PID field in ps output")
    column = titles.index("PID")
    rows: list[list[str]] = []
    in_container = False
    for line in lines[1:]:
        fields = line.split()
        if len(fields) <= column:
            continue
        if fields[column] == "-":
            if in_container:
                rows.append(_row(fields, len(titles)))
            continue
        try:
            pid = int(fields[column])
        except ValueError:
            raise DockyardError(f"Unexpected pid '{fields[column]}'") from None
        in_container = pid in pids
        if in_container:
            rows.append(_row(fields, len(titles)))
    return titles, rows


def _row(fields: list[str], columns: int) -> list[str]:
    return [*fields[: columns - 1], " ".join(fields[columns - 1 :])]
