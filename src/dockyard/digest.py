"""Content digests (``algorithm:hex``) and streaming hashing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.errors import DigestMismatch, InvalidDigest

_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
CHUNK = 1 << 20


@dataclass(frozen=True, order=True, slots=True)
class Digest:
    """A validated content digest such as ``sha256:e3b0…``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``algorithm:hex``; only sha256 and sha512 are accepted."""
        if not _DIGEST_RE.match(text):
            raise InvalidDigest(f"invalid digest format: {text!r}")
        algorithm, hex_part = text.split(":", 1)
        expected = _HEX_LENGTH.get(algorithm)
        if expected is None:
            raise InvalidDigest(f"unsupported digest algorithm: {algorithm!r}")
        if len(hex_part) != expected or not re.fullmatch(r"[0-9a-f]+", hex_part):
            raise InvalidDigest(f"invalid {algorithm} digest: {text!r}")
        return cls(algorithm, hex_part)

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    @property
    def short(self) -> str:
        """The 12-character form docker prints as an ID."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def verify(self, data: bytes, what: str = "content") -> None:
        actual = Digest.of_bytes(data, self.algorithm)
        if actual != self:
            raise DigestMismatch(str(self), str(actual), what)


class Hasher:
    """Accumulates a digest and a byte count over streamed chunks."""

    def __init__(self, algorithm: str = "sha256") -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hash.hexdigest())


def digest_stream(stream: BinaryIO, algorithm: str = "sha256") -> tuple[Digest, int]:
    """Hash a stream to its end; returns the digest and the number of bytes."""
    hasher = Hasher(algorithm)
    while chunk := stream.read(CHUNK):
        hasher.update(chunk)
    return hasher.digest(), hasher.size


def chain_ids(diff_ids: list[Digest]) -> list[Digest]:
    """ChainIDs as the image spec defines them.

    ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
    """
    result: list[Digest] = []
    for diff_id in diff_ids:
        if not result:
            result.append(diff_id)
        else:
            result.append(Digest.of_bytes(f"{result[-1]} {diff_id}".encode()))
    return result
