"""A bounded byte pipe from the event loop (the download) to a worker thread (the unpacker).

The download writes chunks as they arrive; a thread reads them as a file and hashes,
decompresses and unpacks in the same pass. When the thread falls behind, the writer
waits (without blocking the loop); when either side fails, the other one stops.
"""

from __future__ import annotations

import asyncio
import io
import queue

_DEPTH = 8  # chunks in flight (about 8 MiB)
_POLL = 0.002


class _Closed:
    """End of stream, or the error that ended it."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class BlobPipe(io.RawIOBase):
    """Written by ``await write()`` on the loop, read as a binary file in a thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[bytes | _Closed] = queue.Queue(_DEPTH)
        self._pending = memoryview(b"")
        self._ended: _Closed | None = None
        self.reader_gone = False
        self._aborted: _Closed | None = None

    async def write_chunk(self, chunk: bytes) -> None:
        """Queue a chunk; dropped once the reader stopped (so the digest check still runs)."""
        while not self.reader_gone:  # a reader that failed: let the download finish
            try:
                self._queue.put_nowait(chunk)
                return
            except queue.Full:
                await asyncio.sleep(_POLL)

    async def finish(self) -> None:
        """Tell the reader the stream is complete."""
        while not self.reader_gone:
            try:
                self._queue.put_nowait(_Closed())
                return
            except queue.Full:
                await asyncio.sleep(_POLL)

    def abort(self, error: BaseException) -> None:
        """End the stream with an error, at once (safe from a cancelled task)."""
        self._aborted = _Closed(error)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if self._ended is not None:
                if self._ended.error is not None:
                    raise OSError(f"download failed: {self._ended.error}") from self._ended.error
                return 0
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._ended = self._aborted
                continue
            if isinstance(item, _Closed):
                self._ended = item
            else:
                self._pending = memoryview(item)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self.reader_gone = True
        super().close()
