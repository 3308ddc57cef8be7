"""The spec's error codes, the server's domain exceptions, and the one place that
turns exceptions into ``{"errors": [{"code", "message", "detail"}]}`` responses.

Storage and store code raise dockyard errors (the classes below extend the tree in
``dockyard.errors``); handlers raise ``ApiError`` only for protocol-level faults.
``error_middleware`` maps both to status codes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from dockyard.errors import (
    BlobNotFound,
    Conflict,
    DigestMismatch,
    DockyardError,
    InvalidDigest,
    InvalidDocument,
    InvalidReference,
    NotFound,
)
from dockyard.registry.server.jsonbody import dumps
from dockyard.registry.server.storage.driver import InvalidPath

STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,  # distribution answers 400, not 404
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "PAGINATION_NUMBER_INVALID": 400,
    "UNKNOWN": 500,
}

MESSAGES = {
    "BLOB_UNKNOWN": "blob unknown to registry",
    "BLOB_UPLOAD_INVALID": "blob upload invalid",
    "BLOB_UPLOAD_UNKNOWN": "blob upload unknown to registry",
    "DIGEST_INVALID": "provided digest did not match uploaded content",
    "MANIFEST_BLOB_UNKNOWN": "manifest references a manifest or blob unknown to registry",
    "MANIFEST_INVALID": "manifest invalid",
    "MANIFEST_UNKNOWN": "manifest unknown to registry",
    "NAME_INVALID": "invalid repository name",
    "NAME_UNKNOWN": "repository name not known to registry",
    "SIZE_INVALID": "provided length did not match content length",
    "UNAUTHORIZED": "authentication required",
    "DENIED": "requested access to the resource is denied",
    "UNSUPPORTED": "the operation is unsupported",
    "TOOMANYREQUESTS": "too many requests",
    "PAGINATION_NUMBER_INVALID": "invalid number of results requested",
    "UNKNOWN": "unknown error",
}


class RepositoryUnknown(NotFound):
    """The repository has no directory in storage."""


class ManifestUnknown(NotFound):
    """No manifest for this tag or digest in the repository."""


class UploadUnknown(NotFound):
    """No upload session with this id in the repository."""


class ManifestBlobUnknown(InvalidDocument):
    """A manifest refers to blobs or child manifests the repository does not have."""

    def __init__(self, digests: list[str]) -> None:
        super().__init__(f"manifest references unknown content: {', '.join(digests)}")
        self.digests = digests


class InvalidTag(InvalidReference):
    """A tag outside ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``."""


class UploadOutOfOrder(Conflict):
    """A chunk that does not start where the upload currently ends."""

    def __init__(self, location: str, upload_id: str, size: int) -> None:
        super().__init__(f"chunk out of order: upload is at offset {size}")
        self.location = location
        self.upload_id = upload_id
        self.size = size


class SizeInvalid(DockyardError):
    """A body whose length differs from what Content-Length / Content-Range said."""


class UploadInvalid(DockyardError):
    """A malformed upload request (bad Content-Range, bad Content-Type ...)."""


class Unsupported(DockyardError):
    """An operation switched off here: deletes, writes in read-only mode."""


class ManifestTooLarge(InvalidDocument):
    """A manifest larger than ``max_manifest_bytes``."""


class ApiError(DockyardError):
    """A protocol-level error raised directly by a handler."""

    def __init__(
        self,
        code: str,
        detail: Any = None,
        *,
        message: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message or MESSAGES.get(code, code))
        self.code = code
        self.detail = detail
        self.status = status or STATUS.get(code, 400)
        self.headers = dict(headers or {})


def error_body(code: str, message: str | None = None, detail: Any = None) -> str:
    entry: dict[str, Any] = {"code": code, "message": message or MESSAGES.get(code, code)}
    if detail is not None:
        entry["detail"] = detail
    return dumps({"errors": [entry]})


def error_response(error: ApiError) -> web.Response:
    headers = {"Docker-Distribution-API-Version": "registry/2.0", **error.headers}
    return web.Response(
        status=error.status,
        text=error_body(error.code, error.message, error.detail),
        content_type="application/json",
        headers=headers,
    )


def range_header(size: int) -> str:
    """distribution's upload Range: ``0-0`` for an empty upload, else ``0-<last byte>``."""
    return f"0-{max(size - 1, 0)}"


def translate(exc: DockyardError) -> ApiError:
    """Map a domain exception to the spec's code and status."""
    detail = str(exc)
    if isinstance(exc, UploadOutOfOrder):
        headers = {
            "Location": exc.location,
            "Range": range_header(exc.size),
            "Docker-Upload-UUID": exc.upload_id,
        }
        return ApiError("BLOB_UPLOAD_INVALID", detail, status=416, headers=headers)
    if isinstance(exc, ManifestBlobUnknown):
        return ApiError("MANIFEST_BLOB_UNKNOWN", exc.digests)
    if isinstance(exc, ManifestTooLarge):
        return ApiError("MANIFEST_INVALID", detail, status=413)
    table: list[tuple[type[DockyardError], str]] = [
        (RepositoryUnknown, "NAME_UNKNOWN"),
        (ManifestUnknown, "MANIFEST_UNKNOWN"),
        (UploadUnknown, "BLOB_UPLOAD_UNKNOWN"),
        (BlobNotFound, "BLOB_UNKNOWN"),
        (InvalidTag, "MANIFEST_INVALID"),
        (InvalidReference, "NAME_INVALID"),
        (InvalidDigest, "DIGEST_INVALID"),
        (DigestMismatch, "DIGEST_INVALID"),
        (InvalidDocument, "MANIFEST_INVALID"),
        (SizeInvalid, "SIZE_INVALID"),
        (UploadInvalid, "BLOB_UPLOAD_INVALID"),
        (Unsupported, "UNSUPPORTED"),
        (InvalidPath, "NAME_INVALID"),
    ]
    for kind, code in table:
        if isinstance(exc, kind):
            return ApiError(code, detail)
    return ApiError("UNKNOWN", detail)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        response = error_response(exc)
    except DockyardError as exc:
        response = error_response(translate(exc))
    except OSError as exc:  # the storage failed: still the spec's JSON error
        response = error_response(ApiError("UNKNOWN", f"storage error: {exc.strerror or exc}"))
    if request.body_exists and not request.content.at_eof():
        response.force_close()  # the unread rest of the body would be taken as a request
    return response
