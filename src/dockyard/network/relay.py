"""The port proxy's relay: published TCP connections and UDP flows to the container.

Runs in the proxy process only (``proxy.py``), inside the container's network
namespace: every socket it opens towards the container is in that namespace (and
goes to ``SERVICE_ADDRESS``), while the listeners it was handed were bound in the
host's.  TCP half-closes are passed
on; an error on either side closes both.  A UDP client gets its own connected
socket into the container, dropped after ``UDP_IDLE_SECONDS`` of silence, as
docker-proxy does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable

from dockyard.network.ports import PortRequest
from dockyard.network.proxy import SERVICE_ADDRESS

UDP_IDLE_SECONDS = 90.0  # docker-proxy's UDP conntrack timeout


def serve(listeners: list[tuple[socket.socket, PortRequest]]) -> None:
    """Relay every listener's traffic to its container port, until we are killed."""
    asyncio.run(_serve(listeners))


async def _serve(listeners: list[tuple[socket.socket, PortRequest]]) -> None:
    loop = asyncio.get_running_loop()
    forwarders: list[_UdpForwarder] = []
    for sock, request in listeners:
        if request.proto == "tcp":
            await asyncio.start_server(_tcp_handler(request.container_port), sock=sock)
        else:
            forwarder = _UdpForwarder(loop, request.container_port)
            await loop.create_datagram_endpoint(forwarder.itself, sock=sock)
            forwarders.append(forwarder)
    while True:
        await asyncio.sleep(UDP_IDLE_SECONDS / 3)
        for forwarder in forwarders:
            forwarder.expire()


def _tcp_handler(port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                        Awaitable[None]]:  # fmt: skip
    async def relay(client_reader: asyncio.StreamReader,
                    client_writer: asyncio.StreamWriter) -> None:  # fmt: skip
        try:
            reader, writer = await asyncio.open_connection(SERVICE_ADDRESS, port)
        except OSError:  # nothing listens in the container: the client sees a close
            client_writer.close()
            return
        writers = (writer, client_writer)
        await asyncio.gather(_pump(client_reader, writer, writers),
                             _pump(reader, client_writer, writers))  # fmt: skip
        for each in writers:
            each.close()

    return relay


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                both: tuple[asyncio.StreamWriter, ...]) -> None:  # fmt: skip
    """Copy one direction; EOF is passed on as a half-close, an error closes both."""
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        for each in both:
            each.close()


class _UdpForwarder(asyncio.DatagramProtocol):
    """One published UDP port: a connected socket into the container per client."""

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.loop = loop
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[tuple[str, int], tuple[socket.socket, float]] = {}

    def itself(self) -> _UdpForwarder:
        """The protocol factory create_datagram_endpoint wants."""
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        for sock, _ in self.flows.values():
            self.loop.remove_reader(sock)
            sock.close()
        self.flows.clear()

    def error_received(self, exc: Exception) -> None:
        pass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        flow = self.flows.get(addr)
        if flow is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect((SERVICE_ADDRESS, self.port))
            self.loop.add_reader(sock, self._reply, sock, addr)
        else:
            sock = flow[0]
        self.flows[addr] = (sock, self.loop.time())
        with contextlib.suppress(OSError):  # nobody listens yet: UDP drops it
            sock.send(data)

    def _reply(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        try:
            data = sock.recv(1 << 16)
        except OSError:
            return
        if self.transport is not None:
            self.transport.sendto(data, addr)
        self.flows[addr] = (sock, self.loop.time())

    def expire(self) -> None:
        now = self.loop.time()
        for addr, (sock, seen) in list(self.flows.items()):
            if now - seen > UDP_IDLE_SECONDS:
                self.loop.remove_reader(sock)
                sock.close()
                del self.flows[addr]
