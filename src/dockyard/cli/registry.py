"""``dockyard registry``: run the registry server and look after its storage."""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import click

from dockyard.errors import ConfigError

_CONFIG = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def registry() -> None:
    """An OCI registry compatible with CNCF distribution (docker-registry)."""


@registry.command()
@click.argument("config", required=False, type=_CONFIG)
@click.option("--addr", help="HOST:PORT to listen on (overrides http.addr; default :5000).")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Storage root (overrides storage.filesystem.rootdirectory).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the listening socket.",
)
def serve(config: Path | None, addr: str | None, root: Path | None, workers: int) -> None:
    """Serve the registry described by CONFIG (distribution's YAML format).

    Without CONFIG, flags and REGISTRY_* environment variables say everything:
    `dockyard registry serve --addr 127.0.0.1:5000 --root /srv/registry`.
    """
    from dockyard.registry.server import config as cfg
    from dockyard.registry.server.configfile import parse_addr
    from dockyard.registry.server.server import serve as run

    settings = cfg.load_config(config)
    if addr is not None:
        host, port = parse_addr(addr)
        settings = dataclasses.replace(settings, host=host, port=port)
    if root is not None:
        settings = dataclasses.replace(settings, root=root)
    for name in settings.ignored_env:
        click.echo(f"warning: ignoring unrecognized environment variable {name}", err=True)
    tls = cfg.ssl_context(settings.tls) if settings.tls else None
    server_settings = cfg.server_settings(settings)
    on_app = None
    if settings.issuer is not None and settings.token is not None:
        from dockyard.registry.server.token_issuer import TokenIssuer, add_token_routes

        issuer = TokenIssuer(settings.issuer, settings.token)
        on_app = functools.partial(add_token_routes, issuer=issuer)
    run(
        server_settings,
        settings.host,
        settings.port,
        ssl_context=tls,
        workers=workers,
        on_app=on_app,
    )


@registry.command("garbage-collect")
@click.argument("config", type=_CONFIG)
@click.option("--dry-run", "-d", is_flag=True, help="Report what would go; delete nothing.")
@click.option(
    "--delete-untagged",
    "-m",
    is_flag=True,
    help="Also delete manifests no tag points at (and what only they need).",
)
@click.option(
    "--grace",
    metavar="DURATION",
    help="Never sweep blobs younger than this (default dockyard.gc.grace or 1h).",
)
def garbage_collect(config: Path, dry_run: bool, delete_untagged: bool, grace: str | None) -> None:
    """Delete blobs no manifest needs; safe while the server runs."""
    from dockyard.registry.server.config import load_config
    from dockyard.registry.server.configfile import parse_duration
    from dockyard.registry.server.gc import GarbageCollector
    from dockyard.registry.server.storage import FilesystemDriver

    settings = load_config(config)
    window = parse_duration(grace, "--grace") if grace else settings.gc_grace
    collector = GarbageCollector(
        FilesystemDriver(settings.root),
        grace=window,
        delete_untagged=delete_untagged,
        dry_run=dry_run,
        log=click.echo,
    )
    result = collector.run()
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{len(result.marked)} blobs marked, {verb} {len(result.deleted_blobs)} blobs "
        f"({result.freed_bytes} bytes) and {len(result.deleted_manifests)} manifests; "
        f"{len(result.kept_recent)} unreferenced blobs kept (younger than the grace window)"
    )


@registry.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--delete", is_flag=True, help="Remove USER instead of setting a password.")
def htpasswd(file: Path, user: str, password_stdin: bool, delete: bool) -> None:
    """Set USER's password in an htpasswd FILE (bcrypt, as `htpasswd -B` writes)."""
    from dockyard.registry.server.auth import hash_password

    if ":" in user or not user:
        raise ConfigError(f"invalid user name {user!r}")
    lines = file.read_text().splitlines() if file.exists() else []
    kept = [line for line in lines if line.partition(":")[0] != user]
    if not delete:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        kept.append(f"{user}:{hash_password(password)}")
    file.write_text("".join(f"{line}\n" for line in kept))


@registry.command("gen-key")
@click.argument("key", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("certificate", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--common-name", default="dockyard-token", show_default=True)
def gen_key(key: Path, certificate: Path, common_name: str) -> None:
    """Write a token signing KEY and its self-signed CERTIFICATE (for rootcertbundle)."""
    from dockyard.registry.server.token_issuer import generate_signing_key

    generate_signing_key(key, certificate, common_name)
