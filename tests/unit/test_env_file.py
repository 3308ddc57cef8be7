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


def test_a_name_with_whitespace_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("BAD NAME=1\n")
    with pytest.raises(ConfigError, match="variable 'BAD NAME' contains whitespaces"):
        read_env_file(str(env_file))
