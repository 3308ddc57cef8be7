"""HTTP to one registry host: endpoint choice, auth, retries, redirects, error translation.

The only module that sees aiohttp's exceptions; everything above it gets
``RegistryError`` / ``AuthenticationFailed``.
"""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from dockyard.errors import RegistryError
from dockyard.registry.client.auth import Authorizer, Credentials
from dockyard.registry.client.config import DaemonConfig
from dockyard.registry.client.endpoints import Endpoint, tls_context

USER_AGENT = "dockyard/0.1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ATTEMPTS = 5
_MAX_REDIRECTS = 5
SMALL_BODY_MAX = 1 << 20  # error bodies, tokens, the /v2/ answer
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Errors worth another attempt: the connection broke after it was made.
_TRANSIENT: tuple[type[BaseException], ...] = (
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    aiohttp.ServerTimeoutError,
    ConnectionResetError,
)
_RETRIED: tuple[type[BaseException], ...] = (*_TRANSIENT, aiohttp.ClientOSError)  # see _transient
Body = bytes | Callable[[], Any] | None  # a callable gives a fresh payload per attempt


def new_session() -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
    connector = aiohttp.TCPConnector(limit=32)
    return aiohttp.ClientSession(
        timeout=timeout,
        connector=connector,
        auto_decompress=False,  # blob bytes must hash as served
        headers={"User-Agent": USER_AGENT},
    )


class Transport:
    """Requests to one registry host through the first of its endpoints that answers."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: DaemonConfig,
        endpoints: list[Endpoint],
        credentials: Credentials | None,
    ) -> None:
        self.session = session
        self.config = config
        self.candidates = endpoints
        self.endpoint = endpoints[0]
        self.auth = Authorizer(credentials, self._fetch_token)

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    async def ping(self) -> int:
        """GET /v2/ on each endpoint until one answers; learn its auth challenge."""
        failure: RegistryError | None = None
        for endpoint in self.candidates:
            self.endpoint = endpoint
            url = f"{endpoint.base_url}/v2/"
            try:
                async with self.session.get(url, ssl=endpoint.ssl) as response:
                    await read_at_most(response, SMALL_BODY_MAX, f"the answer of {url}")
                    if response.status == 401:
                        self.auth.learn(response.headers.get("WWW-Authenticate", ""))
                    return response.status
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                failure = connection_error("GET", url, exc)
                if isinstance(exc, aiohttp.ClientConnectorCertificateError):
                    break  # a certificate the host's TLS settings refuse: no fallback
        assert failure is not None
        raise failure

    async def request(
        self,
        method: str,
        path: str,
        scopes: tuple[str, ...],
        headers: dict[str, str] | None = None,
        body: Body = None,
        authorize: bool = True,
    ) -> aiohttp.ClientResponse:
        """Send with auth, retries and redirects; the caller reads and releases the response."""
        url = path if "://" in path else f"{self.base_url}{path}"
        delay = 0.25
        for attempt in range(ATTEMPTS):
            try:
                if authorize:
                    response = await self._authorized(method, url, scopes, headers or {}, body)
                else:
                    response = await self._follow(method, url, headers or {}, body)
            except _RETRIED as exc:
                # Not into an upload session: the bytes that got there stay (CNCF's keeps
                # them), so the pusher starts a new session instead.
                again = "/blobs/uploads/" not in url or method == "POST"
                if attempt == ATTEMPTS - 1 or not _transient(exc) or not again:
                    raise connection_error(method, url, exc) from exc
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise connection_error(method, url, exc) from exc
            else:
                if response.status not in RETRY_STATUSES or attempt == ATTEMPTS - 1:
                    return response
                delay = max(delay, _retry_after(response))
                response.release()
            await asyncio.sleep(min(delay, 10.0))
            delay *= 2
        raise AssertionError("unreachable")

    async def _authorized(
        self, method: str, url: str, scopes: tuple[str, ...], headers: dict[str, str], body: Body
    ) -> aiohttp.ClientResponse:
        for retry_auth in (True, False):
            sent = dict(headers)
            # Credentials go to the registry's own host only: a Link or Location header
            # naming another host must not get them (docker's client, likewise).
            own_host = urlsplit(url)[:2] == urlsplit(self.base_url)[:2]  # scheme too
            authorization = await self.auth.header(scopes) if own_host else None
            if authorization:
                sent["Authorization"] = authorization
            response = await self._follow(method, url, sent, body)
            if response.status != 401 or not retry_auth:
                return response
            learned = self.auth.learn(response.headers.get("WWW-Authenticate", ""))
            if not learned or (authorization and authorization.startswith("Basic")):
                return response
            response.release()
            self.auth.forget_token(scopes)
        raise AssertionError("unreachable")

    async def _follow(
        self, method: str, url: str, headers: dict[str, str], body: Body
    ) -> aiohttp.ClientResponse:
        """Send, following redirects; credentials never go to another host."""
        for _ in range(_MAX_REDIRECTS):
            data = body() if callable(body) else body
            response = await self.session.request(
                method, url, headers=headers, data=data, allow_redirects=False,
                ssl=self._ssl_for(url),
            )
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return response
            response.release()
            url = urljoin(url, location)
            if urlsplit(url).netloc != self.endpoint.host:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if response.status == 303:
                method, body = "GET", None
        raise RegistryError(f"{method} {url}: too many redirects")

    def _ssl_for(self, url: str) -> Any:
        host = urlsplit(url).netloc
        if host == self.endpoint.host:
            return self.endpoint.ssl
        if url.startswith("http:"):
            return False
        return tls_context(self.config.certs_dir, host, self.config.is_insecure(host))

    async def _fetch_token(self, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        response = await self.request("GET", url, (), headers=headers, authorize=False)
        async with response:
            return response.status, await read_at_most(response, SMALL_BODY_MAX,
                                                       f"the token from {url}")


def _transient(exc: BaseException) -> bool:
    """Worth sending again: a dropped connection (aiohttp reports a reset as a
    ClientOSError), not a refused or unreachable one."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE)


