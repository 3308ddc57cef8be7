"""Content digests (``algorithm:hex``) and streaming hashing.

``hashlib`` and the hashing thread's modules are imported when something is hashed:
``run`` parses digests but hashes nothing, and they cost it about 3 ms to import.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from dockyard.errors import DigestMismatch, InvalidDigest

if TYPE_CHECKING:
    import hashlib
    import queue
    import threading

_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
CHUNK = 1 << 20


class Digest(NamedTuple):
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
        import hashlib

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
        import hashlib

        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hash.hexdigest())


class ThreadedHasher:
    """A Hasher that hashes large streams on a thread of its own.

    hashlib releases the GIL for big chunks, so the hash of a layer runs beside the
    reads and writes of the thread that unpacks it instead of after them (sha256 of a
    100 MB layer is about 60 ms here). A chunk is hashed after ``update`` returns, so
    buffers that are not ``bytes`` are copied first. Small streams never start the thread.
    """

    _THREAD_AFTER = 1 << 20  # bytes hashed inline before the thread is worth starting
    _QUEUED_CHUNKS = 16  # bounds the memory held by chunks not yet hashed
    _BATCH = 256 << 10  # bytes handed to the thread at a time

    def __init__(self, algorithm: str = "sha256") -> None:
        import hashlib

        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        self._result: Digest | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._failure: list[BaseException] = []

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._result is not None:
            raise ValueError("update after digest()")
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)  # the caller may reuse its buffer once we return
        self.size += len(chunk)
        if self._queue is None and self.size > self._THREAD_AFTER:
            self._start()
        if self._queue is None:
            self._hash.update(chunk)
            return
        # Small chunks (the many small files of a layer) go over in batches: a queue
        # hand-off per chunk would cost more than hashing it.
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        assert self._queue is not None
        if self._pending:
            pending = self._pending
            self._queue.put(pending[0] if len(pending) == 1 else b"".join(pending))
            self._pending, self._pending_size = [], 0

    def _start(self) -> None:
        import queue
        import threading
        import weakref

        chunks: queue.Queue[bytes | None] = queue.Queue(self._QUEUED_CHUNKS)
        thread = threading.Thread(target=_hash_chunks,
                                  args=(self._hash, chunks, self._failure),
                                  name="hasher", daemon=True)
        thread.start()
        self._queue, self._thread = chunks, thread
        # An abandoned hasher (an unpack that failed) still ends its thread.
        weakref.finalize(self, chunks.put, None)

    def close(self) -> None:
        """Stop the thread once the queued chunks are hashed."""
        if self._thread is None or self._queue is None:
            return
        if sys.is_finalizing() or not self._thread.is_alive():
            self._queue = None  # a daemon thread frozen at exit would never answer
            return
        self._flush()
        self._queue.put(None)
        self._thread.join()
        self._queue = None

    def digest(self) -> Digest:
        if self._result is None:
            self.close()
            if self._failure:
                raise self._failure[0]
            self._result = Digest(self.algorithm, self._hash.hexdigest())
        return self._result


def _hash_chunks(
    hasher: hashlib._Hash, chunks: queue.Queue[bytes | None], failure: list[BaseException]
) -> None:
    # Keeps taking chunks after a failure (say MemoryError), so update() never blocks
    # on a full queue; digest() raises the failure.
    while (chunk := chunks.get()) is not None:
        if not failure:
            try:
                hasher.update(chunk)
            except BaseException as exc:  # noqa: BLE001 — raised by digest()
                failure.append(exc)


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
