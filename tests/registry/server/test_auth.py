"""htpasswd basic auth and bearer tokens from the built-in issuer, through a real server."""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.registry.interop_fixtures import Server, dockyard_registry, free_port

from dockyard.registry.server.configtypes import AccessRule
from dockyard.registry.server.htpasswd import hash_password
from dockyard.registry.server.token_issuer import (
    InvalidTokenRequest,
    allowed_actions,
    generate_signing_key,
    parse_scope,
)

SERVICE = "dockyard-test"
ISSUER = "dockyard-test-issuer"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict[str, object]:
        result: dict[str, object] = json.loads(self.body)
        return result


def request(
    server: Server,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    path.write_text("".join(f"{u}:{hash_password(p, rounds=4)}\n" for u, p in users.items()))
    return path


# -- htpasswd ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("basic")
    htpasswd = write_htpasswd(tmp / "htpasswd", {"alice": "wonderland", "bob": "builder"})
    config = tmp / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage: {{filesystem: {{rootdirectory: {tmp / 'root'}}}}}\n"
        f"auth: {{htpasswd: {{realm: test-realm, path: {htpasswd}}}}}\n"
    )
    server = dockyard_registry(config, free_port(), tmp / "server.log")
    yield server
    server.stop()


def test_basic_auth_missing_credentials_get_a_challenge(basic_server: Server) -> None:
    response = request(basic_server, "GET", "/v2/")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="test-realm"'
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"  # type: ignore[index]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (basic("alice", "wonderland"), 200),
        (basic("bob", "builder"), 200),
        (basic("alice", "builder"), 401),
        (basic("mallory", "wonderland"), 401),
        ({"Authorization": "Basic !!notbase64"}, 401),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, 401),
        (bearer("a.b.c"), 401),
    ],
)
def test_basic_auth_checks_the_password(
    basic_server: Server, headers: dict[str, str], status: int
) -> None:
    response = request(basic_server, "GET", "/v2/", headers)
    assert response.status == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_basic_auth_covers_repository_routes(basic_server: Server) -> None:
    assert request(basic_server, "GET", "/v2/x/tags/list").status == 401
    ok = request(basic_server, "GET", "/v2/x/tags/list", basic("alice", "wonderland"))
    assert ok.status == 404  # authorized; the repository does not exist
    assert request(basic_server, "GET", "/v2/_catalog", basic("bob", "builder")).status == 200


# -- bearer tokens from the built-in issuer ------------------------------------------------


@dataclass
class TokenRegistry:
    server: Server
    key: Path
    realm: str

    def token(self, *scopes: str, credentials: tuple[str, str] | None = None) -> Response:
        query = urllib.parse.urlencode([("service", SERVICE), *(("scope", s) for s in scopes)])
        headers = basic(*credentials) if credentials else {}
        return request(self.server, "GET", f"/auth/token?{query}", headers)

    def bearer(self, *scopes: str, credentials: tuple[str, str] | None = None) -> dict[str, str]:
        response = self.token(*scopes, credentials=credentials)
        assert response.status == 200, response.body
        return bearer(str(response.json()["token"]))

    def forge(
        self,
        key_path: Path | None = None,
        headers: dict[str, object] | None = None,
        **claims: object,
    ) -> str:
        key = serialization.load_pem_private_key((key_path or self.key).read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": SERVICE,
            "sub": "alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "access": [{"type": "repository", "name": "alice/app", "actions": ["pull"]}],
        }
        return jwt.encode(
            {**body, **claims},
            key,
            algorithm="ES256",
            headers=headers,
        )


