"""Registry authentication: ``WWW-Authenticate`` challenges, Basic, and Bearer tokens.

A 401 names the scheme. Basic: send the credentials. Bearer (Docker Hub style): GET
``realm?service=…&scope=…`` (with Basic credentials if there are any, anonymously
otherwise), then retry with ``Authorization: Bearer <token>``. Tokens are cached per
(realm, service, scopes) until shortly before they expire.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from dockyard.errors import AuthenticationFailed

# A parameter (name=value or name="quoted") or, failing that, a bare word: a scheme.
_TOKEN_RE = re.compile(
    r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))|([A-Za-z][A-Za-z0-9._-]*)'
)
_DEFAULT_TOKEN_LIFETIME = 60  # seconds, as the token spec says when expires_in is absent
_EXPIRY_MARGIN = 5

# (url, headers) -> (status, body); the transport provides it (TLS, retries, errors).
Fetch = Callable[[str, dict[str, str]], Awaitable[tuple[int, bytes]]]


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """``Bearer realm="…",service="…", Basic realm="…"`` -> challenges in order."""
    challenges: list[Challenge] = []
    for match in _TOKEN_RE.finditer(header):
        name, quoted, bare, scheme = match.groups()
        if scheme is not None:
            challenges.append(Challenge(scheme.lower()))
        elif challenges:
            value = quoted.replace('\\"', '"') if quoted is not None else bare or ""
            challenges[-1].params[name.lower()] = value
    return challenges


def repository_scope(repository: str, *actions: str) -> str:
    return f"repository:{repository}:{','.join(actions)}"


@dataclass
class _Token:
    value: str
    expires: float


class Authorizer:
    """What to put in ``Authorization`` for one registry host, learned from its 401s."""

    def __init__(self, credentials: Credentials | None, fetch: Fetch) -> None:
        self.credentials = credentials
        self._fetch = fetch
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, str, tuple[str, ...]], _Token] = {}

    @property
    def knows_challenge(self) -> bool:
        return self._challenge is not None

    def learn(self, www_authenticate: str) -> bool:
        """Remember the challenge of a 401; False if it is nothing we can answer."""
        for challenge in parse_challenges(www_authenticate):
            if challenge.scheme == "bearer" and "realm" in challenge.params:
                self._challenge = challenge
                return True
            if challenge.scheme == "basic" and self.credentials is not None:
                self._challenge = challenge
                return True
        return False

    async def header(self, scopes: tuple[str, ...]) -> str | None:
        """The Authorization value for a request needing ``scopes``, if auth is known."""
        challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return self.credentials.basic() if self.credentials else None
        return "Bearer " + await self._token(challenge, scopes)

    def forget_token(self, scopes: tuple[str, ...]) -> None:
        if self._challenge is not None and self._challenge.scheme == "bearer":
            self._tokens.pop(self._key(self._challenge, scopes), None)  # Basic has none

    @staticmethod
    def _key(challenge: Challenge, scopes: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
        return challenge.params["realm"], challenge.params.get("service", ""), tuple(sorted(scopes))

    async def _token(self, challenge: Challenge, scopes: tuple[str, ...]) -> str:
        key = self._key(challenge, scopes)
        cached = self._tokens.get(key)
        if cached is not None and cached.expires > time.monotonic():
            return cached.value
        query: list[tuple[str, str]] = []
        if key[1]:
            query.append(("service", key[1]))
        query.extend(("scope", scope) for scope in key[2])
        if not scopes and challenge.params.get("scope"):
            query.append(("scope", challenge.params["scope"]))
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        if self.credentials:
            query += [("account", self.credentials.username), ("client_id", "dockyard")]
        realm = key[0]
        url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}" if query else realm
        status, body = await self._fetch(url, headers)
        if status in (401, 403):
            raise AuthenticationFailed(f"unauthorized: {_detail(body)}", status, "UNAUTHORIZED")
        if status != 200:
            raise AuthenticationFailed(
                f"token endpoint {realm} answered {status}: {_detail(body)}", status
            )
        token = _parse_token(body, realm)
        self._tokens[key] = token
        return token.value


def _parse_token(body: bytes, realm: str) -> _Token:
    try:
        data = json.loads(body)
        value = data.get("token") or data.get("access_token")
        lifetime = int(data.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
    except (ValueError, AttributeError, TypeError) as exc:
        raise AuthenticationFailed(f"malformed token response from {realm}") from exc
    if not isinstance(value, str) or not value:
        raise AuthenticationFailed(f"token response from {realm} holds no token")
    lifetime = max(lifetime, _DEFAULT_TOKEN_LIFETIME)
    return _Token(value, time.monotonic() + lifetime - _EXPIRY_MARGIN)


def _detail(body: bytes) -> str:
    """The message of a distribution-style error body, else the body's text."""
    try:
        data = json.loads(body)
        errors = data.get("errors") or []
        if errors:
            return str(errors[0].get("message") or errors[0].get("code"))
        if data.get("details") or data.get("message"):
            return str(data.get("details") or data.get("message"))
    except (ValueError, AttributeError):
        pass
    return body.decode(errors="replace").strip()[:200] or "authentication required"
