"""``pull``: an image from a registry into the store, with docker's progress output.

Blobs download in parallel (``max-concurrent-downloads``), each hashed as it streams
into a staging file; layers are unpacked in order in a worker thread while later
blobs still download. Nothing is installed until every layer is verified and staged,
so a bad blob or a killed pull leaves the store as it was.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.engine.credentials import CredentialStore
from dockyard.engine.progress import ProgressOutput
from dockyard.errors import (
    AuthenticationFailed,
    DigestMismatch,
    InvalidDocument,
    RegistryError,
    StoreError,
)
from dockyard.image.manifest import Descriptor
from dockyard.reference import Reference, parse_reference
from dockyard.registry.client.blobs import PipeSink, download_blob
from dockyard.registry.client.config import DaemonConfig, load_daemon_config
from dockyard.registry.client.pipe import BlobPipe
from dockyard.registry.client.repository import Repository
from dockyard.registry.client.resolve import PlatformSpec, ResolvedImage, parse_platform, resolve
from dockyard.registry.client.session import RegistryClient
from dockyard.registry.client.sources import BlobSources
from dockyard.store import images as records
from dockyard.store.ingest import StagedLayer, ingest_layer
from dockyard.store.staging import Staging
from dockyard.store.store import Store
from dockyard.store.streams import as_binary


@dataclass
class _Layer:
    descriptor: Descriptor
    diff_id: Digest
    present: bool  # already in the store: nothing to fetch

    @property
    def blob(self) -> Digest:
        return self.descriptor.parsed_digest

    @property
    def short(self) -> str:
        return self.blob.short


def pull_image(
    store: Store,
    name: str,
    platform: str | None = None,
    all_tags: bool = False,
    output: ProgressOutput | None = None,
    config: DaemonConfig | None = None,
) -> str:
    """Pull ``name`` (tag, digest, or every tag); returns the reference docker prints last."""
    out = output or ProgressOutput()
    ref = parse_reference(name)
    if ref.tag is None and ref.digest is None and not all_tags:
        out.line(f"Using default tag: {ref.with_default_tag().tag}")
    puller = _Puller(store, config or load_daemon_config(), parse_platform(platform), out)
    return asyncio.run(puller.run(ref, all_tags))


class _Puller:
    def __init__(
        self, store: Store, config: DaemonConfig, platform: PlatformSpec, out: ProgressOutput
    ) -> None:
        self.store = store
        self.config = config
        self.platform = platform
        self.out = out
        self.credentials = CredentialStore()

    async def run(self, ref: Reference, all_tags: bool) -> str:
        async with RegistryClient(self.config, self.credentials.get) as client:
            if not all_tags:
                await self._pull(client, ref.with_default_tag())
                return str(ref.with_default_tag())
            repo = await client.open(ref.domain, ref.path)
            for tag in sorted(await repo.tags()):
                await self._pull(client, ref.with_tag(tag))
            return ref.name

    async def _pull(self, client: RegistryClient, ref: Reference) -> None:
        """From the first host (mirrors, then the registry) that has the image whole: as
        docker, a mirror that fails half-way (a blob it lacks) hands over to the next."""
        wanted = str(ref.digest) if ref.digest is not None else str(ref.tag)
        candidates = client.candidates(ref.domain, ref.path)
        announced = False
        for position, repo in enumerate(candidates):
            last = position == len(candidates) - 1
            try:
                await repo.transport.ping()
                image = await resolve(repo, wanted, self.platform)
            except RegistryError as exc:
                if last:
                    raise _pull_error(exc, ref, repo) from exc
                continue
            except (DigestMismatch, InvalidDocument):
                if last:
                    raise
                continue  # a mirror serving a bad manifest or config: the next one
            if not announced:
                self.out.line(f"{wanted}: Pulling from {ref.path}")
                announced = True
            try:
                with self.store.staging() as staging:
                    layers = self._plan(image)
                    staged = await self._fetch_layers(repo, staging, layers)
                    up_to_date = self._install(ref, image, layers, staged)
            except (RegistryError, DigestMismatch):
                if last:
                    raise
                continue
            break
        # Remembered for cross-repository mounts when pushing to this registry later.
        blobs = [layer.blob for layer in layers]
        BlobSources(self.store.layout.root).add(repo.transport.endpoint.host, repo.name, blobs)
        self.out.line(f"Digest: {image.digest}")
        news = "Image is up to date for" if up_to_date else "Downloaded newer image for"
        self.out.line(f"Status: {news} {ref.familiar}")

    def _plan(self, image: ResolvedImage) -> list[_Layer]:
        layers = []
        for descriptor, diff_id in zip(
            image.manifest.layers, image.config.parsed.diff_ids(), strict=True
        ):
            blob = descriptor.parsed_digest
            present = self.store.has_layer(diff_id) or self.store.blob_diff_id(blob) == diff_id
            layers.append(_Layer(descriptor, diff_id, present))
        return layers

    async def _fetch_layers(
        self, repo: Repository, staging: Staging, layers: list[_Layer]
    ) -> dict[Digest, StagedLayer]:
        limit = asyncio.Semaphore(self.config.max_concurrent_downloads)
        tasks: dict[Digest, asyncio.Task[StagedLayer]] = {}
        for layer in layers:
            if layer.present:
                self.out.status(layer.short, "Already exists")
            elif layer.blob not in tasks:
                self.out.status(layer.short, "Pulling fs layer")
                tasks[layer.blob] = asyncio.create_task(self._fetch(repo, staging, layer, limit))
        try:
            staged = await asyncio.gather(*tasks.values())
        finally:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        return {layer.diff_id: layer for layer in staged}

    async def _fetch(
        self, repo: Repository, staging: Staging, layer: _Layer, limit: asyncio.Semaphore
    ) -> StagedLayer:
        """Download, hash, decompress and unpack in one pass: the unpacker is a thread
        reading the bytes as they arrive."""
        if limit.locked():
            self.out.status(layer.short, "Waiting")
        async with limit:
            pipe = BlobPipe()
            unpack = asyncio.create_task(asyncio.to_thread(_ingest, staging, pipe, layer))
            total = layer.descriptor.size

            def progress(done: int) -> None:
                self.out.progress(layer.short, "Downloading", done, total)

            try:
                # The unpacker hashes the blob and checks it against layer.blob.
                await download_blob(repo, layer.blob, total, PipeSink(pipe), progress,
                                    verify=False)
                await pipe.finish()
            except BaseException as exc:
                pipe.abort(exc)
                await asyncio.gather(unpack, return_exceptions=True)
                raise
        self.out.status(layer.short, "Verifying Checksum")
        self.out.status(layer.short, "Download complete")
        self.out.busy(layer.short, "Extracting")
        staged = await unpack
        self.out.status(layer.short, "Pull complete")
        return staged

    def _install(
        self,
        ref: Reference,
        image: ResolvedImage,
        layers: list[_Layer],
        staged: dict[Digest, StagedLayer],
    ) -> bool:
        """Move everything into place in one transaction; True if the ref already had it."""
        with self.store.commit() as conn:
            for layer in staged.values():
                self.store.install_layer(conn, layer)
            refs = [_layer_ref(conn, layer) for layer in layers]
            image_id = image.config.digest
            before = records.lookup_tag(conn, ref)
            new = records.NewImage(
                config=image.config.raw,
                created=image.config.parsed.created,
                layers=refs,
                size=sum(self.store.layer_size(layer.diff_id) for layer in layers),
                manifests=tuple((d.digest, d.media_type, d.raw) for d in image.documents),
            )
            records.insert_image(conn, new)
            if ref.tag is not None:
                records.set_tag(conn, ref, image_id)
            records.add_repo_digest(conn, ref.name, image.digest, image_id)
        return before == image_id


def _ingest(staging: Staging, pipe: BlobPipe, layer: _Layer) -> StagedLayer:
    try:
        return ingest_layer(
            staging, as_binary(pipe), layer.descriptor.media_type,
            expected_blob=layer.blob, expected_diff_id=layer.diff_id,
        )
    finally:
        pipe.reader_gone = True  # a failed unpack stops the download too


def _layer_ref(conn: sqlite3.Connection, layer: _Layer) -> records.LayerRef:
    """The manifest's blob when the store holds it, else any stored blob of the layer."""
    blobs = records.layer_blobs(conn, layer.diff_id, prefer=layer.blob)
    if not blobs:
        raise StoreError(f"layer {layer.diff_id} vanished from the store during the pull; retry")
    return records.LayerRef(layer.diff_id, blobs[0].digest)


def _pull_error(exc: RegistryError, ref: Reference, repo: Repository) -> RegistryError:
    """docker's one-line messages for a manifest the registry will not give."""
    if isinstance(exc, AuthenticationFailed) or exc.status == 0:
        return exc
    if exc.status == 401 and repo.transport.auth.credentials is not None:
        return AuthenticationFailed(exc.message, exc.status, exc.code)
    if exc.code == "NAME_UNKNOWN":
        return RegistryError(
            f"repository {ref.familiar_name} not found: {exc.message}", exc.status, exc.code
        )
    if exc.status in (401, 403) or exc.code in ("UNAUTHORIZED", "DENIED"):
        return RegistryError(
            f"pull access denied for {ref.familiar_name}, repository does not exist or may "
            f"require 'docker login': {exc.message}", exc.status, exc.code,
        )
    if exc.status == 404:
        return RegistryError(
            f"manifest for {ref.familiar} not found: {exc.message}",
            exc.status, exc.code,
        )
    return exc
