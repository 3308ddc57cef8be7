"""What a request needs to be allowed, and the contract for whoever decides.

Every handler calls ``Authorizer.authorize(request, scopes)`` before touching
storage. Scopes follow Docker's token spec:

    GET /v2/                          []                                  (any valid credentials)
    GET/HEAD blobs, manifests, tags,  [repository:<name>:pull]
      referrers, upload status
    POST/PATCH/PUT uploads, PUT       [repository:<name>:pull,push]
      manifests, DELETE upload
    mount ?mount=&from=<src>          [repository:<name>:pull,push] then, separately,
                                      [repository:<src>:pull]; refusal of the second
                                      only turns the mount into a plain upload (202)
    DELETE blobs, manifests, tags     [repository:<name>:delete]
    GET /v2/_catalog                  [registry:catalog:*]

Contract for implementations (basic/htpasswd, bearer JWT, ...):
- Return None when the request's credentials grant every scope in ``scopes``.
- No or invalid credentials: raise ``unauthorized(challenge, scopes)`` (401 with
  ``WWW-Authenticate``; for bearer, ``Bearer realm=..,service=..,scope=..`` built
  from ``scope_strings(scopes)``).
- Valid credentials lacking a scope: raise ``denied(scopes)`` (403), or 401 with the
  challenge when a fresh token could grant it (what distribution's token auth does).
- It may stash the authenticated user in ``request["user"]`` for the access log.
- It must not read the body; it is called once or twice per request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from dockyard.registry.server.errors import error_body


@dataclass(frozen=True, slots=True)
class Scope:
    type: str  # "repository" or "registry"
    name: str  # repository name, or "catalog"
    actions: tuple[str, ...]  # ("pull",), ("pull", "push"), ("delete",), ("*",)

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


class Authorizer(Protocol):
    async def authorize(self, request: web.Request, scopes: list[Scope]) -> None: ...


def pull(name: str) -> Scope:
    return Scope("repository", name, ("pull",))


def push(name: str) -> Scope:
    return Scope("repository", name, ("pull", "push"))


def delete(name: str) -> Scope:
    return Scope("repository", name, ("delete",))


CATALOG = Scope("registry", "catalog", ("*",))


def scope_strings(scopes: list[Scope]) -> str:
    """Space-separated scopes as they go into a Bearer challenge's ``scope``."""
    return " ".join(str(scope) for scope in scopes)


def _detail(scopes: list[Scope]) -> list[dict[str, str]]:
    return [
        {"Type": s.type, "Name": s.name, "Action": action} for s in scopes for action in s.actions
    ]


def unauthorized(challenge: str, scopes: list[Scope]) -> web.HTTPUnauthorized:
    """401 with the spec's JSON body and the given ``WWW-Authenticate`` challenge."""
    return web.HTTPUnauthorized(
        text=error_body("UNAUTHORIZED", detail=_detail(scopes) or None),
        content_type="application/json",
        headers={
            "WWW-Authenticate": challenge,
            "Docker-Distribution-API-Version": "registry/2.0",
        },
    )


def denied(scopes: list[Scope]) -> web.HTTPForbidden:
    """403 DENIED with the spec's JSON body."""
    return web.HTTPForbidden(
        text=error_body("DENIED", detail=_detail(scopes) or None),
        content_type="application/json",
        headers={"Docker-Distribution-API-Version": "registry/2.0"},
    )


def challenge_params(**params: str) -> str:
    """``key="value"`` pairs for a challenge, quoted as RFC 7235 wants."""
    return ",".join(f"{key}={json.dumps(value)}" for key, value in params.items())
