"""Parsing distribution's config format, REGISTRY_* overrides and the dockyard section."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.registry.interop_fixtures import dockyard_registry, free_port

from dockyard.errors import ConfigError
from dockyard.registry.server.config import load_config
from dockyard.registry.server.configfile import parse_addr, parse_duration
from dockyard.registry.server.configruntime import server_settings, ssl_context
from dockyard.registry.server.configtypes import RegistryConfig

FULL = """
version: 0.1
log: {level: info, fields: {service: registry}}
storage:
  filesystem: {rootdirectory: /srv/registry}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
  maintenance:
    uploadpurging: {enabled: true, age: 72h, interval: 12h30m, dryrun: false}
    readonly: {enabled: false}
http:
  addr: 127.0.0.1:5123
  host: https://registry.example:5123
  headers: {X-Content-Type-Options: [nosniff]}
auth:
  token:
    realm: http://127.0.0.1:5123/auth/token
    service: dockyard
    issuer: dockyard-issuer
    rootcertbundle: /etc/token.crt
dockyard:
  gc: {grace: 30m}
  tokenissuer:
    signingkey: /etc/token.key
    htpasswd: /etc/htpasswd
    expiration: 10m
    rules:
      - {repository: "public/*", anonymous: true, actions: [pull]}
      - {repository: "alice/*", users: [alice], actions: [pull, push, delete]}
      - {catalog: true, users: [admin]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_full_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    assert config.root == Path("/srv/registry")
    assert (config.host, config.port) == ("127.0.0.1", 5123)
    assert config.delete_enabled and not config.readonly
    assert config.purging.age == 72 * 3600 and config.purging.interval == 12.5 * 3600
    assert config.http_host == "https://registry.example:5123"
    assert config.token is not None and config.token.service == "dockyard"
    assert config.gc_grace == 1800
    issuer = config.issuer
    assert issuer is not None
    assert issuer.path == "/auth/token" and issuer.expiration == 600
    assert issuer.rules[0].anonymous and issuer.rules[0].actions == {"pull"}
    assert issuer.rules[1].users == ("alice",)
    assert issuer.rules[2].catalog and issuer.rules[2].actions == {"*"}


def test_no_file_gives_distribution_defaults() -> None:
    config = load_config(None, environ={})
    assert config == RegistryConfig(root=Path("/var/lib/registry"), host="0.0.0.0", port=5000)


def test_environment_overrides_like_distribution(tmp_path: Path) -> None:
    env = {
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data",
        "REGISTRY_HTTP_ADDR": "127.0.0.2:6000",
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_MAINTENANCE_READONLY": "{enabled: true}",
        "REGISTRY_AUTH_HTPASSWD_REALM": "basic",
        "REGISTRY_AUTH_HTPASSWD_PATH": "/etc/htpasswd",
        "REGISTRY_DOCKYARD_GC_GRACE": "2h",
        "REGISTRY_SOMETHING_ELSE": "x",
        "NOT_REGISTRY": "y",
    }
    config = load_config(None, environ=env)
    assert config.root == Path("/data")
    assert (config.host, config.port) == ("127.0.0.2", 6000)
    assert config.delete_enabled and config.readonly
    assert config.htpasswd is not None and config.htpasswd.realm == "basic"
    assert config.gc_grace == 7200
    assert config.ignored_env == ("REGISTRY_SOMETHING_ELSE",)


def test_environment_beats_file_and_matches_keys_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 0.1\nstorage: {filesystem: {rootdirectory: /a}}\n")
    config = load_config(path, environ={"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/b"})
    assert config.root == Path("/b")


def test_environment_sets_list_items(tmp_path: Path) -> None:
    text = FULL.replace("alice/*", "bob/*")
    env = {
        "REGISTRY_DOCKYARD_TOKENISSUER_RULES_1_REPOSITORY": "alice/*",
        "REGISTRY_DOCKYARD_TOKENISSUER_RULES_3": "{repository: x, users: [x], actions: [pull]}",
    }
    config = load_config(write(tmp_path, text), environ=env)
    assert config.issuer is not None
    assert config.issuer.rules[1].repository == "alice/*"
    assert config.issuer.rules[3].repository == "x"


def test_server_settings(tmp_path: Path) -> None:
    text = (
        "version: 0.1\nstorage:\n  filesystem: {rootdirectory: /r}\n  maintenance:\n"
        "    uploadpurging: {enabled: false}\n    readonly: {enabled: true}\n"
    )
    settings = server_settings(load_config(write(tmp_path, text), environ={}))
    assert settings.root == Path("/r") and settings.readonly
    assert settings.upload_purge_age is None and settings.authorizer is None


def test_location_urls_and_purge_dry_run_reach_the_server(tmp_path: Path) -> None:
    text = (
        "version: 0.1\nstorage:\n  filesystem: {rootdirectory: /r}\n  maintenance:\n"
        "    uploadpurging: {enabled: true, age: 1h, interval: 1h, dryrun: true}\n"
        "http: {addr: 127.0.0.1:5000, host: 'https://registry.example.com', relativeurls: true}\n"
    )
    settings = server_settings(load_config(write(tmp_path, text), environ={}))
    assert settings.relative_urls and settings.base_url == "https://registry.example.com"
    assert settings.upload_purge_age == 3600 and settings.upload_purge_dryrun


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 0.1\nstorage: [1\n", "invalid YAML"),
        ("- a\n- b\n", "mapping at the top level"),
        ("version: 0.2\n", "unsupported version"),
        ("version: 0.1\nstorage: {s3: {bucket: b}}\n", "unsupported driver 's3'"),
        ("version: 0.1\nstorage: {delete: {enabled: maybe}}\n", "storage.delete.enabled"),
        ("version: 0.1\nstorage: {delete: {enable: true}}\n", "storage.delete.enable: unknown"),
        (
            "version: 0.1\nstorage: {maintenance: {uploadpurging: {age: 3days}}}\n",
            "invalid duration",
        ),
        ("version: 0.1\nhttp: {addr: localhost}\n", "expected HOST:PORT"),
        ("version: 0.1\nhttp: {addr: ':99999'}\n", "expected HOST:PORT"),
        ("version: 0.1\nhttp: {net: unix, addr: /tmp/s:1}\n", "only tcp"),
        ("version: 0.1\nhttp: {tls: {certificate: c}}\n", "http.tls.key: required"),
        ("version: 0.1\nauth: {htpasswd: {realm: r}}\n", "auth.htpasswd.path: required"),
        (
            "version: 0.1\nauth: {htpasswd: {realm: r, path: p}, token: {realm: r}}\n",
            "either htpasswd or token",
        ),
        ("version: 0.1\nauth: {silly: {realm: r}}\n", "auth.silly: unknown"),
        ("version: 0.1\nfoo: 1\n", "foo: unknown key"),
        ("version: 0.1\ndockyard: {tokenissuer: {signingkey: k}}\n", "needs auth.token"),
    ],
)
def test_bad_config_is_a_clear_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), environ={})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('{repository: "a/*", users: [a], actions: [pull, write]}', "some of pull, push"),
        ('{repository: "a/*", actions: [pull]}', "grants nothing"),
        ('{catalog: true, repository: "a", users: [a]}', "exactly one of repository"),
        ('{repository: "a/*", users: [a], actions: [pull], groups: [x]}', "groups: unknown"),
    ],
)
def test_bad_rules(tmp_path: Path, rule: str, message: str) -> None:
    text = FULL.replace("{catalog: true, users: [admin]}", rule)
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), environ={})


