"""What every command shares: the store for ``--root`` and short IDs."""

from __future__ import annotations

import click

from dockyard.digest import Digest
from dockyard.store.store import Store, open_store


def get_store(ctx: click.Context) -> Store:
    """The store of the root chosen on the command line (opened once per process)."""
    root_obj = ctx.find_root().obj
    assert isinstance(root_obj, dict)
    store = root_obj.get("store")
    if store is None:
        store = open_store(root_obj.get("root"))
        root_obj["store"] = store
        ctx.find_root().call_on_close(store.close)
    assert isinstance(store, Store)
    return store


def short_id(digest: Digest, no_trunc: bool = False) -> str:
    return str(digest) if no_trunc else digest.short
