"""The attach socket's framing, addresses and docker's ``--detach-keys`` syntax (no root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import AttachProtocolError, ConfigError
from dockyard.runtime import attach
from dockyard.runtime.console import parse_detach_keys


def test_frames_survive_any_chunking() -> None:
    stream = (
        attach.frame(attach.STDOUT, b"hello\n")
        + attach.resize_frame(24, 80)
        + attach.frame(attach.STDIN_EOF)
        + attach.int_frame(attach.EXIT, -1)
    )
    reader = attach.FrameReader()
    frames = [f for i in range(len(stream)) for f in reader.feed(stream[i : i + 1])]
    assert [kind for kind, _ in frames] == [attach.STDOUT, attach.RESIZE, attach.STDIN_EOF,
                                            attach.EXIT]  # fmt: skip
    assert frames[0][1] == b"hello\n"
    assert attach.parse_resize(frames[1][1]) == (24, 80)
    assert attach.parse_int(frames[3][1]) == -1


def test_header_is_dockers_stdcopy_header() -> None:
    assert attach.frame(attach.STDERR, b"x") == b"\x02\x00\x00\x00\x00\x00\x00\x01x"


def test_malformed_frames_are_refused() -> None:
    with pytest.raises(AttachProtocolError):
        attach.FrameReader().feed(attach.HEADER.pack(attach.STDIN, attach.MAX_PAYLOAD + 1))
    with pytest.raises(AttachProtocolError):
        attach.parse_resize(b"\x00")
    with pytest.raises(AttachProtocolError):
        attach.parse_int(b"")


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        ("ctrl-p,ctrl-q", b"\x10\x11"),
        ("ctrl-a,x", b"\x01x"),
        ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x00\x1b\x1c\x1d\x1e\x1f"),
        ("CTRL-Z", b"\x1a"),
        ("", b""),
    ],
)
def test_detach_keys_syntax(spec: str, keys: bytes) -> None:
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-1", "ctrl-", "foo", "ctrl-p,,"])
def test_bad_detach_keys(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_detach_keys(spec)


def test_socket_in_a_directory_deeper_than_a_socket_address(tmp_path: Path) -> None:
    directory = tmp_path / ("d" * 60) / ("e" * 60)
    directory.mkdir(parents=True)
    assert len(str(attach.socket_path(directory))) > 108
    assert attach.connect(directory) is None
    with attach.listen(directory) as listener:
        client = attach.connect(directory)
        assert client is not None
        conn, _ = listener.accept()
        with client, conn:
            client.sendall(attach.frame(attach.STDIN, b"x"))
            assert attach.FrameReader().feed(conn.recv(64)) == [(attach.STDIN, b"x")]
    assert attach.socket_path(directory).is_socket()  # the monitor removes it at exit
    assert attach.connect(directory) is None  # nobody listening: refused, not an error
    assert attach.connect(tmp_path / "missing") is None
