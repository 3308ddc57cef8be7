"""Build tar entry headers (PAX format) as bytes, as ``tarfile`` would, only faster.

``tarfile.TarInfo.tobuf`` copies the TarInfo, builds a dictionary and encodes
every field through helpers: about 30 µs an entry, most of a commit of many
small files. Here one ``struct`` pack makes the ustar block. The output is byte
for byte what ``tarfile`` writes with ``format=PAX_FORMAT`` and no user or group
names (the tests check it): a PAX extended header (``././@PaxHeader``) first
when a name is too long or not ASCII, a number too large for its field, or
extra records (xattrs) are given.
"""

from __future__ import annotations

import struct
import tarfile
import zlib
from collections.abc import Sequence

BLOCK = 512
RECORD = 20 * BLOCK  # tarfile pads the archive to whole records, as tar(1) does
_USTAR = struct.Struct("100s8s8s8s12s12s8sc100s8s32s32s8s8s155s12x")
_MAGIC = b"ustar\x0000"
_NO_DEVICE = bytes(8)
_BLANK_CHECKSUM = b" " * 8
_MAX_ID = 8**7  # uid, gid: 7 octal digits
_MAX_NUMBER = 8**11  # size, mtime: 11 octal digits
_PAX_NAME = b"././@PaxHeader"
_DEVICE_TYPES = (tarfile.CHRTYPE, tarfile.BLKTYPE)

PaxRecords = Sequence[tuple[bytes, bytes]]


def entry_header(
    name: bytes,
    kind: bytes,
    mode: int,
    uid: int,
    gid: int,
    size: int,
    mtime: int,
    linkname: bytes = b"",
    device: tuple[int, int] = (0, 0),
    records: PaxRecords = (),
) -> bytes:
    """The header block(s) of one entry; names are raw bytes (a directory's ends in ``/``).

    ``records`` are extra PAX (keyword, value) pairs written first, e.g. xattrs.
    """
    pax = list(records)
    if len(name) > 100 or not name.isascii():
        pax.append((b"path", name))
    if len(linkname) > 100 or not linkname.isascii():
        pax.append((b"linkpath", linkname))
    uid, gid, size, mtime = (
        _fit(pax, b"uid", uid, _MAX_ID),
        _fit(pax, b"gid", gid, _MAX_ID),
        _fit(pax, b"size", size, _MAX_NUMBER),
        _fit(pax, b"mtime", mtime, _MAX_NUMBER),
    )
    block = _ustar(_ascii(name), kind, mode, uid, gid, size, mtime, _ascii(linkname), device)
    return _pax_header(pax) + block if pax else block


def block_sum(block: bytes) -> int:
    """The sum of the bytes of a 512-byte header block (its checksum, 8 blanks aside).

    adler32's low half is 1 + the byte sum modulo 65521: exact for 256 bytes (at most
    65,280), so two halves give the sum five times as fast as ``sum()``, once per entry.
    """
    return (zlib.adler32(block[:256]) & 0xFFFF) + (zlib.adler32(block[256:]) & 0xFFFF) - 2


def _fit(pax: list[tuple[bytes, bytes]], key: bytes, value: int, limit: int) -> int:
    """``value`` if its field holds it, else 0 with the value moved to a PAX record."""
    if 0 <= value < limit:
        return value
    pax.append((key, b"%d" % value))
    return 0


def _ascii(name: bytes) -> bytes:
    """The ustar field of a name: bytes outside ASCII become ``?`` (tarfile's "replace")."""
    if name.isascii():
        return name
    return name.decode("utf-8", "surrogateescape").encode("ascii", "replace")


def _ustar(
    name: bytes,
    kind: bytes,
    mode: int,
    uid: int,
    gid: int,
    size: int,
    mtime: int,
    linkname: bytes,
    device: tuple[int, int],
) -> bytes:
    if kind in _DEVICE_TYPES:
        if not all(0 <= number < _MAX_ID for number in device):
            raise ValueError(f"device number {device} does not fit a tar header")
        major, minor = b"%07o\0" % device[0], b"%07o\0" % device[1]
    else:
        major = minor = _NO_DEVICE
    block = _USTAR.pack(
        name,
        b"%07o\0" % (mode & 0o7777),
        b"%07o\0" % uid,
        b"%07o\0" % gid,
        b"%011o\0" % size,
        b"%011o\0" % mtime,
        _BLANK_CHECKSUM,
        kind,
        linkname,
        _MAGIC,
        b"",
        b"",
        major,
        minor,
        b"",
    )
    return b"%s%06o\0 %s" % (block[:148], block_sum(block), block[156:])


def _pax_header(pax: list[tuple[bytes, bytes]]) -> bytes:
    """A ``././@PaxHeader`` entry holding ``pax``, as ``tarfile`` spells it."""
    binary = not all(_is_utf8(value) for _, value in pax)
    records = [b"21 hdrcharset=BINARY\n"] if binary else []
    for keyword, value in pax:
        length = len(keyword) + len(value) + 3  # ' ', '=' and '\n'
        total = 0
        while (grown := length + len(str(total))) != total:  # the length counts itself
            total = grown
        records.append(b"%d %s=%s\n" % (total, keyword, value))
    data = b"".join(records)
    header = _ustar(_PAX_NAME, tarfile.XHDTYPE, 0, 0, 0, len(data), 0, b"", (0, 0))
    return header + data + bytes(-len(data) % BLOCK)


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
