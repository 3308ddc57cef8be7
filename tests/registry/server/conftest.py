from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.registry.server.registry_harness import Client, ThreadedRegistry

from dockyard.registry.server import ServerSettings

ServerFactory = Callable[..., ThreadedRegistry]


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def make_server(store_root: Path) -> Iterator[ServerFactory]:
    servers: list[ThreadedRegistry] = []

    def make(**settings: Any) -> ThreadedRegistry:
        settings.setdefault("fsync", False)
        server = ThreadedRegistry(ServerSettings(root=store_root, **settings))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def api(make_server: ServerFactory) -> Client:
    """A registry with deletes enabled."""
    return make_server(delete_enabled=True).client
