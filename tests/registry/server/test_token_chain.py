"""Token certificate chains (x5c) are trusted as Go's x509.Verify trusts them."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dockyard.registry.server.token_certs import chain_trusted

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def _cert(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
    ca: bool | None = None,
    start: datetime.datetime = NOW - DAY,
    end: datetime.datetime = NOW + DAY,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(issuer_key, hashes.SHA256())


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_chains_through_a_valid_ca_are_trusted() -> None:
    root_key, mid_key, leaf_key = _key(), _key(), _key()
    root = _cert("root", root_key, ca=True)
    mid = _cert("mid", mid_key, ("root", root_key), ca=True)
    leaf = _cert("leaf", leaf_key, ("mid", mid_key))
    assert chain_trusted([leaf, mid], [root])
    assert chain_trusted([leaf], [leaf])  # the signing certificate itself in the bundle


def test_a_non_ca_or_expired_issuer_is_not_trusted() -> None:
    root_key, mid_key, leaf_key = _key(), _key(), _key()
    root = _cert("root", root_key, ca=True)
    not_ca = _cert("mid", mid_key, ("root", root_key), ca=False)
    leaf = _cert("leaf", leaf_key, ("mid", mid_key))
    assert not chain_trusted([leaf, not_ca], [root])
    expired = _cert("mid", mid_key, ("root", root_key), ca=True, end=NOW - DAY / 2)
    assert not chain_trusted([leaf, expired], [root])
    leaf_of_root = _cert("leaf", leaf_key, ("root", root_key))
    no_constraints_root = _cert("root", root_key)  # not marked as a CA at all
    assert not chain_trusted([leaf_of_root], [no_constraints_root])
