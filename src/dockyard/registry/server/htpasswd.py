"""htpasswd users: reading bcrypt entries from the file (re-read when it changes),
checking passwords, hashing new entries, and the ``Authorization: Basic`` header they
are presented in. Used by the htpasswd access controller and the token issuer."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import time
from pathlib import Path

import bcrypt
from aiohttp import web

from dockyard.errors import AuthenticationFailed, ConfigError

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
