"""docker's ``--flag=true|false`` for the boolean flags of run/create, before the image only."""

from __future__ import annotations

import pytest

from dockyard.cli.run import run
from dockyard.cli.run_boolflags import _bool_flag_values


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--privileged=true", "img"], ["--privileged", "img"]),
        (["--privileged=false", "img"], ["img"]),
        (["--rm=true", "-d=false", "img", "x"], ["--rm", "img", "x"]),
        (["img", "echo", "--privileged=true"], ["img", "echo", "--privileged=true"]),
        (["-v", "/h:/c", "--privileged=1", "img"], ["-v", "/h:/c", "--privileged", "img"]),
        (["-itv", "/h:/c", "img", "--rm=true"], ["-itv", "/h:/c", "img", "--rm=true"]),
        (["--name", "--privileged=true", "img"], ["--name", "--privileged=true", "img"]),
        (["--privileged=maybe", "img"], ["--privileged=maybe", "img"]),  # click refuses it
    ],
)
def test_bool_flag_values(args: list[str], expected: list[str]) -> None:
    assert _bool_flag_values(run, args) == expected
