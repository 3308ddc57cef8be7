"""What the commands share: the store for ``--root`` (opened once), short IDs, and
docker's way of acting on several names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

import click

from dockyard.digest import Digest
from dockyard.errors import DockyardError, NotFound

if TYPE_CHECKING:
    from dockyard.store.lite import LiteStore
    from dockyard.store.store import Store

_S = TypeVar("_S")


def _cached(ctx: click.Context, key: str, opener: Callable[[str | None], _S]) -> _S:
    """One store object per process and kind, closed when the command ends."""
    root_obj = ctx.find_root().obj
    assert isinstance(root_obj, dict)
    if key not in root_obj:
        store = opener(root_obj.get("root"))
        root_obj[key] = store
        close = getattr(store, "close", None)
        if close is not None:
            ctx.find_root().call_on_close(close)
    found: _S = root_obj[key]
    return found


def get_store(ctx: click.Context) -> Store:
    """The full store: images, layers, blobs (and everything LiteStore has)."""
    from dockyard.store.store import open_store

    return _cached(ctx, "store", open_store)


def get_lite_store(ctx: click.Context) -> LiteStore:
    """The container commands' store: the database and layout without the image machinery,
    which keeps ``run`` from importing what it does not use."""
    from pathlib import Path

    from dockyard.store.lite import LiteStore

    return _cached(ctx, "lite_store", lambda root: LiteStore(Path(root) if root else None))


def short_id(digest: Digest, no_trunc: bool = False) -> str:
    return str(digest) if no_trunc else digest.short


def for_each(
    names: Iterable[str],
    action: Callable[[str], None],
    failure_code: int = 1,
    missing_ok: bool = False,
) -> None:
    """Docker's multi-object commands: act on every name, report each failure on its own
    line, and exit ``failure_code`` at the end if any failed. With ``missing_ok``
    (``rm -f``, ``rmi -f``) a name that does not exist is reported but is no failure."""
    failed = False
    for name in names:
        try:
            action(name)
        except NotFound as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = failed or not missing_ok
        except DockyardError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
    if failed:
        raise click.exceptions.Exit(failure_code)
