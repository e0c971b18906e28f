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

import redis
from pydantic import BaseModel

from vtc_dispatch.errors import TransportUnavailable
from vtc_dispatch.wire import Recipient
from vtc_dispatch_redis.connection import RedisSettings

__all__ = ["RedisStreamNotifier", "stream_name"]


def stream_name(settings: RedisSettings, role: str) -> str:
    """The stream of one kind of recipient (``driver``, ``customer``, ``watchers``)."""
    return settings.key("s", role)


class RedisStreamNotifier:
    """A :class:`~vtc_dispatch.ports.Notifier` appending each message to its stream.

    A Redis failure raises :class:`~vtc_dispatch.errors.TransportUnavailable`
    (the service has saved its state by then).
    """

    def __init__(self, client: redis.Redis, settings: RedisSettings) -> None:
        self._client = client
        self._settings = settings
        self._maxlen = settings.stream_maxlen
        self._streams: dict[str, str] = {}

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """See :class:`~vtc_dispatch.ports.Notifier`."""
        stream = self._streams.get(recipient.role)
        if stream is None:
            stream = self._streams[recipient.role] = stream_name(self._settings, recipient.role)
        kind = getattr(message, "type", type(message).__name__)
        try:
            self._client.xadd(
                stream,
                {"to": recipient.id, "type": str(kind), "json": message.model_dump_json()},
                maxlen=self._maxlen,
                approximate=True,
            )
        except redis.RedisError as exc:
            raise TransportUnavailable(
                f"could not append a {kind!r} message for {recipient.role} {recipient.id!r}"
                f" to {stream}: {exc}"
            ) from exc
