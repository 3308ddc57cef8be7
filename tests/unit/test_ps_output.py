"""``top``'s reading of the host's ps output, as moby's parsePSOutput reads it."""

from __future__ import annotations

import pytest

from dockyard.engine.container_top import _check_ps_args, parse_ps
from dockyard.errors import ConfigError, DockyardError

PS_EF = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 04:00 ?        00:00:02 /sbin/init
root         900       1  0 04:10 ?        00:00:00 sh -c while  true; do sleep 1; done
root         901     900  0 04:10 ?        00:00:00 sleep 1
"""


def test_rows_of_the_containers_pids_with_the_command_whole() -> None:
    titles, rows = parse_ps(PS_EF, {900, 901})
    assert titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert rows == [
        ["root", "900", "1", "0", "04:10", "?", "00:00:00", "sh -c while true; do sleep 1; done"],
        ["root", "901", "900", "0", "04:10", "?", "00:00:00", "sleep 1"],
    ]


def test_thread_rows_follow_their_process_with_m() -> None:
    output = """USER  PID %CPU COMMAND
root  900  0.0 sh
root    -  0.0 -
root    1  0.0 init
root    -  0.0 -
"""
    assert parse_ps(output, {900})[1] == [["root", "900", "0.0", "sh"], ["root", "-", "0.0", "-"]]


def test_unreadable_ps_output_is_an_error() -> None:
    with pytest.raises(DockyardError, match="Couldn't find PID field in ps output"):
        parse_ps("COMMAND\nsh\n", {1})
    with pytest.raises(DockyardError, match="Unexpected pid 'Nov'"):
        parse_ps("STARTED PID\nSat Nov 28 1\n", {1})


def test_a_column_renamed_pid_is_refused() -> None:
    with pytest.raises(ConfigError, match='specifying "user=PID,pid,comm" is not allowed'):
        _check_ps_args("-o user=PID,pid,comm")
    _check_ps_args("-o pid=PID,comm")  # pid itself may be renamed
    _check_ps_args("-ef")