def test_missing_file_and_bad_env_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yml", environ={})
    with pytest.raises(ConfigError, match="REGISTRY_HTTP_ADDR"):
        load_config(None, environ={"REGISTRY_HTTP_ADDR": "[unclosed"})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("168h", 604800.0), ("1h30m", 5400.0), ("1.5s", 1.5), ("500ms", 0.5), ("0", 0.0)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        (":5000", ("0.0.0.0", 5000)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]:5000", ("::1", 5000)),
    ],
)
def test_addresses(addr: str, expected: tuple[str, int]) -> None:
    assert parse_addr(addr) == expected


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return tmp_path / "tls.crt", tmp_path / "tls.key"


def test_serve_with_tls_from_the_config(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    config = write(
        tmp_path,
        f"version: 0.1\nstorage: {{filesystem: {{rootdirectory: {tmp_path / 'root'}}}}}\n"
        f"http: {{tls: {{certificate: {cert}, key: {key}}}}}\n",
    )
    port = free_port()
    server = dockyard_registry(config, port, tmp_path / "server.log", scheme="https")
    try:
        context = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/v2/", context=context) as reply:
            assert reply.status == 200
            assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    finally:
        server.stop()


def test_bad_tls_files_are_a_config_error(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, f"version: 0.1\nhttp: {{tls: {{certificate: {tmp_path}/c, key: k}}}}\n"),
        environ={},
    )
    assert config.tls is not None
    with pytest.raises(ConfigError, match=r"http\.tls: cannot load"):
        ssl_context(config.tls)