RULES = """
      - {repository: "public/*", anonymous: true, actions: [pull]}
      - {repository: "*", users: ["*"], actions: [pull]}
      - {repository: "alice/*", users: [alice], actions: [pull, push, delete]}
      - {catalog: true, users: [admin]}
"""


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    tmp = tmp_path_factory.mktemp("token")
    generate_signing_key(tmp / "token.key", tmp / "token.crt")
    htpasswd = write_htpasswd(tmp / "htpasswd", {"alice": "a-pw", "bob": "b-pw", "admin": "x"})
    port = free_port()
    realm = f"http://127.0.0.1:{port}/auth/token"
    config = tmp / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem: {{rootdirectory: {tmp / 'root'}}}\n"
        f"  delete: {{enabled: true}}\n"
        f"auth:\n  token: {{realm: '{realm}', service: {SERVICE}, issuer: {ISSUER},\n"
        f"          rootcertbundle: {tmp / 'token.crt'}}}\n"
        f"dockyard:\n  tokenissuer:\n    signingkey: {tmp / 'token.key'}\n"
        f"    htpasswd: {htpasswd}\n    rules:{RULES}"
    )
    server = dockyard_registry(config, port, tmp / "server.log")
    yield TokenRegistry(server, tmp / "token.key", realm)
    server.stop()


def challenge(response: Response) -> str:
    assert response.status == 401, response.body
    return response.headers["WWW-Authenticate"]


def test_challenge_names_realm_service_and_scope(tokens: TokenRegistry) -> None:
    header = challenge(request(tokens.server, "GET", "/v2/alice/app/tags/list"))
    assert header == (
        f'Bearer realm="{tokens.realm}",service="{SERVICE}",scope="repository:alice/app:pull"'
    )
    push = challenge(request(tokens.server, "POST", "/v2/alice/app/blobs/uploads/"))
    assert 'scope="repository:alice/app:pull,push"' in push


def test_anonymous_pull_follows_the_rules(tokens: TokenRegistry) -> None:
    public = tokens.bearer("repository:public/app:pull")
    assert request(tokens.server, "GET", "/v2/public/app/tags/list", public).status == 404
    private = tokens.bearer("repository:alice/app:pull")
    denied = challenge(request(tokens.server, "GET", "/v2/alice/app/tags/list", private))
    assert 'error="insufficient_scope"' in denied
    assert (
        jwt.decode(private["Authorization"][7:], options={"verify_signature": False})["access"]
        == []
    )


def test_push_needs_the_push_action(tokens: TokenRegistry) -> None:
    bob = tokens.bearer("repository:alice/app:pull,push", credentials=("bob", "b-pw"))
    assert request(tokens.server, "GET", "/v2/alice/app/tags/list", bob).status in (200, 404)
    refused = request(tokens.server, "POST", "/v2/alice/app/blobs/uploads/", bob)
    assert 'error="insufficient_scope"' in challenge(refused)
    alice = tokens.bearer("repository:alice/app:pull,push", credentials=("alice", "a-pw"))
    started = request(tokens.server, "POST", "/v2/alice/app/blobs/uploads/", alice)
    assert started.status == 202


def test_delete_needs_the_delete_action(tokens: TokenRegistry) -> None:
    path = "/v2/alice/app/manifests/sha256:" + "0" * 64
    push_only = tokens.bearer("repository:alice/app:pull,push", credentials=("alice", "a-pw"))
    assert 'error="insufficient_scope"' in challenge(
        request(tokens.server, "DELETE", path, push_only)
    )
    delete = tokens.bearer("repository:alice/app:delete", credentials=("alice", "a-pw"))
    assert request(tokens.server, "DELETE", path, delete).status == 404  # allowed, unknown


def test_catalog_needs_registry_catalog(tokens: TokenRegistry) -> None:
    header = challenge(request(tokens.server, "GET", "/v2/_catalog"))
    assert 'scope="registry:catalog:*"' in header
    alice = tokens.bearer("registry:catalog:*", credentials=("alice", "a-pw"))
    assert request(tokens.server, "GET", "/v2/_catalog", alice).status == 401
    admin = tokens.bearer("registry:catalog:*", credentials=("admin", "x"))
    assert request(tokens.server, "GET", "/v2/_catalog", admin).status == 200


def test_issuer_refuses_bad_credentials_and_bad_requests(tokens: TokenRegistry) -> None:
    wrong = tokens.token("repository:alice/app:pull", credentials=("alice", "nope"))
    assert wrong.status == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic ")
    assert tokens.token("repository:alice/app:pull", credentials=("eve", "x")).status == 401
    assert tokens.token("nonsense").status == 400
    other = request(tokens.server, "GET", "/auth/token?service=elsewhere")
    assert other.status == 400


