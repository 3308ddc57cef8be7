"""Verifying a bearer token (a JWT): a key from its ``x5c`` chain, its ``kid`` or the
root bundle, then signature, issuer, audience and exp/nbf as distribution checks them."""

from __future__ import annotations

import base64
import datetime

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from dockyard.registry.server.configtypes import TokenConfig
from dockyard.registry.server.token_certs import (
    chain_trusted,
    libtrust_key_id,
    load_certificates,
    valid_now,
)

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
            if not valid_now(leaf, datetime.datetime.now(datetime.UTC)):
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
