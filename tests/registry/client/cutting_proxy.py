"""An HTTP proxy on 127.0.0.1 (a thread) that drops the connection of the first request
whose request line holds ``pattern``, after ``cut_at`` bytes of its body: a push whose
upload is cut off half-way. One upstream connection per request."""

from __future__ import annotations

import asyncio
import threading


class CuttingProxy:
    def __init__(self, upstream_port: int, pattern: bytes, cut_at: int) -> None:
        self.upstream_port = upstream_port
        self.pattern = pattern
        self.cut_at = cut_at
        self.cuts_left = 1
        self.requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.read(1)
            if first in (b"", b"\x16"):  # a TLS hello (the client tries https first): refuse
                writer.close()
                return
            head = first + await reader.readuntil(b"\r\n\r\n")
            request_line, *headers = head.split(b"\r\n")[:-2]
            self.requests.append(request_line.decode())
            kept = [h for h in headers if not h.lower().startswith(b"connection:")]
            length = next((int(h.split(b":", 1)[1]) for h in kept
                           if h.lower().startswith(b"content-length:")), 0)  # fmt: skip
            cut = self.pattern in request_line and self.cuts_left > 0
            self.cuts_left -= cut
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(b"\r\n".join([request_line, *kept, b"Connection: close", b"", b""]))
            sent = 0
            while sent < length:
                data = await reader.read(min(length - sent, 65536))
                if not data:
                    raise ConnectionError
                if cut and sent + len(data) >= self.cut_at:
                    up_writer.write(data[: self.cut_at - sent])
                    await up_writer.drain()
                    up_writer.close()
                    writer.transport.abort()  # a reset, as a network that fails
                    return
                up_writer.write(data)
                sent += len(data)
            await up_writer.drain()
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            up_writer.close()
            writer.close()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