def test_token_response_shape(tokens: TokenRegistry) -> None:
    body = tokens.token(
        "repository:alice/app:pull,push,delete", credentials=("alice", "a-pw")
    ).json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    assert str(body["issued_at"]).endswith("Z")
    claims = jwt.decode(str(body["token"]), options={"verify_signature": False})
    assert claims["iss"] == ISSUER and claims["aud"] == SERVICE and claims["sub"] == "alice"
    assert claims["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["delete", "pull", "push"]}
    ]


def test_oauth2_password_grant(tokens: TokenRegistry) -> None:
    form = {
        "grant_type": "password",
        "service": SERVICE,
        "client_id": "docker",
        "scope": "repository:alice/app:pull",
        "username": "alice",
        "password": "a-pw",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    ok = request(
        tokens.server, "POST", "/auth/token", headers, urllib.parse.urlencode(form).encode()
    )
    assert ok.status == 200 and ok.json()["scope"] == "repository:alice/app:pull"
    pulled = request(
        tokens.server, "GET", "/v2/alice/app/tags/list", bearer(str(ok.json()["access_token"]))
    )
    assert pulled.status in (200, 404)
    bad = request(
        tokens.server,
        "POST",
        "/auth/token",
        headers,
        urllib.parse.urlencode({**form, "password": "x"}).encode(),
    )
    assert bad.status == 401
    refresh = request(
        tokens.server,
        "POST",
        "/auth/token",
        headers,
        urllib.parse.urlencode({**form, "grant_type": "refresh_token"}).encode(),
    )
    assert refresh.status == 400


def test_forged_and_stale_tokens_are_rejected(tokens: TokenRegistry, tmp_path: Path) -> None:
    path = "/v2/alice/app/tags/list"
    good = tokens.forge()
    assert request(tokens.server, "GET", path, bearer(good)).status in (200, 404)
    generate_signing_key(tmp_path / "other.key", tmp_path / "other.crt")
    other_cert = base64.b64encode(
        serialization.load_pem_private_key((tmp_path / "other.key").read_bytes(), None)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    bad = {
        "wrong signature": tokens.forge(tmp_path / "other.key"),
        "untrusted x5c": tokens.forge(tmp_path / "other.key", headers={"x5c": [other_cert]}),
        "expired": tokens.forge(exp=int(time.time()) - 120),
        "not yet valid": tokens.forge(nbf=int(time.time()) + 600),
        "wrong audience": tokens.forge(aud="another-registry"),
        "wrong issuer": tokens.forge(iss="someone-else"),
        "garbage": "not-a-jwt",
    }
    for reason, token in bad.items():
        header = challenge(request(tokens.server, "GET", path, bearer(token)))
        assert 'error="invalid_token"' in header, reason


# -- rules and scopes (pure functions) -------------------------------------------------------


def test_rules_union_and_anonymous() -> None:
    rules = (
        AccessRule("public/*", False, (), True, frozenset({"pull"})),
        AccessRule("*", False, ("*",), False, frozenset({"pull"})),
        AccessRule("team/*", False, ("carol",), False, frozenset({"push"})),
        AccessRule(None, True, ("root",), False, frozenset({"*"})),
    )
    assert allowed_actions(rules, None, "repository", "public/x") == {"pull"}
    assert allowed_actions(rules, None, "repository", "team/x") == frozenset()
    assert allowed_actions(rules, "carol", "repository", "team/x") == {"pull", "push"}
    assert allowed_actions(rules, "carol", "registry", "catalog") == frozenset()
    assert allowed_actions(rules, "root", "registry", "catalog") == {"*"}


def test_parse_scope() -> None:
    assert parse_scope("repository:a/b:pull,push") == (
        "repository",
        "a/b",
        frozenset({"pull", "push"}),
    )
    assert parse_scope("repository(plugin):a:pull") == ("repository", "a", frozenset({"pull"}))
    assert parse_scope("registry:catalog:*") == ("registry", "catalog", frozenset({"*"}))
    with pytest.raises(InvalidTokenRequest):
        parse_scope("repository:a")
