"""Garbage collection: mark every blob a kept manifest needs, sweep the rest.

Mark, per repository: the roots are the tagged manifests (with ``delete_untagged``)
or every revision; from each root its config, layers and, for an index, its child
manifests recursively; then, until nothing changes, every revision whose ``subject``
is marked (referrers live as long as what they refer to). Revisions not marked are
deleted with ``delete_untagged``. Sweep: every blob nobody marked goes, with its
``_layers`` links.

Safe while the server runs, because nothing young is touched: a revision link, a
blob's data or a ``_layers`` link newer than the grace window (an upload or a push in
flight, a mount) keeps its blob and the revision, and revisions that appear during the
mark phase are marked before the sweep starts. An unreadable manifest stops the run
before anything is deleted: a sweep from an incomplete mark would lose data.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dockyard.digest import Digest
from dockyard.errors import DockyardError, InvalidDigest, StoreError
from dockyard.registry.server import layout
from dockyard.registry.server.storage import PathNotFound, StorageDriver


@dataclass
class GCResult:
    marked: set[Digest] = field(default_factory=set)
    deleted_manifests: list[tuple[str, Digest]] = field(default_factory=list)
    deleted_blobs: list[Digest] = field(default_factory=list)
    kept_recent: list[Digest] = field(default_factory=list)
    freed_bytes: int = 0


def _digests_under(driver: StorageDriver, path: str) -> Iterator[tuple[Digest, str]]:
    """(digest, directory) for every ``<alg>/<hex>`` entry below ``path``."""
    for algorithm in _list(driver, path):
        for hex_part in _list(driver, f"{path}/{algorithm}"):
            try:
                yield Digest.parse(f"{algorithm}:{hex_part}"), f"{path}/{algorithm}/{hex_part}"
            except InvalidDigest:
                continue  # not ours (a temp file): leave it alone


def _list(driver: StorageDriver, path: str) -> list[str]:
    try:
        return sorted(driver.list(path))
    except PathNotFound:
        return []


def _digests_under_shard(
    driver: StorageDriver, algorithm: str, shard: str
) -> Iterator[tuple[Digest, str]]:
    base = f"{layout.BLOBS}/{algorithm}/{shard}"
    for hex_part in _list(driver, base):
        try:
            yield Digest.parse(f"{algorithm}:{hex_part}"), f"{base}/{hex_part}"
        except InvalidDigest:
            continue


def repositories(driver: StorageDriver, base: str = layout.REPOSITORIES) -> Iterator[str]:
    """Every repository name: a directory holding ``_manifests`` or ``_layers``."""
    children = _list(driver, base)
    if "_manifests" in children or "_layers" in children:
        yield base[len(layout.REPOSITORIES) + 1 :]
    for child in children:
        if not child.startswith("_"):
            yield from repositories(driver, f"{base}/{child}")


@dataclass(frozen=True)
class References:
    """What one manifest or index points at."""

    manifests: list[Digest]  # index children
    blobs: list[Digest]  # config and layers
    subject: Digest | None


def manifest_references(raw: bytes) -> References:
    """Read only the descriptors: GC must understand every manifest the server stored,
    including kinds a strict decoder refuses (schema 1 from an old distribution)."""
    try:
        document = json.loads(raw)
        if not isinstance(document, dict):
            raise TypeError("not a JSON object")
        subject = document.get("subject")
        return References(
            manifests=[_digest(d) for d in document.get("manifests") or []],
            blobs=[
                _digest(d)
                for d in [document.get("config"), *(document.get("layers") or [])]
                if d is not None
            ]
            + [_digest({"digest": d.get("blobSum")}) for d in document.get("fsLayers") or []],
            subject=_digest(subject) if subject is not None else None,
        )
    except (ValueError, TypeError, AttributeError, InvalidDigest) as exc:
        raise StoreError(f"malformed manifest: {exc}") from exc


def _digest(descriptor: object) -> Digest:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise TypeError(f"not a descriptor: {descriptor!r}")
    return Digest.parse(descriptor["digest"])


class GarbageCollector:
    """One mark-and-sweep pass over a registry's storage."""

    def __init__(
        self,
        driver: StorageDriver,
        *,
        grace: float = 3600.0,
        delete_untagged: bool = False,
        dry_run: bool = False,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.driver = driver
        self.grace = grace
        self.delete_untagged = delete_untagged
        self.dry_run = dry_run
        self.log = log
        self.started = time.time()
        self.result = GCResult()
        self._documents: dict[Digest, References | None] = {}
        self._seen_revisions: set[tuple[str, Digest]] = set()

    def _young(self, path: str) -> bool:
        try:
            mtime = self.driver.stat(path).mtime_ns / 1e9
        except PathNotFound:
            return False
        return mtime > self.started - self.grace

    def _document(self, digest: Digest) -> References | None:
        """The manifest stored under a digest; None when its blob is gone."""
        if digest not in self._documents:
            try:
                raw = self.driver.get_content(layout.blob_data(digest))
            except PathNotFound:
                self._documents[digest] = None
                return None
            try:
                self._documents[digest] = manifest_references(raw)
            except StoreError as exc:
                raise StoreError(
                    f"cannot read manifest {digest}: {exc}; "
                    "refusing to sweep from an incomplete mark"
                ) from exc
        return self._documents[digest]

    def _mark(self, digest: Digest, in_repo: set[Digest]) -> None:
        """Mark a manifest and what it needs, globally and in its repository's set."""
        if digest in in_repo:
            return
        in_repo.add(digest)
        self.result.marked.add(digest)
        document = self._document(digest)
        if document is None:
            return
        self.result.marked.update(document.blobs)
        for child in document.manifests:
            self._mark(child, in_repo)
        if document.subject is not None:  # a kept referrer keeps what it refers to
            self._mark(document.subject, in_repo)

    def _revisions(self, repo: str) -> dict[Digest, str]:
        """The repository's manifests: a revision counts only while its ``link`` names
        it (a manifest deleted through the API loses its link, not its directory; the
        CNCF registry walks the link files likewise)."""
        found = _digests_under(self.driver, layout.revisions(repo).rsplit("/", 1)[0])
        revisions = {digest: path for digest, path in found if self._linked(path, digest)}
        self._seen_revisions.update((repo, digest) for digest in revisions)
        return revisions

    def _linked(self, path: str, digest: Digest) -> bool:
        try:
            return self.driver.get_content(f"{path}/link").decode().strip() == str(digest)
        except (PathNotFound, UnicodeDecodeError):
            return False

    def _tagged(self, repo: str) -> set[Digest]:
        tagged: set[Digest] = set()
        for tag in _list(self.driver, layout.tags(repo)):
            try:
                tagged.add(
                    layout.parse_link(self.driver.get_content(layout.tag_current_link(repo, tag)))
                )
            except (PathNotFound, DockyardError):
                continue  # a tag being written or removed right now
        return tagged

    def _mark_repository(self, repo: str) -> None:
        revisions = self._revisions(repo)
        roots = self._tagged(repo) if self.delete_untagged else set(revisions)
        roots |= {d for d, path in revisions.items() if self._young(f"{path}/link")}
        in_repo: set[Digest] = set()
        for digest in sorted(roots):
            self._mark(digest, in_repo)
        changed = True
        while changed:  # referrers of anything marked, to a fixpoint
            changed = False
            for digest in sorted(set(revisions) - in_repo):
                document = self._document(digest)
                subject = document.subject if document else None
                if subject is not None and subject in in_repo:
                    self._mark(digest, in_repo)
                    changed = True
        if self.delete_untagged:
            for digest in sorted(set(revisions) - in_repo):
                self._delete_manifest(repo, digest)

    def _delete_manifest(self, repo: str, digest: Digest) -> None:
        self.log(f"{repo}: deleting untagged manifest {digest}")
        self.result.deleted_manifests.append((repo, digest))
        if self.dry_run:
            return
        document = self._document(digest)
        paths = [
            layout.revision_link(repo, digest).rsplit("/", 1)[0],
            layout.referrers(repo, digest),
        ]
        if document is not None and document.subject is not None:
            paths.append(layout.referrer_link(repo, document.subject, digest).rsplit("/", 1)[0])
        for tag in _list(self.driver, layout.tags(repo)):
            paths.append(layout.tag_index_link(repo, tag, digest).rsplit("/", 1)[0])
        for path in paths:
            self._delete(path)

    def _delete(self, path: str) -> None:
        with contextlib.suppress(PathNotFound):
            self.driver.delete(path)

    def _layer_links(self, repos: list[str]) -> dict[Digest, list[str]]:
        links: dict[Digest, list[str]] = {}
        for repo in repos:
            base = layout.layers(repo).rsplit("/", 1)[0]
            for digest, path in _digests_under(self.driver, base):
                links.setdefault(digest, []).append(path)
        return links

    def _blobs(self) -> Iterator[tuple[Digest, str]]:
        """(digest, directory) of every blob: ``blobs/<alg>/<hex[:2]>/<hex>``."""
        for algorithm in _list(self.driver, layout.BLOBS):
            for shard in _list(self.driver, f"{layout.BLOBS}/{algorithm}"):
                yield from _digests_under_shard(self.driver, algorithm, shard)

    def _sweep(self, repos: list[str]) -> None:
        links = self._layer_links(repos)
        for digest, blob_dir in self._blobs():
            if digest in self.result.marked:
                continue
            data = f"{blob_dir}/data"
            if self._young(data) or any(self._young(f"{p}/link") for p in links.get(digest, [])):
                self.result.kept_recent.append(digest)
                continue
            with contextlib.suppress(PathNotFound):
                self.result.freed_bytes += self.driver.stat(data).size
            self.log(f"blob eligible for deletion: {digest}")
            self.result.deleted_blobs.append(digest)
            if not self.dry_run:
                # The blob goes first: a dangling link reads as "unknown", never as corrupt.
                self._delete(blob_dir)
                for link_dir in links.get(digest, []):
                    self._delete(link_dir)

    def run(self) -> GCResult:
        repos = list(repositories(self.driver))
        for repo in repos:
            self._mark_repository(repo)
        # Revisions pushed while we were marking: keep them and what they need.
        for repo in list(repositories(self.driver)):
            in_repo: set[Digest] = set()
            for digest in self._revisions_new(repo):
                self._mark(digest, in_repo)
        self._sweep(repos)
        return self.result

    def _revisions_new(self, repo: str) -> list[Digest]:
        before = set(self._seen_revisions)
        return [d for d in self._revisions(repo) if (repo, d) not in before]
