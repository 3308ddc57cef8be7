"""The registry client for one command: an HTTP session, daemon.json and credentials."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import aiohttp

from dockyard.registry.client.auth import Credentials
from dockyard.registry.client.config import DaemonConfig, api_host
from dockyard.registry.client.endpoints import endpoints_for
from dockyard.registry.client.repository import Repository
from dockyard.registry.client.transport import Transport, new_session

CredentialsFor = Callable[[str], Credentials | None]  # registry domain or host -> credentials


class RegistryClient:
    """Opens repositories; ``async with`` owns the HTTP session (one per command)."""

    def __init__(self, config: DaemonConfig, credentials_for: CredentialsFor) -> None:
        self.config = config
        self.credentials_for = credentials_for
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RegistryClient:
        self._session = new_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use RegistryClient in `async with`"
        return self._session

    def candidates(self, domain: str, path: str, push: bool = False) -> list[Repository]:
        """The repository on each host to try in order (mirrors first), not yet contacted."""
        found = []
        for endpoints in endpoints_for(self.config, domain, push):
            host = endpoints[0].host
            credentials = self.credentials_for(domain if host == api_host(domain) else host)
            transport = Transport(self.session, self.config, endpoints, credentials)
            found.append(Repository(transport, path, push))
        return found

    async def open(self, domain: str, path: str, push: bool = False) -> Repository:
        """The repository on the registry itself (no mirror), contacted once."""
        repo = self.candidates(domain, path, push)[-1]
        await repo.transport.ping()
        return repo