def _retry_after(response: aiohttp.ClientResponse) -> float:
    try:
        return float(response.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0


def connection_error(method: str, url: str, exc: BaseException) -> RegistryError:
    """One line, docker's wording: ``Get "https://h/v2/": dial tcp h: connect: …``."""
    host = urlsplit(url).netloc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = exc.certificate_error
        detail = getattr(error, "verify_message", None) or str(error)
        reason = f"tls: failed to verify certificate: x509: {detail}"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        code = exc.os_error.errno
        detail = "connection refused" if code == errno.ECONNREFUSED else exc.strerror
        reason = f"dial tcp {host}: connect: {detail}"
    elif isinstance(exc, aiohttp.ClientSSLError | aiohttp.ClientConnectorSSLError):
        reason = f"tls: {exc}"
    elif isinstance(exc, TimeoutError):
        reason = "net/http: request canceled (Client.Timeout exceeded)"
    else:
        reason = str(exc) or type(exc).__name__
    return RegistryError(f'{method.title()} "{url}": {reason}')


async def read_at_most(response: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The body, refused as soon as it passes ``limit`` bytes: a registry that streams
    without end (no Content-Length) must not fill the memory."""
    if (response.content_length or 0) > limit:
        raise RegistryError(f"{what} is larger than {limit} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            raise RegistryError(f"{what} is larger than {limit} bytes")
    return bytes(body)


async def error_from(response: aiohttp.ClientResponse) -> RegistryError:
    """A RegistryError from a distribution-style error response (``{"errors": [...]}``)."""
    try:
        body = await read_at_most(response, SMALL_BODY_MAX, "the error response")
    except RegistryError:
        body = b""
    code, message = "", ""
    try:
        errors = json.loads(body).get("errors") or []
        if errors:
            code = str(errors[0].get("code", ""))
            message = str(errors[0].get("message", ""))
    except (ValueError, AttributeError):
        pass
    if not message:
        message = body.decode(errors="replace").strip()[:200] or response.reason or ""
    # docker prints a code as lower-case words: MANIFEST_UNKNOWN -> "manifest unknown".
    words = code.lower().replace("_", " ")
    text = f"{words}: {message}" if code else f"{response.status} {message}".strip()
    return RegistryError(text, response.status, code)
