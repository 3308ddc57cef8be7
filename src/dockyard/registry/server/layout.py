"""CNCF distribution's storage layout (registry/storage/paths.go), as driver paths.

    /docker/registry/v2/
      blobs/<alg>/<hex[:2]>/<hex>/data                      content, shared by all repos
      repositories/<name>/
        _layers/<alg>/<hex>/link                            "<alg>:<hex>": blob is in repo
        _manifests/revisions/<alg>/<hex>/link               manifest is in repo
        _manifests/tags/<tag>/current/link                  what the tag points at now
        _manifests/tags/<tag>/index/<alg>/<hex>/link        every digest the tag has had
        _uploads/<uuid>/data, startedat, hashstates/<alg>/<offset>
        _referrers/<alg>/<subject-hex>/<alg>/<hex>/link     dockyard only: referrers API

Distribution skips ``_``-prefixed directories it does not know, so the
``_referrers`` extension is invisible to it. Every function re-checks its inputs:
a name that got past the HTTP layer unchecked still cannot form a path outside the
tree.
"""

from __future__ import annotations

import re

from dockyard.digest import Digest
from dockyard.errors import InvalidReference
from dockyard.reference import is_valid_repository

ROOT = "/docker/registry/v2"
BLOBS = f"{ROOT}/blobs"
REPOSITORIES = f"{ROOT}/repositories"

TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")
UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _repo(name: str) -> str:
    if not is_valid_repository(name):
        raise InvalidReference(f"invalid repository name: {name!r}")
    return f"{REPOSITORIES}/{name}"


def _tag(tag: str) -> str:
    if not TAG_RE.match(tag):
        raise InvalidReference(f"invalid tag: {tag!r}")
    return tag


def _upload(upload_id: str) -> str:
    if not UPLOAD_ID_RE.match(upload_id):
        raise InvalidReference(f"invalid upload id: {upload_id!r}")
    return upload_id


def blob_dir(digest: Digest) -> str:
    return f"{BLOBS}/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def blob_data(digest: Digest) -> str:
    return f"{blob_dir(digest)}/data"


def repository(name: str) -> str:
    return _repo(name)


def layers(name: str, algorithm: str = "sha256") -> str:
    return f"{_repo(name)}/_layers/{algorithm}"


def layer_link(name: str, digest: Digest) -> str:
    return f"{_repo(name)}/_layers/{digest.algorithm}/{digest.hex}/link"


def revisions(name: str, algorithm: str = "sha256") -> str:
    return f"{_repo(name)}/_manifests/revisions/{algorithm}"


def revision_link(name: str, digest: Digest) -> str:
    return f"{_repo(name)}/_manifests/revisions/{digest.algorithm}/{digest.hex}/link"


def tags(name: str) -> str:
    return f"{_repo(name)}/_manifests/tags"


def tag_dir(name: str, tag: str) -> str:
    return f"{_repo(name)}/_manifests/tags/{_tag(tag)}"


def tag_current_link(name: str, tag: str) -> str:
    return f"{tag_dir(name, tag)}/current/link"


def tag_index_link(name: str, tag: str, digest: Digest) -> str:
    return f"{tag_dir(name, tag)}/index/{digest.algorithm}/{digest.hex}/link"


def uploads(name: str) -> str:
    return f"{_repo(name)}/_uploads"


def upload_dir(name: str, upload_id: str) -> str:
    return f"{_repo(name)}/_uploads/{_upload(upload_id)}"


def upload_data(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/data"


def upload_started_at(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/startedat"


def upload_lock(name: str, upload_id: str) -> str:
    """dockyard's own: held by the one request writing to or closing the session."""
    return f"{upload_dir(name, upload_id)}/lock"


def upload_writer_token(name: str, upload_id: str) -> str:
    """dockyard's own: changed by every writer, so a process's remembered hash is
    trusted only if no one else has written since."""
    return f"{upload_dir(name, upload_id)}/writer"


def referrers(name: str, subject: Digest) -> str:
    return f"{_repo(name)}/_referrers/{subject.algorithm}/{subject.hex}"


def referrer_link(name: str, subject: Digest, referrer: Digest) -> str:
    return f"{referrers(name, subject)}/{referrer.algorithm}/{referrer.hex}/link"


def link_content(digest: Digest) -> bytes:
    return str(digest).encode()


def parse_link(content: bytes) -> Digest:
    return Digest.parse(content.decode("ascii", "replace").strip())
