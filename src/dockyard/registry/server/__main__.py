"""``python -m dockyard.registry.server --root DIR --addr HOST:PORT``: a bare launcher
for tests and quick use (``dockyard registry serve`` is the real CLI)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dockyard.registry.server.server import serve
from dockyard.registry.server.settings import ServerSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dockyard.registry.server")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--addr", default="127.0.0.1:5000")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--delete", action="store_true", help="enable DELETE")
    parser.add_argument("--readonly", action="store_true")
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    host, _, port = args.addr.rpartition(":")
    settings = ServerSettings(
        root=args.root,
        delete_enabled=args.delete,
        readonly=args.readonly,
        fsync=not args.no_fsync,
        access_log=not args.no_access_log,
    )
    serve(settings, host.strip("[]") or "127.0.0.1", int(port), workers=args.workers)


if __name__ == "__main__":
    main()
