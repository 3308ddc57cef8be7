"""Values no syscall can take, and oversized headers, are bad archives, not crashes."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import InvalidArchive
from dockyard.layer.unpack import unpack_layer


def _tar(pax: dict[str, str], kind: bytes = tarfile.REGTYPE) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("plain")
        info.type = kind
        info.pax_headers = pax
        tar.addfile(info, io.BytesIO(b""))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "pax",
    [{"path": "x\x00y"}, {"uid": str(1 << 40)}, {"uid": "-5"}, {"mtime": "1" + "0" * 30}],
    ids=["nul-in-name", "huge-uid", "negative-uid", "huge-mtime"],
)
def test_unusable_values_are_invalid_archives(tmp_path: Path, pax: dict[str, str]) -> None:
    dest = tmp_path / "layer"
    dest.mkdir()
    with pytest.raises(InvalidArchive, match="invalid"):
        unpack_layer(io.BytesIO(_tar(pax)), dest)


def test_global_headers_are_bounded(tmp_path: Path) -> None:
    """Global PAX records pile up across the archive: their total is capped."""
    globals_ = b"".join(
        tarfile.TarInfo.create_pax_global_header({f"junk{n}": "x" * (4 << 20)})
        for n in range(5)
    )
    dest = tmp_path / "layer"
    dest.mkdir()
    with pytest.raises(InvalidArchive, match="global headers"):
        unpack_layer(io.BytesIO(globals_ + _tar({})), dest)
