"""Checking credentials against a registry, as ``docker login`` does (GET /v2/)."""

from __future__ import annotations

import json

from dockyard.errors import AuthenticationFailed, RegistryError
from dockyard.registry.client.auth import Credentials
from dockyard.registry.client.config import DaemonConfig
from dockyard.registry.client.session import RegistryClient
from dockyard.registry.client.transport import SMALL_BODY_MAX, read_at_most


async def check_login(config: DaemonConfig, domain: str, credentials: Credentials) -> None:
    """Raise ``AuthenticationFailed`` unless the registry accepts ``credentials``."""
    async with RegistryClient(config, lambda _: credentials) as client:
        repo = await client.open(domain, "")
        transport = repo.transport
        url = f"{transport.base_url}/v2/"
        try:
            response = await transport.request("GET", url, ())
        except AuthenticationFailed as exc:
            raise AuthenticationFailed(f'Get "{url}": {exc}', exc.status, exc.code) from exc
        async with response:
            if response.status == 200:
                return
            body = await read_at_most(response, SMALL_BODY_MAX, f"the answer of {url}")
        detail = body.decode(errors="replace").strip()
        if response.status == 401:
            raise AuthenticationFailed(f'Get "{url}": unauthorized: {_message(body)}', 401)
        raise RegistryError(f'Get "{url}": {response.status} {detail[:200]}', response.status)


def _message(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return str(errors[0].get("message")) if errors else "authentication required"
    except (ValueError, AttributeError, IndexError):
        return "authentication required"
