"""The certificates behind token signatures: the ``rootcertbundle`` PEM file, the
libtrust key ids (``kid``) distribution matches keys by, and whether a token's ``x5c``
chain leads to a trusted root as Go's x509.Verify would have it."""

from __future__ import annotations

import base64
import datetime
import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from dockyard.errors import ConfigError


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


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def valid_now(cert: x509.Certificate, now: datetime.datetime) -> bool:
    """Whether ``now`` is inside the certificate's validity period."""
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
        if not valid_now(cert, now):
            return False
        if position > 0 and not _may_sign(cert, position - 1):
            return False
        if cert in roots:
            return True
        if any(
            _issued_by(cert, root) and valid_now(root, now) and _may_sign(root, position)
            for root in roots
        ):
            return True
        following = chain[position + 1] if position + 1 < len(chain) else None
        if following is None or not _issued_by(cert, following):
            return False
    return False
