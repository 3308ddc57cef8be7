"""--env-file read as docker's CLI reads it (opts/file.go parseKeyValueFile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.containers import read_env_file
from dockyard.errors import ConfigError


def test_bom_leading_space_comments_and_values_kept_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FROM_HOST", "h")
    monkeypatch.delenv("NOT_SET", raising=False)
    env_file = tmp_path / "env"
    env_file.write_bytes(
        "\ufeffFIRST=1\n  LEAD=x\n# a comment\n\n   # indented comment\nSPACE= a b \n"
        "FROM_HOST\nNOT_SET\nEMPTY=\n".encode()
    )
    assert read_env_file(str(env_file)) == [
        "FIRST=1", "LEAD=x", "SPACE= a b ", "FROM_HOST=h", "NOT_SET", "EMPTY=",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "message"),
    [("BAD NAME=1", "variable 'BAD NAME' contains whitespaces"),
     ("=value", "no variable name on line '=value'")],
)  # fmt: skip
def test_a_bad_name_is_refused(tmp_path: Path, line: str, message: str) -> None:
    env_file = tmp_path / "env"
    env_file.write_text(line + "\n")
    with pytest.raises(ConfigError, match=message):
        read_env_file(str(env_file))
