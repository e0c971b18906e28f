"""A TCP proxy on loopback that loses, delays and cuts Redis traffic at random.

Between the workers and Redis: each chunk a client sends may have its
connection cut before it reaches Redis (the command did not run); each
chunk Redis answers may be dropped with the connection cut (the command
ran, its reply is lost) or held for ``hold_s``, past the client's timeout
(the command ran, the client gave up).  The faults follow ``FaultPlan``
and its seed; the proxy runs its asyncio loop on a thread of its own.

>>> plan = FaultPlan(seed=3, drop_reply=0.0, hold_reply=0.0, cut=0.0)
>>> plan.faulty
False
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections import Counter

import attrs

__all__ = ["FaultPlan", "FaultProxy", "free_port"]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.frozen
class FaultPlan:
    """How often each fault happens (per chunk of traffic) and the seed of the draws."""

    seed: int = 1
    drop_reply: float = 0.004
    """A reply is swallowed and the connection cut: the command ran, nobody was told."""
    hold_reply: float = 0.004
    """A reply is held ``hold_s`` before it is passed on (the client has timed out)."""
    cut: float = 0.003
    """A request is not passed on and the connection is cut: the command did not run."""
    hold_s: float = 1.0

    @property
    def faulty(self) -> bool:
        """Whether any fault can happen."""
        return self.drop_reply > 0 or self.hold_reply > 0 or self.cut > 0


class FaultProxy:
    """Listens on ``127.0.0.1:port`` and forwards to ``upstream`` with the plan's faults."""

    def __init__(self, upstream: tuple[str, int], plan: FaultPlan) -> None:
        self.upstream = upstream
        self.plan = plan
        self.port = free_port()
        self.faults: Counter[str] = Counter()
        self._rng = random.Random(plan.seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The Redis URL of the proxy (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> FaultProxy:
        """Start listening (returns once it does)."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start within 10 s")
        return self

    def stop(self) -> None:
        """Close the listener and every connection, stop the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        cut = asyncio.Event()
        pumps = [
            asyncio.ensure_future(self._requests(reader, up_writer, cut)),
            asyncio.ensure_future(self._replies(up_reader, writer, cut)),
        ]
        await cut.wait()
        for pump in pumps:
            pump.cancel()
        for end in (writer, up_writer):
            end.close()

    async def _requests(
        self, reader: asyncio.StreamReader, up: asyncio.StreamWriter, cut: asyncio.Event
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if self._rng.random() < self.plan.cut:
                    self.faults["cut"] += 1
                    break
                up.write(chunk)
                await up.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            cut.set()

    async def _replies(
        self, up: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: asyncio.Event
    ) -> None:
        plan = self.plan
        try:
            while chunk := await up.read(65536):
                draw = self._rng.random()
                if draw < plan.drop_reply:
                    self.faults["drop_reply"] += 1
                    break
                if draw < plan.drop_reply + plan.hold_reply:
                    self.faults["hold_reply"] += 1
                    await asyncio.sleep(plan.hold_s)
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass
        finally:
            cut.set()
