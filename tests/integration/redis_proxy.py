"""A TCP proxy on loopback in front of Redis that loses, holds or cuts replies on demand.

It runs its own asyncio loop in a thread, so synchronous tests use it as
a context manager and point a client at :attr:`RedisProxy.url`::

    with RedisProxy(redis_support.REDIS_URL) as proxy:
        client = redis.Redis.from_url(proxy.url, socket_timeout=0.3)
        proxy.arm("drop")  # the next reply is lost: the command ran, the client hears nothing

Faults are armed one at a time and hit the next reply (or the next new
connection for ``"refuse"``), then the proxy passes again:

* ``"drop"``: the command reaches Redis and runs; its reply, and anything
  later on that connection, is thrown away (the client times out);
* ``"delay"``: the reply is held ``delay_s`` (past the client's timeout),
  then delivered to whoever still listens;
* ``"cut"``: the command runs; the client's connection is closed instead
  of the reply reaching it;
* ``"refuse"``: the next connection is closed as soon as it is accepted,
  before any command (a connect failure: nothing was sent).

:meth:`RedisProxy.close_idle` closes every connection between commands,
as a Redis restart or an idle timeout would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Fault", "RedisProxy"]

Fault = Literal["drop", "delay", "cut", "refuse"]


class RedisProxy:
    """Forwards 127.0.0.1:<port> to the Redis at ``upstream_url``; see the module docstring."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._db = parts.path.lstrip("/") or "0"
        self._faults: deque[tuple[Fault, float]] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.connections = 0
        """How many client connections were accepted (refused ones included)."""

    @property
    def url(self) -> str:
        """The Redis URL of the proxy (same database as upstream)."""
        return f"redis://127.0.0.1:{self.port}/{self._db}"

    def __enter__(self) -> RedisProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def arm(self, fault: Fault, *, delay_s: float = 1.0) -> None:
        """Apply ``fault`` to the next reply (``"refuse"``: the next connection)."""
        with self._lock:
            self._faults.append((fault, delay_s))

    @property
    def armed(self) -> int:
        """Faults armed and not yet applied."""
        with self._lock:
            return len(self._faults)

    def close_idle(self) -> None:
        """Close every client connection now (between commands)."""
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(5)

    def _take(self, refuse: bool) -> tuple[Fault, float] | None:
        with self._lock:
            if self._faults and (self._faults[0][0] == "refuse") == refuse:
                return self._faults.popleft()
            return None

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._close_all()

    async def _close_all(self) -> None:
        closing = list(self._writers)
        for writer in closing:
            writer.close()
        for writer in closing:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._take(refuse=True):
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._commands(reader, up_writer), self._replies(up_reader, writer)
            )
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (writer, up_writer):
                w.close()
                self._writers.discard(w)

    async def _commands(self, reader: asyncio.StreamReader, up: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            up.write(data)
            await up.drain()
        up.close()

    async def _replies(self, up: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        black_hole = False
        while data := await up.read(65536):
            fault = None if black_hole else self._take(refuse=False)
            if fault is not None and fault[0] == "drop":
                black_hole = True
            if black_hole:
                continue
            if fault is not None and fault[0] == "cut":
                writer.close()
                return
            if fault is not None and fault[0] == "delay":
                await asyncio.sleep(fault[1])
            if writer.is_closing():
                return
            writer.write(data)
            await writer.drain()
        writer.close()
