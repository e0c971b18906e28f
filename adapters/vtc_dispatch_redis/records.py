"""Commands run with a ``command_id`` and quotes shown at search, in Redis.

Keys (``P`` is the prefix): ``P:cmd:<command id>`` hash ``f`` the
command's fingerprint, ``r`` the id of the order it answers with (``''``:
none), ``v`` and ``d`` that order's version and text as the commit stored
it; kept ``RedisSettings.command_ttl_s``.  The commit script
(:class:`~vtc_dispatch_redis.unit_of_work.RedisUnitOfWork`) writes it with
the command's change set.  ``P:q:<quote key>`` string: a quote shown at
search (:mod:`vtc_dispatch.codec` JSON), expiring after its time to live.

>>> from vtc_dispatch_redis import RedisStorage
>>> storage = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc-doc:{cmd}")
>>> storage.commands.get("tap-1") is None
True
>>> from vtc_dispatch.changes import CommandRecord
>>> storage.commands.put(CommandRecord("tap-1", "driver_offline('amadou')", None))
>>> storage.commands.get("tap-1")
CommandRecord(command_id='tap-1', fingerprint="driver_offline('amadou')", result=None)
>>> storage.clear()
1
"""

from __future__ import annotations

import json
import math
from typing import Any, cast

from vtc_dispatch.changes import CommandRecord
from vtc_dispatch.codec import quote_from_data, quote_to_data
from vtc_dispatch.pricing.quote import FareQuote
from vtc_dispatch_redis.codec import decode_order, encode_order
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, guarded

__all__ = ["RedisCommandLog", "RedisQuoteBook"]


class RedisCommandLog:
    """The :class:`~vtc_dispatch.ports.CommandLog` in Redis, shared by every worker.

    Records are written by the commit script; :meth:`put` is for a unit of
    work over the ports (one MULTI/EXEC).
    """

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix
        self._ttl_ms = max(1, round(settings.command_ttl_s * 1000))

    def key(self, command_id: str) -> str:
        """The key of the record of ``command_id``."""
        return f"{self._p}:cmd:{command_id}"

    def get(self, command_id: str) -> CommandRecord | None:
        """See :class:`~vtc_dispatch.ports.CommandLog`."""
        with guarded(f"reading command {command_id!r}"):
            found = self._client.hmget(self.key(command_id), ["f", "v", "d"])
        fingerprint, version, data = cast(list[str | None], found)
        if fingerprint is None:
            return None
        result = None if version is None else decode_order(cast(str, data), version=int(version))
        return CommandRecord(command_id, fingerprint, result)

    def put(self, record: CommandRecord) -> None:
        """See :class:`~vtc_dispatch.ports.CommandLog`."""
        fields: dict[Any, Any] = {"f": record.fingerprint, "r": ""}
        if record.result is not None:
            fields |= {
                "r": record.result.id,
                "v": str(record.result.version),
                "d": encode_order(record.result),
            }
        key = self.key(record.command_id)
        with guarded(f"recording command {record.command_id!r}"):
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(key, mapping=fields)
            pipe.pexpire(key, self._ttl_ms)
            pipe.execute()


class RedisQuoteBook:
    """The :class:`~vtc_dispatch.ports.QuoteBook` in Redis: a quote shown on one worker is
    found by the order placed on another.

    Redis forgets a quote after ``ttl_s`` of its own clock; the service
    checks the quote's age in its clock as well.
    """

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix

    def _key(self, key: str) -> str:
        return f"{self._p}:q:{key}"

    def remember(self, key: str, quote: FareQuote, ttl_s: float) -> None:
        """See :class:`~vtc_dispatch.ports.QuoteBook`."""
        if not (math.isfinite(ttl_s) and ttl_s > 0):
            raise ValueError(f"ttl_s must be a finite number > 0, got {ttl_s!r}")
        text = json.dumps(quote_to_data(quote), separators=(",", ":"))
        with guarded(f"keeping the quote {key!r}"):
            self._client.set(self._key(key), text, px=max(1, math.ceil(ttl_s * 1000)))

    def recall(self, key: str) -> FareQuote | None:
        """See :class:`~vtc_dispatch.ports.QuoteBook`."""
        with guarded(f"reading the quote {key!r}"):
            text = self._client.get(self._key(key))
        return None if text is None else quote_from_data(json.loads(cast(str, text)))
