"""Wire messages appended to Redis Streams, for a transport to deliver.

One stream per kind of recipient: ``P:s:driver``, ``P:s:customer`` and
``P:s:watchers`` (an order's watchers).  Each entry has the fields ``to``
(the recipient's id), ``type`` (the message's ``type``) and ``json`` (the
message as :mod:`vtc_dispatch.wire` serialises it).  A websocket gateway
or a Channels worker reads them with a consumer group
(``XGROUP CREATE P:s:driver gateway $ MKSTREAM``, then ``XREADGROUP``
and ``XACK``), so several gateway processes share the messages and a
message is not lost while one restarts.  Streams are trimmed to about
``settings.stream_maxlen`` entries each.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import redis
from pydantic import BaseModel
from redis.exceptions import RedisClusterException

from vtc_dispatch.errors import TransportUnavailable
from vtc_dispatch.wire import Recipient
from vtc_dispatch_redis.connection import RedisClient, RedisSettings

__all__ = ["RedisStreamNotifier", "stream_name"]


def stream_name(settings: RedisSettings, role: str) -> str:
    """The stream of one kind of recipient (``driver``, ``customer``, ``watchers``)."""
    return settings.key("s", role)


class RedisStreamNotifier:
    """A :class:`~vtc_dispatch.ports.Notifier` appending each message to its stream.

    By default each :meth:`send` appends at once, and a Redis failure
    raises :class:`~vtc_dispatch.errors.TransportUnavailable` (the service
    has saved its state by then).  With ``settings.stream_background``,
    :meth:`send` queues the message and returns (as the port recommends);
    a background thread appends what is queued in one pipelined round
    trip, in order, retrying while Redis is away.  Messages still queued
    when the process is killed are lost (the state is saved regardless);
    :meth:`flush` waits until the queue is empty.
    """

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._settings = settings
        self._maxlen = settings.stream_maxlen
        self._streams: dict[Any, Any] = {}
        self._queue: deque[tuple[str, dict[Any, Any]]] = deque()
        self._wake = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._background = settings.stream_background

    def _entry(self, recipient: Recipient, message: BaseModel) -> tuple[str, dict[Any, Any]]:
        stream = self._streams.get(recipient.role)
        if stream is None:
            stream = self._streams[recipient.role] = stream_name(self._settings, recipient.role)
        kind = getattr(message, "type", type(message).__name__)
        return stream, {"to": recipient.id, "type": str(kind), "json": message.model_dump_json()}

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """See :class:`~vtc_dispatch.ports.Notifier`."""
        stream, fields = self._entry(recipient, message)
        if self._background:
            with self._wake:
                self._queue.append((stream, fields))
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._drain, name="vtc-redis-streams", daemon=True
                    )
                    self._thread.start()
                self._wake.notify()
            return
        try:
            self._client.xadd(stream, fields, maxlen=self._maxlen, approximate=True)
        except (redis.RedisError, RedisClusterException) as exc:
            raise TransportUnavailable(
                f"could not append a {fields['type']!r} message for {recipient.role}"
                f" {recipient.id!r} to {stream}: {exc}"
            ) from exc

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued message is appended; TransportUnavailable after ``timeout_s``."""
        with self._wake:
            if not self._wake.wait_for(lambda: not self._queue and not self._busy, timeout_s):
                raise TransportUnavailable(
                    f"{len(self._queue)} messages still queued for Redis after {timeout_s} s"
                )

    def _drain(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._queue))
                batch = list(self._queue)
                self._queue.clear()
                self._busy = True
            pipe = self._client.pipeline(transaction=False)
            for stream, fields in batch:
                pipe.xadd(stream, fields, maxlen=self._maxlen, approximate=True)
            while True:
                try:
                    pipe.execute()
                    break
                except (redis.RedisError, RedisClusterException):
                    time.sleep(0.5)  # Redis away: keep the batch, try again
            with self._wake:
                self._busy = False
                self._wake.notify_all()
