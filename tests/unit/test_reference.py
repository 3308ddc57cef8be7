from __future__ import annotations

import pytest

from dockyard.errors import InvalidReference
from dockyard.reference import parse_reference, parse_tagged

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("ubuntu", "docker.io/library/ubuntu", "ubuntu"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("mhk/ubuntu:1.3", "docker.io/mhk/ubuntu:1.3", "mhk/ubuntu:1.3"),
        ("docker.io/library/busybox", "docker.io/library/busybox", "busybox"),
        ("index.docker.io/foo/bar", "docker.io/foo/bar", "foo/bar"),
        ("127.0.0.1:5000/mhk/ubuntu:1.3", "127.0.0.1:5000/mhk/ubuntu:1.3",
         "127.0.0.1:5000/mhk/ubuntu:1.3"),
        ("localhost/app", "localhost/app", "localhost/app"),
        ("registry.cn-hangzhou.aliyuncs.com/mhk/myubuntu:1.1",
         "registry.cn-hangzhou.aliyuncs.com/mhk/myubuntu:1.1",
         "registry.cn-hangzhou.aliyuncs.com/mhk/myubuntu:1.1"),
        (f"busybox@sha256:{HEX}", f"docker.io/library/busybox@sha256:{HEX}",
         f"busybox@sha256:{HEX}"),
        ("[::1]:5000/a/b:c", "[::1]:5000/a/b:c", "[::1]:5000/a/b:c"),
        ("a__b/c-d.e:Tag_1.x", "docker.io/a__b/c-d.e:Tag_1.x", "a__b/c-d.e:Tag_1.x"),
    ],
)
def test_normalisation(text: str, full: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert str(ref) == full
    assert ref.familiar == familiar


def test_default_tag_is_latest() -> None:
    assert str(parse_tagged("busybox")) == "docker.io/library/busybox:latest"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Ubuntu", "must be lowercase"),
        ("mhk/Ubuntu:1", "must be lowercase"),
        ("Upper/case", "must be lowercase"),
        ("ubuntu:", "invalid reference format"),
        ("-ubuntu", "invalid reference format"),
        ("ubuntu::1", "invalid reference format"),
        ("a/../b", "invalid reference format"),
        ("ubuntu@sha256:abc", "invalid reference format"),
        ("ubuntu:" + "t" * 129, "invalid reference format"),
        (HEX, "cannot specify 64-byte hexadecimal strings"),
        ("a/" * 130 + "b", "must not be more than 255 characters"),
    ],
)
def test_invalid_references_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message):
        parse_reference(text)


def test_tagging_with_a_digest_is_refused() -> None:
    with pytest.raises(InvalidReference, match="digest"):
        parse_tagged(f"busybox@sha256:{HEX}")
