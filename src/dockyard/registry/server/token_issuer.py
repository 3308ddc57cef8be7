"""A built-in token server (Docker's token spec), so one process gives real token auth.

``GET <path>?service=S&scope=repository:x:pull,push&scope=…`` with Basic credentials
(or none, for anonymous access) answers ``{"token", "access_token", "expires_in",
"issued_at"}``; ``POST <path>`` with an OAuth2 ``grant_type=password`` form (what
``docker login`` may try first) answers ``{"access_token", "scope", …}``. Each
requested action is granted when a rule of ``dockyard.tokenissuer.rules`` allows it
(see config.py); unknown users or wrong passwords get 401, never a weaker token.

The token is a JWT signed with ``signingkey``, carrying the matching certificate of
``auth.token.rootcertbundle`` in its ``x5c`` header and distribution's libtrust
``kid``, so distribution itself accepts it too. Make a key and a certificate with
``dockyard registry gen-key KEY CERT`` (or ``openssl req -x509 -newkey ec
-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout token.key -out token.crt``).
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import json
import re
import secrets
import time
from pathlib import Path

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from dockyard.errors import AuthenticationFailed, ConfigError
from dockyard.registry.server.auth import (
    Htpasswd,
    basic_credentials,
    libtrust_key_id,
    load_certificates,
)
from dockyard.registry.server.config import AccessRule, TokenConfig, TokenIssuerConfig
from dockyard.registry.server.jsonbody import json_response

_SCOPE_RE = re.compile(r"^([a-z0-9]+)(?:\([a-z0-9]+\))?:(.+):([a-z*]+(?:,[a-z*]+)*)\Z")
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class InvalidTokenRequest(AuthenticationFailed):
    """A token request that is malformed (bad scope, wrong service, unknown grant)."""


def parse_scope(text: str) -> tuple[str, str, frozenset[str]]:
    """``repository:name:pull,push`` → (type, name, actions); the name may hold ``:``."""
    match = _SCOPE_RE.match(text)
    if match is None:
        raise InvalidTokenRequest(f"invalid scope {text!r}", 400, "INVALID_REQUEST")
    return match.group(1), match.group(2), frozenset(match.group(3).split(","))


def allowed_actions(
    rules: tuple[AccessRule, ...], user: str | None, resource_type: str, name: str
) -> frozenset[str]:
    """The union of the actions every matching rule grants ``user`` (None: anonymous)."""
    allowed: set[str] = set()
    for rule in rules:
        if rule.catalog:
            if (resource_type, name) != ("registry", "catalog"):
                continue
        elif resource_type != "repository" or not fnmatch.fnmatchcase(name, rule.repository or ""):
            continue
        # An anonymous grant also applies to signed-in users: logging in never loses access.
        if rule.anonymous or (user is not None and ("*" in rule.users or user in rule.users)):
            allowed |= rule.actions
    return frozenset(allowed)


def _algorithm(key: SigningKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    return {256: "ES256", 384: "ES384", 521: "ES512"}.get(key.curve.key_size, "")


def load_signing_key(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"cannot read token signing key {path}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, SigningKey) or not _algorithm(key):
        raise ConfigError(f"{path}: use an RSA, EC (P-256/384/521) or Ed25519 key")
    return key


class TokenIssuer:
    """Authenticates users, applies the rules and signs tokens."""

    def __init__(self, config: TokenIssuerConfig, token: TokenConfig) -> None:
        self.config = config
        self.token = token
        self.key = load_signing_key(config.signing_key)
        self.algorithm = _algorithm(self.key)
        public = self.key.public_key()
        certificate = next(
            (c for c in load_certificates(token.rootcertbundle) if c.public_key() == public), None
        )
        if certificate is None:
            raise ConfigError(
                f"{config.signing_key}: no certificate for this key in "
                f"{token.rootcertbundle}; the registry would refuse its tokens"
            )
        self.headers = {
            "kid": libtrust_key_id(public),
            "x5c": [
                base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
            ],
        }
        self.users = Htpasswd(config.htpasswd) if config.htpasswd else None

    async def authenticate(self, user: str, password: str) -> str:
        if self.users is None or not await self.users.check_async(user, password):
            raise AuthenticationFailed("invalid username or password", 401, "UNAUTHORIZED")
        return user

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, object]]:
        """The ``access`` claim: each requested resource with the actions it may have."""
        access: list[dict[str, object]] = []
        for text in (s for param in scopes for s in param.split()):
            resource_type, name, wanted = parse_scope(text)
            allowed = allowed_actions(self.config.rules, user, resource_type, name)
            actions = wanted if "*" in allowed else wanted & allowed
            if actions:
                access.append({"type": resource_type, "name": name, "actions": sorted(actions)})
        return access

    def sign(self, user: str | None, access: list[dict[str, object]]) -> dict[str, object]:
        now = int(time.time())
        expires_in = max(1, int(self.config.expiration))
        claims = {
            "iss": self.token.issuer,
            "sub": user or "",
            "aud": self.token.service,
            "exp": now + expires_in,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, self.key, algorithm=self.algorithm, headers=self.headers)
        issued = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat()
        return {
            "token": token,
            "access_token": token,
            "expires_in": expires_in,
            "issued_at": issued.replace("+00:00", "Z"),
        }

    def _check_service(self, service: str | None) -> None:
        if service and service != self.token.service:
            raise InvalidTokenRequest(f"unknown service {service!r}", 400, "INVALID_REQUEST")

    async def handle_get(self, request: web.Request) -> web.Response:
        try:
            self._check_service(request.query.get("service"))
            credentials = basic_credentials(request)
            user = await self.authenticate(*credentials) if credentials else None
            body = self.sign(user, self.grant(user, request.query.getall("scope", [])))
        except AuthenticationFailed as exc:
            return self._error(exc)
        return json_response(body)

    async def handle_post(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            if fields.get("grant_type") != "password":
                raise InvalidTokenRequest(
                    "unsupported grant_type (use password)", 400, "unsupported_grant_type"
                )
            self._check_service(fields.get("service"))
            user = await self.authenticate(fields.get("username", ""), fields.get("password", ""))
            body = self.sign(user, self.grant(user, [fields.get("scope", "")]))
        except AuthenticationFailed as exc:
            return self._error(exc)
        body["scope"] = fields.get("scope", "")
        return json_response(body)

    def _error(self, exc: AuthenticationFailed) -> web.Response:
        headers = {"WWW-Authenticate": f'Basic realm="{self.token.service}"'}
        body = {"errors": [{"code": exc.code, "message": str(exc), "detail": None}]}
        return web.Response(
            status=exc.status or 401,
            text=json.dumps(body),
            content_type="application/json",
            headers=headers if exc.status == 401 else None,
        )


def add_token_routes(app: web.Application, issuer: TokenIssuer) -> None:
    """Serve the issuer at its path on the registry's own application."""
    app.router.add_get(issuer.config.path, issuer.handle_get)
    app.router.add_post(issuer.config.path, issuer.handle_post)


def generate_signing_key(
    key_path: Path, cert_path: Path, common_name: str = "dockyard-token", days: int = 3650
) -> None:
    """Write a P-256 private key and its self-signed certificate (for rootcertbundle)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
