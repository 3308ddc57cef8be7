"""One repository on a registry: manifests, tags and the cheap blob calls (HEAD, mount)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from dockyard.digest import Digest
from dockyard.errors import RegistryError
from dockyard.image import mediatypes as mt
from dockyard.registry.client.auth import repository_scope
from dockyard.registry.client.transport import Transport, error_from, read_at_most

MANIFEST_MAX = 4 << 20  # docker's limit on a manifest's size
TAGS_MAX = 16 << 20

MANIFEST_ACCEPT = ", ".join(
    [
        mt.OCI_INDEX,
        mt.DOCKER_MANIFEST_LIST,
        mt.OCI_MANIFEST,
        mt.DOCKER_MANIFEST,
        # Asked for so that an old image gets its clear "schema 1" refusal, not a 404.
        mt.DOCKER_SCHEMA1_SIGNED,
        mt.DOCKER_SCHEMA1,
    ]
)


@dataclass(frozen=True)
class FetchedManifest:
    raw: bytes
    content_type: str
    digest_header: str | None  # Docker-Content-Digest, when the registry sent it


class Repository:
    """The distribution API for one repository (``name`` without the registry host)."""

    def __init__(self, transport: Transport, name: str, push: bool = False) -> None:
        self.transport = transport
        self.name = name
        actions = ("pull", "push") if push else ("pull",)
        self.scopes = (repository_scope(name, *actions),)

    def blob_url(self, digest: Digest) -> str:
        return f"/v2/{self.name}/blobs/{digest}"

    async def get_manifest(self, reference: str) -> FetchedManifest:
        response = await self.transport.request(
            "GET",
            f"/v2/{self.name}/manifests/{reference}",
            self.scopes,
            headers={"Accept": MANIFEST_ACCEPT},
        )
        async with response:
            if response.status != 200:
                raise await error_from(response)
            raw = await read_at_most(response, MANIFEST_MAX, f"manifest {reference}")
            content_type = response.headers.get("Content-Type", "")
            return FetchedManifest(raw, content_type, response.headers.get("Docker-Content-Digest"))

    async def put_manifest(self, reference: str, raw: bytes, media_type: str) -> Digest:
        response = await self.transport.request(
            "PUT",
            f"/v2/{self.name}/manifests/{reference}",
            self.scopes,
            headers={"Content-Type": media_type},
            body=raw,
        )
        async with response:
            if response.status not in (200, 201, 202):
                raise await error_from(response)
        return Digest.of_bytes(raw)

    async def tags(self) -> list[str]:
        """Every tag of the repository, following ``Link`` pagination."""
        path: str | None = f"/v2/{self.name}/tags/list?n=1000"
        found: list[str] = []
        while path:
            response = await self.transport.request("GET", path, self.scopes)
            async with response:
                if response.status != 200:
                    raise await error_from(response)
                body = json.loads(await read_at_most(response, TAGS_MAX, "the tag list"))
                found.extend(body.get("tags") or [])
                link = response.headers.get("Link", "")
            path = link.split(";")[0].strip().strip("<>") if 'rel="next"' in link else None
        return found

    async def get_blob(self, digest: Digest, limit: int = 16 << 20) -> bytes:
        """A small blob (a config) in memory, verified against its digest."""
        response = await self.transport.request("GET", self.blob_url(digest), self.scopes)
        async with response:
            if response.status != 200:
                raise (await error_from(response)).with_context(f"fetching blob {digest}")
            data = await read_at_most(response, limit, f"blob {digest}")
        digest.verify(data, f"blob {digest.short}")
        return data

    async def has_blob(self, digest: Digest) -> bool:
        response = await self.transport.request("HEAD", self.blob_url(digest), self.scopes)
        async with response:
            if response.status == 200:
                return True
            if response.status == 404:
                return False
            # A HEAD answer has no body to tell why: docker's words for the two refusals.
            if response.status == 401:
                raise RegistryError("unauthorized: authentication required", 401, "UNAUTHORIZED")
            if response.status == 403:
                raise RegistryError("denied: requested access to the resource is denied", 403,
                                    "DENIED")  # fmt: skip
            raise RegistryError(
                f"HEAD {self.blob_url(digest)}: {response.status} {response.reason}",
                response.status,
            )

    async def start_upload(
        self, mount: Digest | None = None, source: str | None = None
    ) -> str | None:
        """POST an upload; None when the blob was mounted from ``source`` instead."""
        path = f"/v2/{self.name}/blobs/uploads/"
        scopes: tuple[str, ...] = self.scopes
        if mount is not None and source is not None:
            path += f"?mount={mount}&from={quote(source, safe='/')}"
            scopes = (*scopes, repository_scope(source, "pull"))
        response = await self.transport.request("POST", path, scopes)
        async with response:
            if response.status == 201 and mount is not None:
                return None
            if response.status != 202:
                raise await error_from(response)
            location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"POST {path}: the registry gave no upload location")
        return location
