from __future__ import annotations

import gc
import hashlib
import io
import threading

import pytest

from dockyard.digest import Digest, ThreadedHasher, chain_ids, digest_stream
from dockyard.errors import DigestMismatch, InvalidDigest

EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_parse_and_print_round_trip() -> None:
    digest = Digest.parse(EMPTY)
    assert str(digest) == EMPTY
    assert digest.short == "e3b0c44298fc"
    assert Digest.of_bytes(b"") == digest


@pytest.mark.parametrize(
    "text",
    ["sha256:abc", "sha256:" + "g" * 64, "md5:" + "a" * 32, "sha256:../../etc", "nocolon",
     "sha256:" + "A" * 64, "sha512:" + "a" * 64],
)
def test_malformed_digests_are_refused(text: str) -> None:
    with pytest.raises(InvalidDigest):
        Digest.parse(text)


def test_stream_digest_counts_bytes() -> None:
    digest, size = digest_stream(io.BytesIO(b"x" * 3_000_000))
    assert size == 3_000_000
    assert digest.hex == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_verify_names_both_digests() -> None:
    with pytest.raises(DigestMismatch, match=r"expected sha256:e3b0.*got sha256:"):
        Digest.parse(EMPTY).verify(b"not empty")


def test_chain_ids_follow_the_image_spec() -> None:
    a, b, c = (Digest.of_bytes(x) for x in (b"a", b"b", b"c"))
    chains = chain_ids([a, b, c])
    assert chains[0] == a
    assert chains[1] == Digest.of_bytes(f"{a} {b}".encode())
    assert chains[2] == Digest.of_bytes(f"{chains[1]} {c}".encode())


@pytest.mark.parametrize("sizes", [[], [10, 20], [1 << 20, 1 << 20, 5, 3 << 20]])
def test_threaded_hasher_matches_hashlib(sizes: list[int]) -> None:
    chunks = [bytes([n % 251]) * size for n, size in enumerate(sizes)]
    hasher = ThreadedHasher()
    for chunk in chunks:
        hasher.update(chunk)
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()
    assert hasher.digest() == Digest("sha256", expected)
    assert hasher.digest() == Digest("sha256", expected)  # asking twice is fine
    assert hasher.size == sum(sizes)


def test_threaded_hasher_copies_a_reused_buffer() -> None:
    buffer = bytearray(b"a" * (2 << 20))
    hasher = ThreadedHasher()
    hasher.update(memoryview(buffer))
    buffer[:] = b"b" * len(buffer)  # the caller reuses its buffer at once
    hasher.update(memoryview(buffer))
    assert hasher.digest().hex == hashlib.sha256(b"a" * (2 << 20) + b"b" * (2 << 20)).hexdigest()


def test_an_abandoned_threaded_hasher_ends_its_thread() -> None:
    before = threading.active_count()
    hasher = ThreadedHasher()
    hasher.update(b"x" * (3 << 20))
    assert threading.active_count() == before + 1
    thread = hasher._thread
    del hasher
    gc.collect()
    assert thread is not None
    thread.join(timeout=10)
    assert not thread.is_alive()
