"""The connection to Redis: settings from a URL, key prefixes, errors at the boundary.

Every Redis failure (refused connection, timeout, an error reply) leaves
this package as :class:`~vtc_dispatch.errors.StorageUnavailable`, raised
from the redis-py exception.  Every write is one Lua script or one
MULTI/EXEC transaction, so a write either happened entirely or not at all;
after a *timeout* nobody can tell which, and the error says so.

>>> settings = RedisSettings(url="redis://127.0.0.1:6379/0", prefix="vtc:{douala}")
>>> settings.key("o", "ord-1")
'vtc:{douala}:o:ord-1'
>>> RedisSettings(prefix="bad prefix")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for RedisSettings
...
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import redis
from pydantic import BaseModel, ConfigDict, Field, field_validator
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from vtc_dispatch.errors import StorageUnavailable

__all__ = ["KEY_PARTS", "RedisSettings", "from_us", "guarded", "to_us"]

KEY_PARTS = frozenset(
    {
        # orders (orders.py)
        "o", "oseq", "oc", "od", "ac", "ad", "dl", "cl", "cw", "stall",
        # drivers (drivers.py)
        "d", "lease", "g", "vts",
        # ride progress, statistics, ratings, streams
        "p", "st", "sr", "rt", "s",
        # wallet (wallet.py); "whseq" numbered holds before operation ids
        "w", "wh", "wop", "whseq",
    }
)  # fmt: skip
"""The first part after the prefix of every key the adapter writes (``P:o:<id>``...).

A key belongs to prefix ``P`` only when it reads ``P:<part>...`` with a
part from this list, and no colon-separated segment of a prefix (after its
first) may be one of them: so ``vtc`` and ``vtc:{douala}`` never share a
key, and :meth:`~vtc_dispatch_redis.RedisStorage.clear` of ``vtc`` leaves
``vtc:{douala}`` alone.  A new kind of key adds its part here.
"""

_PREFIX = re.compile(r"^[A-Za-z0-9_.:\-{}]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class RedisSettings(BaseModel):
    """Where Redis is and how patient to be with it.

    ``prefix`` starts every key: one per tenant or operator.  For Redis
    Cluster put a hash tag in it (``vtc:{douala}``) so that every key of a
    tenant lands in one slot and the scripts stay atomic.  Prefixes may
    nest (``vtc``, ``vtc:{douala}``, ``vtc:{douala}:zone-2``): its parts
    are non-empty, and none but the first is a key part of
    :data:`KEY_PARTS` (``vtc:o`` is refused: ``vtc``'s orders live there).
    ``retries`` re-sends a command only when the connection failed before
    the command could reach Redis (connection refused or reset); a timeout
    is never retried, since the command may have run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "vtc"
    socket_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    claim_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """How long a due order handed to one worker by ``with_live_offer`` is hidden from others."""
    stall_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """An order searching without any offer for this long is handed out again (worker died)."""
    reservation_lease_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    """A driver reserved for an order that no saved order confirms is freed after this."""
    stream_background: bool = False
    """Append messages to the streams from a background thread, in batches (see the notifier)."""
    stream_maxlen: Annotated[int, Field(ge=100)] = 100_000
    """Approximate length kept in each message stream (older entries are trimmed)."""

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_key_part(cls, value: str) -> str:
        if not _PREFIX.match(value) or value.count("{") != value.count("}"):
            raise ValueError(
                f"prefix must be letters, digits and _ . : - {{ }} with balanced braces,"
                f" got {value!r}"
            )
        segments = value.split(":")
        if "" in segments:
            raise ValueError(f"prefix must not have an empty part between colons, got {value!r}")
        for at, segment in enumerate(segments[1:], start=1):
            if segment in KEY_PARTS:
                raise ValueError(
                    f"prefix {value!r} has the part {segment!r}, which names keys of the"
                    f" shorter prefix {':'.join(segments[:at])!r}; choose another word"
                )
        return value

    def key(self, *parts: str) -> str:
        """The full name of a key: the prefix and ``parts`` joined by colons."""
        return ":".join((self.prefix, *parts))

    def connect(self) -> redis.Redis:
        """A redis-py client for these settings (thread-safe), connected now.

        StorageUnavailable when Redis does not answer.
        """
        try:
            pool = redis.ConnectionPool.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=self.socket_timeout_s,
                socket_connect_timeout=self.connect_timeout_s,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.01), self.retries),
                retry_on_error=[redis.ConnectionError],
            )
        except ValueError as exc:
            raise StorageUnavailable(f"bad Redis URL {self.url!r}: {exc}") from exc
        with guarded(f"connecting to {self.url}"):
            # One connection behind a lock instead of a pool checkout per
            # command: about 10 % of a ride cycle (bench redis).  Pipelines
            # and transactions still take their own pooled connections.
            return redis.Redis(connection_pool=pool, single_connection_client=True)


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Translate redis-py errors raised inside into :class:`StorageUnavailable`."""
    try:
        yield
    except redis.TimeoutError as exc:
        raise StorageUnavailable(
            f"Redis did not answer in time while {what}; the write may or may not have happened:"
            f" {exc}"
        ) from exc
    except redis.RedisError as exc:
        raise StorageUnavailable(f"Redis failed while {what}: {exc}") from exc


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (sorted-set scores)."""
    if moment.tzinfo is None:
        raise ValueError(f"an aware datetime is needed, got {moment!r}")
    return (moment - _EPOCH) // _US


def from_us(value: int | float | str) -> datetime:
    """The UTC datetime of :func:`to_us`."""
    return _EPOCH + timedelta(microseconds=int(float(value)))
