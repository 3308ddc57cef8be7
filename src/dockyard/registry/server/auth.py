"""Access controllers: htpasswd basic auth and bearer tokens (Docker's token spec).

Both implement ``authz.Authorizer``: ``authorize(request, scopes)`` returns when the
request may do what ``scopes`` name, and otherwise raises ``401 Unauthorized`` with the
spec's JSON error body and a ``WWW-Authenticate`` challenge, as distribution does:

- htpasswd: any valid user may do anything; the challenge is ``Basic realm="…"``.
- token: a JWT signed by a key whose certificate is in ``rootcertbundle``, issued by
  ``issuer`` for audience ``service``, inside exp/nbf (60 s leeway), whose ``access``
  claim grants every action requested. The challenge is ``Bearer realm,service,scope``
  plus ``error="invalid_token"`` / ``error="insufficient_scope"``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import functools
import hashlib
import time
from pathlib import Path

import bcrypt
import jwt
from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from dockyard.errors import AuthenticationFailed, ConfigError
from dockyard.registry.server.authz import (
    Authorizer,
    Scope,
    challenge_params,
    scope_strings,
    unauthorized,
)
from dockyard.registry.server.config import HtpasswdConfig, RegistryConfig, TokenConfig

LEEWAY = 60  # seconds of clock skew tolerated on exp/nbf, as distribution
DEFAULT_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
)
VerifyKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)
_VERIFIED_TTL = 60.0  # bcrypt costs ~50-250 ms: remember a verified password briefly


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic`` header, or None when absent."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthenticationFailed("malformed basic credentials", 401, "UNAUTHORIZED") from exc
    if not sep:
        raise AuthenticationFailed("malformed basic credentials", 401, "UNAUTHORIZED")
    return user, password


class Htpasswd:
    """Users from an htpasswd file of bcrypt entries; re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime_ns = -1
        self._users: dict[str, bytes] = {}
        self._verified: dict[tuple[str, bytes], float] = {}
        self._reload()

    def _reload(self) -> None:
        try:
            mtime_ns = self.path.stat().st_mtime_ns
            if mtime_ns == self._mtime_ns:
                return
            lines = self.path.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read htpasswd file {self.path}: {exc.strerror}") from exc
        users: dict[str, bytes] = {}
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, sep, hashed = line.strip().partition(":")
            if not sep or not hashed.startswith(("$2y$", "$2b$", "$2a$")):
                raise ConfigError(
                    f"{self.path}:{number}: expected user:bcrypt-hash "
                    "(create entries with `htpasswd -B`)"
                )
            users[user] = hashed.encode()
        self._users, self._mtime_ns, self._verified = users, mtime_ns, {}

    def check(self, user: str, password: str) -> bool:
        """True when the password is the user's (blocking: bcrypt is slow on purpose)."""
        self._reload()
        key = (user, hashlib.sha256(password.encode()).digest())
        if self._verified.get(key, 0.0) > time.monotonic():
            return True
        hashed = self._users.get(user)
        if hashed is None:
            # Spend the same bcrypt time, so that timing does not tell which users exist.
            bcrypt.checkpw(password.encode(), _unknown_user_hash())
            return False
        if not bcrypt.checkpw(password.encode(), hashed):
            return False
        self._verified[key] = time.monotonic() + _VERIFIED_TTL
        return True

    async def check_async(self, user: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self.check, user, password)


@functools.cache
def _unknown_user_hash() -> bytes:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(10))


def hash_password(password: str, rounds: int = 10) -> str:
    """An htpasswd bcrypt entry value, in the ``$2y$`` form ``htpasswd -B`` writes."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return "$2y$" + hashed[4:]


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


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle."""
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read certificate bundle {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"no valid PEM certificate in {path}: {exc}") from exc
    return certificates


def libtrust_key_id(key: PublicKeyTypes) -> str:
    """The ``kid`` distribution 2.x matches keys by (libtrust's fingerprint of the SPKI)."""
    from cryptography.hazmat.primitives import serialization

    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


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


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _valid_now(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _may_sign(issuer: x509.Certificate, below: int) -> bool:
    """A CA certificate allowed to sign a chain with ``below`` CA certificates under it
    (BasicConstraints CA, keyCertSign if KeyUsage is given, path length), as Go's
    x509.Verify demands of distribution's token chains."""
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca:
        return False
    if constraints.path_length is not None and below > constraints.path_length:
        return False
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.key_cert_sign


def chain_trusted(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> bool:
    """Whether the x5c chain (leaf first) is, or leads to, one of the root certificates:
    every certificate valid now, and every issuer a CA entitled to sign what is below."""
    now = datetime.datetime.now(datetime.UTC)
    for position, cert in enumerate(chain):
        if not _valid_now(cert, now):
            return False
        if position > 0 and not _may_sign(cert, position - 1):
            return False
        if cert in roots:
            return True
        if any(
            _issued_by(cert, root) and _valid_now(root, now) and _may_sign(root, position)
            for root in roots
        ):
            return True
        following = chain[position + 1] if position + 1 < len(chain) else None
        if following is None or not _issued_by(cert, following):
            return False
    return False


def _usable(keys: list[PublicKeyTypes]) -> list[VerifyKey]:
    usable = [k for k in keys if isinstance(k, VerifyKey)]
    if not usable:
        raise jwt.InvalidTokenError("no RSA, EC or EdDSA key to verify the token with")
    return usable


class TokenVerifier:
    """Checks a JWT's signature, issuer, audience and lifetime; returns its claims."""

    def __init__(self, config: TokenConfig) -> None:
        self.config = config
        self.roots = load_certificates(config.rootcertbundle)
        self.keys_by_id = {libtrust_key_id(c.public_key()): c.public_key() for c in self.roots}
        self.algorithms = list(config.signing_algorithms or DEFAULT_ALGORITHMS)

    def _candidate_keys(self, header: dict[str, object]) -> list[VerifyKey]:
        x5c = header.get("x5c")
        if isinstance(x5c, list) and x5c:
            try:
                chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
            except (ValueError, TypeError) as exc:
                raise jwt.InvalidTokenError("malformed x5c header") from exc
            leaf = chain[0]
            if not _valid_now(leaf, datetime.datetime.now(datetime.UTC)):
                raise jwt.InvalidTokenError("the signing certificate is not valid now")
            if not chain_trusted(chain, self.roots):
                raise jwt.InvalidTokenError("the signing certificate is not trusted")
            return _usable([leaf.public_key()])
        kid = header.get("kid")
        if isinstance(kid, str) and kid in self.keys_by_id:
            return _usable([self.keys_by_id[kid]])
        return _usable([root.public_key() for root in self.roots])

    def verify(self, token: str) -> dict[str, object]:
        """The verified claims; raises ``jwt.InvalidTokenError`` when anything is off."""
        header = jwt.get_unverified_header(token)
        keys = self._candidate_keys(header)
        for number, key in enumerate(keys, 1):
            try:
                claims: dict[str, object] = jwt.decode(
                    token,
                    key,
                    algorithms=self.algorithms,
                    audience=self.config.service,
                    issuer=self.config.issuer,
                    leeway=LEEWAY,
                    options={"require": ["exp", "iss", "aud"]},
                )
            except jwt.InvalidSignatureError:
                if number == len(keys):
                    raise
                continue
            return claims
        raise jwt.InvalidTokenError("no trusted key")


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
