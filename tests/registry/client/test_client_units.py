"""Unit tests of the registry client's pure parts: challenges, daemon.json, endpoints,
credentials (file and helper), progress rendering, manifest serialisation."""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.engine.credentials import CredentialStore
from dockyard.engine.progress import ProgressOutput, human_size, progress_text
from dockyard.errors import ConfigError
from dockyard.image import mediatypes as mt
from dockyard.registry.client.auth import Authorizer, Credentials, parse_challenges
from dockyard.registry.client.config import (
    DaemonConfig,
    api_host,
    auth_key,
    load_daemon_config,
    normalize_server,
)
from dockyard.registry.client.endpoints import endpoints_for
from dockyard.registry.client.manifests import BlobRef, image_manifest


def test_challenges() -> None:
    found = parse_challenges(
        'Bearer realm="https://auth.example/token",service="registry",'
        'scope="repository:a/b:pull,push", Basic realm="x"'
    )
    assert [c.scheme for c in found] == ["bearer", "basic"]
    assert found[0].params == {
        "realm": "https://auth.example/token",
        "service": "registry",
        "scope": "repository:a/b:pull,push",
    }


def test_docker_hub_names() -> None:
    assert api_host("docker.io") == "registry-1.docker.io"
    assert api_host("127.0.0.1:5000") == "127.0.0.1:5000"
    assert auth_key("docker.io") == "https://index.docker.io/v1/"
    assert normalize_server(None) == "docker.io"
    assert normalize_server("https://index.docker.io/v1/") == "docker.io"
    assert normalize_server("http://127.0.0.1:5000/") == "127.0.0.1:5000"


def test_insecure_registries_and_endpoints(tmp_path: Path) -> None:
    config = DaemonConfig(insecure_registries=("myreg:5000", "10.0.0.0/8"),
                          registry_mirrors=("http://127.0.0.1:6000",), certs_dir=tmp_path)
    assert config.is_insecure("127.0.0.1:5000") and config.is_insecure("localhost:5000")
    assert config.is_insecure("myreg:5000") and config.is_insecure("10.1.2.3:443")
    assert not config.is_insecure("192.0.2.1:5000")
    assert not DaemonConfig(loopback_insecure=False).is_insecure("127.0.0.1:5000")
    hub = endpoints_for(config, "docker.io")
    assert [e.base_url for e in hub[0]] == ["http://127.0.0.1:6000"]
    assert [e.base_url for e in hub[1]] == ["https://registry-1.docker.io"]
    assert len(endpoints_for(config, "docker.io", push=True)) == 1  # mirrors only for pulls
    local = endpoints_for(config, "127.0.0.1:5000")[0]
    assert [e.base_url for e in local] == ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]
    # an insecure host's TLS verifies nothing; a secure one's trusts the system CAs
    assert isinstance(local[0].ssl, ssl.SSLContext)
    assert local[0].ssl.verify_mode == ssl.CERT_NONE and not local[0].ssl.check_hostname
    secure = endpoints_for(config, "192.0.2.1:5000")[0][0].ssl
    assert isinstance(secure, ssl.SSLContext) and secure.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("user_value", [None, "/etc/my-ca.pem"])
