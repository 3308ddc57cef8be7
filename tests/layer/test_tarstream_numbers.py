"""Numeric header fields read as GNU tar and Go read them, on every path of the decoder."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockyard.errors import InvalidArchive
from dockyard.layer.tarheader import block_sum
from dockyard.layer.tarstream import TarReader


def header(size_field: bytes, uid_field: bytes | None = None) -> bytes:
    info = tarfile.TarInfo("f")
    info.size = 3
    block = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT))
    block[124:136] = size_field
    if uid_field is not None:
        block[108:116] = uid_field
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


BASE256_UID = bytes([0x80, 0, 0, 0, 0, 0x40, 0, 0])  # 4194304: too large for octal


@pytest.mark.parametrize(
    "size_field",
    [b"00000000003\0", b"\x0000000000003", b"  000000003 ", b"3\0garbage\0\0\0"],
)
@pytest.mark.parametrize("uid_field", [None, BASE256_UID])
def test_size_fields_read_the_same_whatever_the_other_fields(
    size_field: bytes, uid_field: bytes | None
) -> None:
    tar = header(size_field, uid_field) + b"abc".ljust(512, b"\0") + bytes(1024)
    reader = TarReader(io.BytesIO(tar))
    member = next(iter(reader))
    assert member.size == 3
    assert b"".join(bytes(chunk) for chunk in reader.data()) == b"abc"
    assert member.uid == (4194304 if uid_field else 0)


@pytest.mark.parametrize("seed", range(20))
def test_the_checksum_sum_is_the_plain_byte_sum(seed: int) -> None:
    import random

    block = random.Random(seed).randbytes(512)
    assert block_sum(block) == sum(block)


@pytest.mark.parametrize("fill", [0x00, 0x7F, 0x80, 0xFF])
def test_the_checksum_sum_holds_at_the_extremes(fill: int) -> None:
    block = bytes([fill]) * 512  # 0xFF: 130,560, twice adler32's modulus
    assert block_sum(block) == sum(block)


def test_a_header_with_a_signed_checksum_is_still_read() -> None:
    """Old tars summed bytes as signed chars: a name with bytes above 127 tells them apart."""
    info = tarfile.TarInfo("f\xe9")
    block = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT, encoding="latin-1"))
    block[148:156] = b" " * 8
    signed = sum(b - 256 if b > 127 else b for b in block)
    block[148:156] = b"%06o\0 " % signed
    members = list(TarReader(io.BytesIO(bytes(block) + bytes(1024))))
    assert [m.size for m in members] == [0]


@pytest.mark.parametrize("size_field", [b"\t0000000003\0", b"0000000_003\0", b"00000003 x\0\0"])
@pytest.mark.parametrize("uid_field", [None, BASE256_UID])
def test_a_number_with_what_go_and_gnu_refuse_is_a_bad_header(
    size_field: bytes, uid_field: bytes | None
) -> None:
    """int() would take a tab, a newline or an underscore: tar readers do not."""
    tar = header(size_field, uid_field) + b"abc".ljust(512, b"\0") + bytes(1024)
    with pytest.raises(InvalidArchive, match="bad number"):
        list(TarReader(io.BytesIO(tar)))
