"""Real registries on 127.0.0.1 for the pull / push tests: dockyard's own and CNCF
distribution (``docker-registry``), plain, with htpasswd, with TLS, with tokens."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.registry.interop_fixtures import Server, dockyard_registry, free_port

KINDS = ("dockyard", "distribution")
TOKEN_SERVICE = "dockyard-test"
TOKEN_ISSUER = "dockyard-test-issuer"


@dataclass
class Registry:
    server: Server
    kind: str
    scheme: str = "http"

    @property
    def addr(self) -> str:
        return self.server.addr


def start(kind: str, tmp: Path, auth: str = "", tls: tuple[Path, Path] | None = None,
          port: int | None = None) -> Registry:
    """A registry of ``kind`` with its storage under ``tmp``; ``auth`` is YAML (auth: ...)."""
    if kind == "distribution" and shutil.which("docker-registry") is None:
        pytest.skip("docker-registry (CNCF distribution) is not installed")
    port = port or free_port()
    http = f"http: {{addr: 127.0.0.1:{port}"
    if tls is not None:
        http += f", tls: {{certificate: {tls[0]}, key: {tls[1]}}}"
    config = tmp / f"{kind}-{port}.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp / f'storage-{port}'}}}}}\n"
        f"{http}}}\n{auth}"
    )
    log = tmp / f"{kind}-{port}.log"
    scheme = "https" if tls else "http"
    if kind == "dockyard":
        server = dockyard_registry(config, port, log, scheme=scheme)
    else:
        server = Server(["/usr/bin/docker-registry", "serve", str(config)], port, log,
                        scheme=scheme)
    return Registry(server, kind, scheme)


def htpasswd(path: Path, user: str, password: str) -> Path:
    """An htpasswd file made by apache2-utils' ``htpasswd -Bbn``, as the issue asks."""
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd (apache2-utils) is not installed")
    line = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True,
                          text=True, check=True).stdout.strip()
    path.write_text(line + "\n")
    return path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate for 127.0.0.1: (ca.crt, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("dockyard test CA"))
        .issuer_name(_name("dockyard test CA")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return paths


def token_auth(tmp: Path) -> tuple[str, int]:
    """YAML for a dockyard registry issuing its own tokens; (config text, port to use)."""
    from dockyard.registry.server.token_issuer import generate_signing_key

    generate_signing_key(tmp / "token.key", tmp / "token.crt")
    users = htpasswd(tmp / "token-htpasswd", "alice", "a-pw")
    port = free_port()
    realm = f"http://127.0.0.1:{port}/auth/token"
    text = (
        f"auth:\n  token: {{realm: '{realm}', service: {TOKEN_SERVICE}, issuer: {TOKEN_ISSUER},"
        f"\n          rootcertbundle: {tmp / 'token.crt'}}}\n"
        f"dockyard:\n  tokenissuer:\n    signingkey: {tmp / 'token.key'}\n"
        f"    htpasswd: {users}\n    rules:\n"
        "      - {repository: 'public/*', anonymous: true, actions: [pull]}\n"
        "      - {repository: 'alice/*', users: [alice], actions: [pull, push]}\n"
        "      - {catalog: true, users: [alice]}\n"
    )
    return text, port
