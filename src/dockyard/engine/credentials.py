"""Registry credentials in docker's ``config.json``, so docker and dockyard share logins.

``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``)::

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"}},
     "credsStore": "pass", "credHelpers": {"gcr.io": "gcloud"}}

A credential helper is ``docker-credential-<name> get|store|erase`` speaking JSON on
stdin/stdout; ``credHelpers`` picks one per registry, ``credsStore`` is the default.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.registry.client.auth import Credentials
from dockyard.registry.client.config import auth_key

_NOT_FOUND = "credentials not found"


def config_dir() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def _hostname(key: str) -> str:
    """docker's ConvertToHostname: ``https://host/v1/`` -> ``host``."""
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return key.split("/", 1)[0]


class CredentialStore:
    """Reads and writes credentials as the docker CLI does."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or config_dir()) / "config.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"loading config file {self.path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"loading config file {self.path}: not a JSON object")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent="\t")
        os.replace(temporary, self.path)

    def _helper(self, data: dict[str, Any], key: str) -> str | None:
        helpers = data.get("credHelpers") or {}
        name = helpers.get(key) or helpers.get(_hostname(key)) or data.get("credsStore")
        return str(name) if name else None

    def get(self, domain: str) -> Credentials | None:
        """The credentials stored for a registry domain, if any."""
        key = auth_key(domain)
        data = self._load()
        helper = self._helper(data, key)
        if helper:
            return _helper_get(helper, key)
        auths: dict[str, Any] = data.get("auths") or {}
        entry = auths.get(key)
        if entry is None:
            host = _hostname(key)
            entry = next((v for k, v in auths.items() if _hostname(k) == host), None)
        return _decode_entry(entry) if isinstance(entry, dict) else None

    def store(self, domain: str, credentials: Credentials) -> bool:
        """Save credentials; True when they went into config.json in plain text."""
        key = auth_key(domain)
        data = self._load()
        auths = data.setdefault("auths", {})
        helper = self._helper(data, key)
        if helper:
            payload = {"ServerURL": key, "Username": credentials.username,
                       "Secret": credentials.password}
            _run_helper(helper, "store", json.dumps(payload))
            auths[key] = {}
        else:
            raw = f"{credentials.username}:{credentials.password}".encode()
            auths[key] = {"auth": base64.b64encode(raw).decode()}
        self._save(data)
        return helper is None

    def erase(self, domain: str) -> bool:
        """Forget a registry's credentials; False if there were none."""
        key = auth_key(domain)
        data = self._load()
        auths: dict[str, Any] = data.get("auths") or {}
        known = [k for k in auths if k == key or _hostname(k) == _hostname(key)]
        helper = self._helper(data, key)
        if helper:
            try:
                _run_helper(helper, "erase", key)
                found = True
            except ConfigError:
                found = bool(known)
        else:
            found = bool(known)
        for k in known:
            del auths[k]
        if known:
            self._save(data)
        return found


def _decode_entry(entry: dict[str, Any]) -> Credentials | None:
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"invalid auth entry in config.json: {exc}") from exc
        return Credentials(user, password)
    if entry.get("username"):
        return Credentials(str(entry["username"]), str(entry.get("password", "")))
    return None


def _helper_get(helper: str, key: str) -> Credentials | None:
    try:
        out = _run_helper(helper, "get", key)
    except ConfigError as exc:
        if _NOT_FOUND in str(exc).lower():
            return None
        raise
    try:
        data = json.loads(out)
        return Credentials(str(data["Username"]), str(data["Secret"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"docker-credential-{helper} get: bad answer: {exc}") from exc


def _run_helper(helper: str, action: str, stdin: str) -> str:
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, action], check=False, input=stdin, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError as exc:
        raise ConfigError(f"error getting credentials - {program} not found in $PATH") from exc
    if done.returncode != 0:
        message = (done.stdout or done.stderr).strip()
        raise ConfigError(f"{program} {action}: {message}")
    return done.stdout


def login(server: str | None, username: str, password: str) -> Path | None:
    """Check the credentials with the registry, then save them; the plain file, if used."""
    import asyncio

    from dockyard.registry.client.config import load_daemon_config, normalize_server
    from dockyard.registry.client.login import check_login

    domain = normalize_server(server)
    credentials = Credentials(username, password)
    asyncio.run(check_login(load_daemon_config(), domain, credentials))
    store = CredentialStore()
    return store.path if store.store(domain, credentials) else None


def logout(server: str | None) -> str:
    """Forget a registry's credentials; returns docker's message."""
    from dockyard.registry.client.config import normalize_server

    domain = normalize_server(server)
    shown = auth_key(domain)
    if not CredentialStore().erase(domain):
        return f"Not logged in to {shown}"
    return f"Removing login credentials for {shown}"
