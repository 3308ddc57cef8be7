"""``push``: an image from the store to a registry, with docker's progress output.

Per layer (top first): HEAD to skip what the registry has, a cross-repo mount when
another repository of that registry is known to hold the blob, else an upload.
Layers stored uncompressed are gzip-compressed once and the result kept in the store,
so pushing again sends the same bytes. Config next, the manifest last.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from dockyard.digest import Digest, Hasher
from dockyard.engine.credentials import CredentialStore
from dockyard.engine.progress import ProgressOutput
from dockyard.errors import ImageNotFound, InvalidReference, RegistryError
from dockyard.image import mediatypes as mt
from dockyard.image.manifest import decode_manifest
from dockyard.layer.compression import open_compressor
from dockyard.reference import Reference, parse_reference
from dockyard.registry.client.blobs import upload_blob
from dockyard.registry.client.config import DaemonConfig, load_daemon_config
from dockyard.registry.client.manifests import BlobRef, image_manifest
from dockyard.registry.client.repository import Repository
from dockyard.registry.client.session import RegistryClient
from dockyard.registry.client.sources import BlobSources
from dockyard.store import images as records
from dockyard.store.blobs import fsync_file
from dockyard.store.store import Store

_CHUNK = 1 << 20
_UPLOAD_ATTEMPTS = 5  # docker's maxUploadAttempts


def _worth_retrying(exc: RegistryError) -> bool:
    """A dropped connection or a server error: yes; a refusal (auth, a bad request): no."""
    return exc.status == 0 or exc.status >= 500 or exc.code in (
        "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN")


@dataclass(frozen=True)
class _Layer:
    diff_id: Digest
    stored: Digest  # the blob the image records for this layer

    @property
    def short(self) -> str:
        return self.diff_id.short


def push_image(
    store: Store,
    name: str,
    all_tags: bool = False,
    output: ProgressOutput | None = None,
    config: DaemonConfig | None = None,
) -> str:
    """Push one tag (``:latest`` by default) or, with ``all_tags``, every tag of the name."""
    out = output or ProgressOutput()
    ref = parse_reference(name)
    if ref.digest is not None:
        raise InvalidReference(f"cannot push a digest reference: {name}")
    if all_tags:
        tags = [t for t in records.all_tags(store.conn) if t.name == ref.name]
    else:
        if ref.tag is None:
            out.line("Using default tag: latest")
        tags = [ref.with_default_tag()]
    missing = [t for t in tags if records.lookup_tag(store.conn, t) is None] or not tags
    if missing:
        raise ImageNotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    out.line(f"The push refers to repository [{ref.name}]")
    pusher = _Pusher(store, config or load_daemon_config(), out)
    asyncio.run(pusher.run(tags))
    return str(tags[0]) if len(tags) == 1 else ref.name


class _Pusher:
    def __init__(self, store: Store, config: DaemonConfig, out: ProgressOutput) -> None:
        self.store = store
        self.config = config
        self.out = out
        self.sources = BlobSources(store.layout.root)
        self.limit = asyncio.Semaphore(config.max_concurrent_uploads)

    async def run(self, tags: list[Reference]) -> None:
        async with RegistryClient(self.config, CredentialStore().get) as client:
            repo = await client.open(tags[0].domain, tags[0].path, push=True)
            for tag in tags:
                await self._push(repo, tag)

    async def _push(self, repo: Repository, tag: Reference) -> None:
        image_id = records.lookup_tag(self.store.conn, tag)
        assert image_id is not None
        config = records.get_image(self.store.conn, image_id).config
        stored = records.image_layers(self.store.conn, image_id)
        layers = [_Layer(r.diff_id, r.blob) for r in stored]
        for layer in reversed(layers):
            self.out.status(layer.short, "Preparing")
        tasks = [asyncio.create_task(self._push_layer(repo, layer)) for layer in layers]
        try:
            blobs = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        config_digest = Digest.of_bytes(config)
        if not await repo.has_blob(config_digest):
            location = await repo.start_upload()
            assert location is not None
            await self._upload(repo, config_digest, config, location, None)
        raw, media_type = self._manifest(image_id, config, blobs)
        digest = await repo.put_manifest(str(tag.tag), raw, media_type)
        self._remember(repo, tag, image_id, config, (digest, media_type, raw), blobs)
        self.out.line(f"{tag.tag}: digest: {digest} size: {len(raw)}")

    async def _push_layer(self, repo: Repository, layer: _Layer) -> BlobRef:
        if self.limit.locked():
            self.out.status(layer.short, "Waiting")
        async with self.limit:
            blob = await self._pushable_blob(layer)
            if await repo.has_blob(blob.digest):
                self.out.status(layer.short, "Layer already exists")
                return blob
            registry = repo.transport.endpoint.host
            for source in self.sources.repositories(registry, blob.digest):
                if source == repo.name:
                    continue
                location = await repo.start_upload(mount=blob.digest, source=source)
                if location is None:
                    self.out.status(layer.short, f"Mounted from {source}")
                    return blob
                break  # not mountable: upload into the session the registry opened
            else:
                location = await repo.start_upload()
            assert location is not None

            def progress(done: int) -> None:
                self.out.progress(layer.short, "Pushing", done, blob.size)

            path = self.store.blobs.path(blob.digest)
            await self._upload(repo, blob.digest, path, location, layer.short, progress)
            self.out.status(layer.short, "Pushed")
            return blob

    async def _upload(self, repo: Repository, digest: Digest, source: Path | bytes,
                      location: str, short: str | None,
                      progress: Callable[[int], None] = lambda _: None) -> None:  # fmt: skip
        """``upload_blob``, as docker's pusher: a failed upload starts again from the
        start in a new session (the old one may hold part of the bytes, which a registry
        need not take back), up to 5 times."""
        for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
            try:
                await upload_blob(repo, digest, source, location, progress)
                return
            except RegistryError as exc:
                if attempt == _UPLOAD_ATTEMPTS or not _worth_retrying(exc):
                    raise
            for left in range(attempt, 0, -1):
                if short is not None:
                    self.out.status(short, f"Retrying in {left} second{'s' * (left > 1)}")
                await asyncio.sleep(1)
            new_location = await repo.start_upload()
            assert new_location is not None
            location = new_location

    async def _pushable_blob(self, layer: _Layer) -> BlobRef:
        """A compressed blob of the layer from the store, made (and kept) if there is none."""
        for row in records.layer_blobs(self.store.conn, layer.diff_id, prefer=layer.stored):
            if mt.layer_compression(row.media_type) in ("gzip", "zstd"):
                return BlobRef(row.digest, row.size, row.media_type)
        with self.store.staging() as staging:
            target = staging.new_path("gzip-")
            digest = await asyncio.to_thread(_compress, self.store, layer.diff_id, target)
            size = target.stat().st_size
            with self.store.commit() as conn:
                self.store.add_layer_blob(conn, target, digest, mt.DOCKER_LAYER_GZIP, layer.diff_id)
        return BlobRef(digest, size, mt.DOCKER_LAYER_GZIP)

    def _manifest(self, image_id: Digest, config: bytes, blobs: list[BlobRef]) -> tuple[bytes, str]:
        """The stored manifest byte-exact when it names exactly these blobs, else a new one."""
        wanted = [b.digest for b in blobs]
        for _, media_type, raw in records.manifests_of(self.store.conn, image_id):
            if media_type not in mt.IMAGE_MANIFESTS:
                continue
            manifest = decode_manifest(raw, media_type).manifest
            same_config = manifest.config.parsed_digest == image_id
            if same_config and [d.parsed_digest for d in manifest.layers] == wanted:
                return raw, media_type
        return image_manifest(config, blobs)

    def _remember(
        self,
        repo: Repository,
        tag: Reference,
        image_id: Digest,
        config: bytes,
        manifest: tuple[Digest, str, bytes],
        blobs: list[BlobRef],
    ) -> None:
        registry = repo.transport.endpoint.host
        self.sources.add(registry, repo.name, [b.digest for b in blobs])
        with self.store.commit() as conn:
            record = records.get_image(conn, image_id)
            layers = records.image_layers(conn, image_id)
            records.insert_image(
                conn,
                records.NewImage(config, record.created, layers, record.size,
                                 manifests=(manifest,)),
            )
            records.add_repo_digest(conn, tag.name, manifest[0], image_id)


def _compress(store: Store, diff_id: Digest, target: Path) -> Digest:
    """gzip a layer's tar into ``target`` (fsynced), hashing as it writes."""
    hasher = Hasher()
    with store.open_layer_tar(diff_id) as tar, open(target, "wb") as blob:
        compressor = open_compressor(cast(BinaryIO, _HashingSink(blob, hasher)), "gzip")
        while chunk := tar.read(_CHUNK):
            compressor.write(chunk)
        compressor.close()
    fsync_file(target)
    return hasher.digest()


class _HashingSink(io.RawIOBase):
    """A file that hashes what is written to it (the compressed blob's digest)."""

    def __init__(self, file: BinaryIO, hasher: Hasher) -> None:
        self._file = file
        self._hasher = hasher

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._hasher.update(memoryview(data))
        return self._file.write(data)