def test_importing_the_registry_package_leaves_ssl_cert_file_as_it_was(
    user_value: str | None,
) -> None:
    """The package hides the CA bundle from aiohttp's import only (see its docstring)."""
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    if user_value is not None:
        env["SSL_CERT_FILE"] = user_value
    code = ("import os, dockyard.registry.client.transport, aiohttp; "
            "print(os.environ.get('SSL_CERT_FILE'))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == str(user_value)


def test_daemon_json(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    assert load_daemon_config(path).max_concurrent_downloads == 3
    path.write_text(json.dumps({"max-concurrent-downloads": 7, "registry-mirrors": ["a/"]}))
    loaded = load_daemon_config(path)
    assert loaded.max_concurrent_downloads == 7 and loaded.registry_mirrors == ("a",)
    path.write_text(json.dumps({"max-concurrent-uploads": 0}))
    with pytest.raises(ConfigError):
        load_daemon_config(path)


def test_credentials_in_docker_config_format(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    assert store.get("127.0.0.1:5000") is None
    assert store.store("127.0.0.1:5000", Credentials("mhk", "pw:with:colons"))
    assert store.store("docker.io", Credentials("hub", "x"))
    data = json.loads((tmp_path / "config.json").read_text())
    assert set(data["auths"]) == {"127.0.0.1:5000", "https://index.docker.io/v1/"}
    assert stat.S_IMODE((tmp_path / "config.json").stat().st_mode) == 0o600
    assert store.get("127.0.0.1:5000") == Credentials("mhk", "pw:with:colons")
    assert store.get("index.docker.io") == Credentials("hub", "x")
    assert store.erase("127.0.0.1:5000") and not store.erase("127.0.0.1:5000")
    assert store.get("127.0.0.1:5000") is None


def test_credential_helper_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    vault = tmp_path / "vault.json"
    helper = bin_dir / "docker-credential-test"
    helper.write_text(f"""#!/usr/bin/env python3
import json, sys
path = {str(vault)!r}
try:
    vault = json.load(open(path))
except FileNotFoundError:
    vault = {{}}
action, data = sys.argv[1], sys.stdin.read()
if action == "store":
    entry = json.loads(data); vault[entry["ServerURL"]] = entry
elif action == "get":
    if data.strip() not in vault:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(vault[data.strip()]))
elif action == "erase":
    vault.pop(data.strip(), None)
json.dump(vault, open(path, "w"))
""")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "test"}))
    store = CredentialStore(tmp_path)
    assert store.get("reg:1") is None
    assert not store.store("reg:1", Credentials("u", "secret"))  # not in the plain file
    assert "secret" not in (tmp_path / "config.json").read_text()
    assert store.get("reg:1") == Credentials("u", "secret")
    assert store.erase("reg:1")
    assert store.get("reg:1") is None


def test_progress_rendering(tmp_path: Path) -> None:
    assert human_size(2_010_000) == "2.01MB" and human_size(321) == "321B"
    assert progress_text(50, 100, 120) == f"[{'=' * 25}>{' ' * 25}]      50B/100B"
    assert progress_text(100, 100, 80) == "    100B/100B"
    plain = tmp_path / "plain.txt"
    with plain.open("w") as out:
        output = ProgressOutput(out, tty=False)
        output.line("latest: Pulling from library/busybox")
        output.status("abc", "Pulling fs layer")
        output.progress("abc", "Downloading", 5, 10)
        output.busy("abc", "Extracting")
        output.status("abc", "Pull complete")
    assert plain.read_text().splitlines() == [
        "latest: Pulling from library/busybox", "abc: Pulling fs layer", "abc: Pull complete",
    ]
    tty = tmp_path / "tty.txt"
    with tty.open("w") as out:
        output = ProgressOutput(out, tty=True)
        output.status("a", "Waiting")
        output.status("b", "Waiting")
        output.status("a", "Pull complete")
    assert tty.read_bytes().decode() == (
        "\n\x1b[1A\x1b[2K\ra: Waiting\r\x1b[1B"
        "\n\x1b[1A\x1b[2K\rb: Waiting\r\x1b[1B"
        "\x1b[2A\x1b[2K\ra: Pull complete\r\x1b[2B"
    )


def test_pushed_manifest_is_serialised_like_docker() -> None:
    config = b'{"architecture":"amd64"}'
    layer = BlobRef(Digest.of_bytes(b"x"), 1, mt.OCI_LAYER_GZIP)
    raw, media_type = image_manifest(config, [layer])
    assert media_type == mt.DOCKER_MANIFEST
    assert raw.decode() == (
        "{\n"
        '   "schemaVersion": 2,\n'
        f'   "mediaType": "{mt.DOCKER_MANIFEST}",\n'
        '   "config": {\n'
        f'      "mediaType": "{mt.DOCKER_CONFIG}",\n'
        f'      "size": {len(config)},\n'
        f'      "digest": "{Digest.of_bytes(config)}"\n'
        "   },\n"
        '   "layers": [\n'
        "      {\n"
        f'         "mediaType": "{mt.DOCKER_LAYER_GZIP}",\n'
        '         "size": 1,\n'
        f'         "digest": "{layer.digest}"\n'
        "      }\n"
        "   ]\n"
        "}"
    )


def test_a_basic_challenge_without_a_realm_is_answered_and_forgotten_cleanly() -> None:
    """``WWW-Authenticate: Basic`` with no realm (some registries send it) crashed the
    client when it dropped the token it never had."""
    import asyncio

    async def no_fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        raise AssertionError("Basic auth fetches no token")

    alice = Credentials("alice", "secret")
    auth = Authorizer(alice, no_fetch)
    assert auth.learn("Basic")
    assert asyncio.run(auth.header(("repository:x:pull",))) == alice.basic()
    auth.forget_token(("repository:x:pull",))
