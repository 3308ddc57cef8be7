"""Run the registry: one process, or N forked workers on one port (SO_REUSEPORT).

All state is on disk, so workers share nothing but the storage directory; the
kernel spreads connections across their listening sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable

from aiohttp import web

from dockyard.registry.server.app import create_app
from dockyard.registry.server.observability import ACCESS_LOG_FORMAT
from dockyard.registry.server.settings import ServerSettings
from dockyard.registry.server.uploadstore import purge_stale_uploads

__all__ = ["purge_stale_uploads", "serve"]

log = logging.getLogger("dockyard.registry")

# Extra routes for each worker's application (e.g. the built-in token endpoint).
AppHook = Callable[[web.Application], None] | None


def _listen(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _run(
    settings: ServerSettings,
    sock: socket.socket,
    ssl_context: ssl.SSLContext | None,
    on_app: AppHook,
) -> None:
    app = create_app(settings)
    if on_app is not None:
        on_app(app)
    runner = web.AppRunner(
        app,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        access_log_format=ACCESS_LOG_FORMAT,
        handle_signals=False,
    )
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _spawn(
    settings: ServerSettings,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    on_app: AppHook,
) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        asyncio.run(_run(settings, _listen(host, port, reuse_port=True), ssl_context, on_app))
    except BaseException:
        log.exception("registry worker %d failed", os.getpid())
        code = 1
    finally:
        os._exit(code)


def _supervise(
    settings: ServerSettings,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    workers: int,
    on_app: AppHook,
) -> None:
    # Holding a bound (not listening) socket reserves the port for the workers.
    reservation = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.bind((host, port))
    port = reservation.getsockname()[1]
    stopping = False

    def stop(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            os.kill(pid, signal.SIGTERM)

    children = {_spawn(settings, host, port, ssl_context, on_app) for _ in range(workers)}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("registry listening on %s:%d with %d workers", host, port, workers)
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if not stopping:
            log.warning("registry worker %d exited; starting another", pid)
            children.add(_spawn(settings, host, port, ssl_context, on_app))
    reservation.close()


def serve(
    settings: ServerSettings,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    workers: int = 1,
    on_app: AppHook = None,
) -> None:
    """Serve until SIGTERM / SIGINT; ``on_app`` adds routes to each worker's application."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if workers <= 1:
        sock = _listen(host, port, reuse_port=False)
        log.info("registry listening on %s:%d", host, sock.getsockname()[1])
        asyncio.run(_run(settings, sock, ssl_context, on_app))
        return
    _supervise(settings, host, port, ssl_context, workers, on_app)
