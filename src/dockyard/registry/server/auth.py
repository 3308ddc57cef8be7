"""Access controllers: htpasswd basic auth and bearer tokens (Docker's token spec).

Both implement ``authz.Authorizer``: ``authorize(request, scopes)`` returns when the
request may do what ``scopes`` name, and otherwise raises ``401 Unauthorized`` with the
spec's JSON error body and a ``WWW-Authenticate`` challenge, as distribution does:

- htpasswd: any valid user may do anything; the challenge is ``Basic realm="…"``.
- token: a JWT signed by a key whose certificate is in ``rootcertbundle``, issued by
  ``issuer`` for audience ``service``, inside exp/nbf (60 s leeway), whose ``access``
  claim grants every action requested. The challenge is ``Bearer realm,service,scope``
  plus ``error="invalid_token"`` / ``error="insufficient_scope"``.

The users file is ``htpasswd``; token checks are ``token_verifier`` and ``token_certs``.
"""

from __future__ import annotations

import jwt
from aiohttp import web

from dockyard.errors import AuthenticationFailed
from dockyard.registry.server.authz import (
    Authorizer,
    Scope,
    challenge_params,
    scope_strings,
    unauthorized,
)
from dockyard.registry.server.configtypes import HtpasswdConfig, RegistryConfig, TokenConfig
from dockyard.registry.server.htpasswd import Htpasswd, basic_credentials, hash_password
from dockyard.registry.server.token_certs import libtrust_key_id, load_certificates
from dockyard.registry.server.token_verifier import TokenVerifier

# Besides the controllers, the htpasswd and certificate helpers are re-exported: the CLI
# and the token issuer import them from here.
__all__ = [
    "Htpasswd",
    "HtpasswdAuthorizer",
    "TokenAuthorizer",
    "basic_credentials",
    "build_authorizer",
    "granted",
    "hash_password",
    "libtrust_key_id",
    "load_certificates",
]


class HtpasswdAuthorizer:
    """Basic auth against an htpasswd file; every valid user gets every action."""

    def __init__(self, config: HtpasswdConfig) -> None:
        self.realm = config.realm
        self.users = Htpasswd(config.path)

    async def authorize(self, request: web.Request, scopes: list[Scope]) -> None:
        challenge = "Basic " + challenge_params(realm=self.realm)
        try:
            credentials = basic_credentials(request)
        except AuthenticationFailed as exc:
            raise unauthorized(challenge, scopes) from exc
        if credentials is None or not await self.users.check_async(*credentials):
            raise unauthorized(challenge, scopes)
        request["user"] = credentials[0]


def granted(access: object, scope: Scope) -> bool:
    """Whether a token's ``access`` claim covers every action of one scope."""
    if not isinstance(access, list):
        return False
    actions: set[str] = set()
    for entry in access:
        if (
            isinstance(entry, dict)
            and entry.get("type") == scope.type
            and entry.get("name") == scope.name
            and isinstance(entry.get("actions"), list)
        ):
            actions.update(a for a in entry["actions"] if isinstance(a, str))
    return "*" in actions or set(scope.actions) <= actions


class TokenAuthorizer:
    """Bearer tokens per Docker's token authentication specification."""

    def __init__(self, config: TokenConfig) -> None:
        self.config = config
        self.verifier = TokenVerifier(config)

    def realm(self, request: web.Request) -> str:
        if not self.config.autoredirect:
            return self.config.realm
        scheme = request.headers.get("X-Forwarded-Proto") or request.scheme
        return f"{scheme}://{request.host}{self.config.autoredirect_path}"

    def challenge(self, request: web.Request, scopes: list[Scope], error: str = "") -> str:
        params = {"realm": self.realm(request), "service": self.config.service}
        if scopes:
            params["scope"] = scope_strings(scopes)
        if error:
            params["error"] = error
        return "Bearer " + challenge_params(**params)

    async def authorize(self, request: web.Request, scopes: list[Scope]) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized(self.challenge(request, scopes), scopes)
        try:
            claims = self.verifier.verify(token.strip())
        except jwt.InvalidTokenError as exc:
            raise unauthorized(self.challenge(request, scopes, "invalid_token"), scopes) from exc
        if not all(granted(claims.get("access"), scope) for scope in scopes):
            raise unauthorized(self.challenge(request, scopes, "insufficient_scope"), scopes)
        request["user"] = claims.get("sub") or ""


def build_authorizer(config: RegistryConfig) -> Authorizer | None:
    """The access controller a config asks for, or None for an open registry."""
    if config.htpasswd is not None:
        return HtpasswdAuthorizer(config.htpasswd)
    if config.token is not None:
        return TokenAuthorizer(config.token)
    return None
