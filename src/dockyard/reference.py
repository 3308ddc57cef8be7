"""Image references with Docker's normalisation rules.

``ubuntu`` -> ``docker.io/library/ubuntu:latest``; ``host:port/ns/repo:tag``;
``name@sha256:…``. The grammar is distribution/reference's.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from dockyard.digest import Digest
from dockyard.errors import InvalidDigest, InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
REPOSITORY_PATH = rf"{PATH_COMPONENT}(?:/{PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

REPOSITORY_RE = re.compile(rf"^{REPOSITORY_PATH}\Z")
TAG_RE = re.compile(rf"^{TAG}\Z", re.ASCII)
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}\Z")
# ASCII: a tag's \w must not admit letters of other scripts.
_REFERENCE_RE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{REPOSITORY_PATH})(?::(?P<tag>{TAG}))?(?:@(?P<digest>{_DIGEST}))?\Z",
    re.ASCII,
)
_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}\Z")


class Reference(NamedTuple):
    """A normalised image reference: domain, path and an optional tag and digest."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """The full repository name, e.g. ``docker.io/library/ubuntu``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The name as docker prints it, e.g. ``ubuntu`` or ``127.0.0.1:5000/mhk/ubuntu``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX) and self.path.count("/") == 1:
            return self.path[len(OFFICIAL_REPO_PREFIX) :]
        return self.path

    def with_default_tag(self) -> Reference:
        """Add ``:latest`` when neither a tag nor a digest is given."""
        if self.tag is None and self.digest is None:
            return self._replace(tag=DEFAULT_TAG)
        return self

    def with_tag(self, tag: str) -> Reference:
        return self._replace(tag=tag, digest=None)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def familiar(self) -> str:
        """The whole reference in docker's short form (``ubuntu:latest``)."""
        text = self.familiar_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    # Only a dot, a port or "localhost" makes a host; an upper-case first part is a
    # (refused) Docker Hub namespace, as current docker reads it.
    is_domain = sep and ("." in first or ":" in first or first == "localhost")
    if not is_domain:
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_reference(text: str) -> Reference:
    """Parse and normalise a reference as ``docker pull`` and ``docker tag`` do."""
    if not text:
        raise InvalidReference("invalid reference format: empty reference")
    if _IDENTIFIER_RE.match(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    match = _REFERENCE_RE.match(text)
    if match is None:
        lowered = _REFERENCE_RE.match(text.lower())
        if lowered is not None:
            raise InvalidReference(
                f"invalid reference format: repository name ({text}) must be lowercase"
            )
        raise InvalidReference(f"invalid reference format: {text!r}")
    domain, path = _split_domain(match.group("name"))
    if path != path.lower() or not REPOSITORY_RE.match(path):
        raise InvalidReference(
            f"invalid reference format: repository name ({path}) must be lowercase"
        )
    if len(f"{domain}/{path}") > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"invalid reference format: repository name must not be more than "
            f"{NAME_TOTAL_LENGTH_MAX} characters"
        )
    digest = None
    if match.group("digest"):
        try:
            digest = Digest.parse(match.group("digest"))
        except InvalidDigest as exc:
            raise InvalidReference(f"invalid reference format: {exc}") from exc
    return Reference(domain, path, match.group("tag"), digest)


def parse_tagged(text: str) -> Reference:
    """Parse a reference for tagging: a digest is refused and ``:latest`` is implied."""
    ref = parse_reference(text)
    if ref.digest is not None:
        raise InvalidReference(f"refusing to create a tag with a digest reference: {text}")
    return ref.with_default_tag()


def is_valid_repository(name: str) -> bool:
    """A repository name as the distribution spec allows it (no domain)."""
    return bool(REPOSITORY_RE.match(name)) and len(name) <= NAME_TOTAL_LENGTH_MAX


def is_valid_tag(tag: str) -> bool:
    return bool(TAG_RE.match(tag))
