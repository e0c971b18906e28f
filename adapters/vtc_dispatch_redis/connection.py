"""The connection to Redis: settings from a URL, key prefixes, errors at the boundary.

One Redis or a Redis Cluster (``cluster=True``, or a ``redis+cluster://``
URL naming any one node): :meth:`RedisSettings.connect` builds redis-py's
``Redis`` or ``RedisCluster`` with the same timeouts and retry rules.
Every Redis failure (refused connection, timeout, an error reply, a
cluster that cannot serve the slot) leaves this package as
:class:`~vtc_dispatch.errors.StorageUnavailable`, raised from the redis-py
exception and naming it.  Every write is one Lua script, so a write
either happened entirely or not at all.  A command is sent again only when
the connection failed *before* it was written (:class:`NotSent`); once it
is written, a timeout or a lost connection is final and the error says the
write may or may not have happened (``docs/redis.md``, "What is retried").

>>> settings = RedisSettings(url="redis://127.0.0.1:6379/0", prefix="vtc:{douala}")
>>> settings.key("o", "ord-1")
'vtc:{douala}:o:ord-1'
>>> RedisSettings(prefix="bad prefix")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for RedisSettings
...
>>> RedisSettings(url="redis+cluster://10.0.0.5:7000", prefix="vtc:{douala}").cluster
True
>>> RedisSettings(cluster=True, prefix="vtc:{}")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for RedisSettings
prefix
  Value error, prefix 'vtc:{}' has an empty hash tag '{}': ...
"""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeAlias
from urllib.parse import urlsplit

import redis
import redis.connection
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MasterDownError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.retry import Retry

from vtc_dispatch.errors import StorageUnavailable

__all__ = [
    "KEY_PARTS",
    "NotSent",
    "RedisClient",
    "RedisSettings",
    "from_us",
    "guarded",
    "to_us",
]

RedisClient: TypeAlias = "redis.Redis | RedisCluster"
"""What the ports talk to: one Redis, or a Redis Cluster (every key of a prefix in one slot)."""

KEY_PARTS = frozenset(
    {
        # orders (orders.py); "stall" only in data written before the commit script
        "o", "oseq", "oc", "od", "ac", "ad", "ao", "dl", "cl", "cw", "stall",
        # drivers (drivers.py)
        "d", "lease", "g", "vts", "hp", "ha",
        # ride progress, statistics, ratings, streams
        "p", "st", "sr", "sa", "rt", "s",
        # wallet (wallet.py); "whseq" numbered holds before operation ids
        "w", "wh", "wop", "whseq",
        # commands run with a command_id (unit_of_work.py), quotes shown at search
        "cmd", "q",
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
_TAG = re.compile(r"\{[^{}]*\}")
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class RedisSettings(BaseModel):
    """Where Redis is and how patient to be with it.

    ``prefix`` starts every key: one per tenant or operator.  Braces in it
    are hash tags (``{douala}``: non-empty, not nested).  With ``cluster``
    it must hold exactly one (``vtc:{douala}``), so that every key of the
    tenant lands in one slot, which every script needs.  Prefixes may
    nest (``vtc``, ``vtc:{douala}``, ``vtc:{douala}:zone-2``): its parts
    are non-empty, and none but the first is a key part of
    :data:`KEY_PARTS` (``vtc:o`` is refused: ``vtc``'s orders live there).
    ``retries`` is how many times a command is tried again when the
    connection failed before the command was written (refused, connect
    timeout, handshake failed); once written, a command is never sent
    again: a timeout or a lost connection may have come after it ran.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "vtc"
    cluster: bool = False
    """Redis Cluster: ``url`` names any one node, the others are discovered from it.

    Set by a ``redis+cluster://`` (or ``rediss+cluster://``) URL too."""
    socket_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    claim_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """How long a due order handed to one worker by ``with_live_offer`` is hidden from others."""
    reservation_lease_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    """A driver reserved for an order that no saved order confirms is freed after this."""
    stream_background: bool = False
    """Append messages to the streams from a background thread, in batches (see the notifier)."""
    stream_maxlen: Annotated[int, Field(ge=100)] = 100_000
    """Approximate length kept in each message stream (older entries are trimmed)."""
    command_ttl_s: Annotated[float, Field(gt=0)] = 86_400.0
    """How long the record of a command run with a ``command_id`` is kept for its replays."""
    ride_cache: Annotated[int, Field(ge=0)] = 10_000
    """How many rides in course a process keeps as it last read or wrote them (0: none).

    A driver's next GPS fix, arrival, start or end is then decided on what
    the process saw last, and its commit checks that the order and its
    progress are still at those versions: one round trip instead of two
    while a driver's commands reach the same process, and a read again when
    they did not (see :class:`~vtc_dispatch_redis.rides.RedisRideReader`)."""
    idle_cache: Annotated[int, Field(ge=0)] = 50_000
    """How many idle drivers (online, on no order) a process keeps as it last read them
    (0: none).

    A batch of fixes (``update_positions``) is then decided without reading
    them, and its commit checks that each is still online and holds no
    order: one round trip per batch instead of two while a driver's fixes
    reach the same process; when one was taken or put offline meanwhile,
    the commit is refused and the batch read again."""
    wallet_op_ttl_s: Annotated[float, Field(ge=0)] = 30 * 86_400.0
    """How long a wallet operation id is remembered (0: for ever); a replay after that moves
    money again."""

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_key_part(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(f"prefix must be letters, digits and _ . : - {{ }}, got {value!r}")
        for tag in _TAG.findall(value):
            if tag == "{}":
                raise ValueError(
                    f"prefix {value!r} has an empty hash tag '{{}}': Redis Cluster would"
                    " hash each whole key, spreading the tenant over many slots"
                )
        if "{" in _TAG.sub("", value) or "}" in _TAG.sub("", value):
            raise ValueError(
                f"prefix {value!r} has braces that open no hash tag: write one as"
                " '{name}' (non-empty, not nested)"
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

    @model_validator(mode="before")
    @classmethod
    def _cluster_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and _scheme(str(data.get("url", ""))) in _CLUSTER_SCHEMES:
            if data.get("cluster") is False:
                raise ValueError(f"url {data['url']!r} is a cluster URL but cluster=False")
            return {**data, "cluster": True}
        return data

    @model_validator(mode="after")
    def _cluster_prefix_has_one_tag(self) -> RedisSettings:
        if self.cluster and len(_TAG.findall(self.prefix)) != 1:
            raise ValueError(
                f"a Redis Cluster prefix needs exactly one hash tag, as in 'vtc:{{douala}}'"
                f" (every key of the tenant in one slot), got {self.prefix!r}"
            )
        return self

    def key(self, *parts: str) -> str:
        """The full name of a key: the prefix and ``parts`` joined by colons."""
        return ":".join((self.prefix, *parts))

    def connect(self) -> RedisClient:
        """A redis-py client for these settings (thread-safe), connected now.

        ``Redis`` for one server, ``RedisCluster`` with ``cluster``; both
        send a command again only when nothing of it was written
        (:class:`NotSent`, and the cluster's refusals: MOVED, ASK,
        TRYAGAIN, CLUSTERDOWN), at most ``retries`` times for NotSent.
        StorageUnavailable when Redis does not answer.
        """
        url = self.url
        scheme = _scheme(url)
        if scheme in _CLUSTER_SCHEMES:
            url = _CLUSTER_SCHEMES[scheme] + url[len(scheme) :]
        try:
            options = redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
            for unsafe in ("retry_on_timeout", "retry_on_error"):
                if options.get(unsafe):
                    raise ValueError(f"{unsafe} would send again commands that may have run")
            if self.cluster and options.get("db", 0) != 0:
                raise ValueError("a Redis Cluster has only database 0")
            timeouts: dict[str, Any] = {
                "decode_responses": True,
                "socket_timeout": self.socket_timeout_s,
                "socket_connect_timeout": self.connect_timeout_s,
            }
            if not self.cluster:
                pool = redis.ConnectionPool.from_url(
                    url,
                    **timeouts,
                    retry=_retry(self.retries),
                    connection_class=_send_once(
                        options.get("connection_class", redis.connection.Connection)
                    ),
                )
        except ValueError as exc:
            raise StorageUnavailable(f"bad Redis URL {self.url!r}: {exc}") from exc
        with guarded(f"connecting to {self.url}"):
            if self.cluster:
                return _Cluster(
                    url=url,
                    **timeouts,
                    retry=_retry(self.retries),
                    connection_pool_class=_SendOncePool,
                )
            # One connection behind a lock instead of a pool checkout per
            # command: about 10 % of a ride cycle (bench redis).  Pipelines
            # and transactions still take their own pooled connections.
            return redis.Redis(connection_pool=pool, single_connection_client=True)


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


class NotSent(redis.ConnectionError):
    """Connecting failed before a command was written: nothing of it reached Redis.

    The only error the connections retry (``RedisSettings.retries`` times).
    """


class _SendOnce(redis.connection.AbstractConnection):
    """A connection whose connect failures say that nothing was sent.

    Mixed in before redis-py's connection class for the URL's scheme.
    """

    _connecting = False

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        self._connecting = True
        try:
            super().connect_check_health(
                check_health=check_health, retry_socket_connect=retry_socket_connect
            )
        except (NotSent, redis.AuthenticationError):
            raise
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise NotSent(f"connecting failed, nothing was sent: {exc}") from exc
        finally:
            self._connecting = False

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        sock = self._sock
        if sock is not None and not self._connecting and _closed_by_peer(sock):
            # Closed while idle (Redis restarted, an idle timeout): reopen
            # now, while a failure still means that nothing was sent.
            self.disconnect()
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


_SEND_ONCE: dict[type[Any], type[Any]] = {}

_REFUSED: tuple[type[Exception], ...] = (
    NotSent,
    ClusterDownError,  # and MasterDownError
    SlotNotCoveredError,
    AskError,  # and MovedError
    TryAgainError,
)
"""Errors after which nothing of the command ran: the only ones worth sending it again for."""


class _NotSentRetry(Retry):
    """A Retry of NotSent alone, to which redis-py may add only errors of :data:`_REFUSED`.

    redis-py's cluster transactions add the cluster client's retried
    errors (ConnectionError and TimeoutError among them) to a copy of it:
    those would send a MULTI/EXEC again after it may have run.
    """

    def update_supported_errors(self, specified_errors: Any) -> None:
        super().update_supported_errors([e for e in specified_errors if issubclass(e, _REFUSED)])


def _retry(retries: int) -> Retry:
    # Only NotSent: redis-py's default list (ConnectionError, TimeoutError)
    # re-sends a command after its reply was lost.
    return _NotSentRetry(
        ExponentialBackoff(cap=0.5, base=0.01), retries, supported_errors=(NotSent,)
    )


class _Cluster(RedisCluster):
    """redis-py's RedisCluster, retrying a command only when none of it ran.

    RedisCluster sends a command again (after reading the slots again)
    for each error of ``ERRORS_ALLOW_RETRY`` (matched by exact type);
    its own list has ConnectionError and TimeoutError, which may come
    after the command ran.  MOVED, ASK and TRYAGAIN are followed inside
    one try, as the cluster asks.
    """

    ERRORS_ALLOW_RETRY = (  # type: ignore[assignment]  # NotSent, not all ConnectionErrors
        NotSent,
        ClusterDownError,
        MasterDownError,
        SlotNotCoveredError,
    )


class _SendOncePool(redis.ConnectionPool):
    """The pool of each cluster node: its connections are :func:`_send_once` ones."""

    def __init__(self, connection_class: type[Any] = redis.connection.Connection, **kwargs: Any):
        super().__init__(connection_class=_send_once(connection_class), **kwargs)


def _send_once(base: type[Any]) -> type[Any]:
    """``base`` (redis-py's Connection, SSLConnection...) with :class:`_SendOnce` in front."""
    if base not in _SEND_ONCE:
        _SEND_ONCE[base] = type(f"SendOnce{base.__name__}", (_SendOnce, base), {})
    return _SEND_ONCE[base]


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end closed ``sock`` (a poll, then a peek if readable; nothing read)."""
    if type(sock) is not socket.socket:
        return False  # TLS sockets take no peek
    try:
        if not select.select([sock], [], [], 0)[0]:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except ValueError:
        return False  # a descriptor select cannot watch
    except OSError:
        return True


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Translate redis-py errors raised inside into :class:`StorageUnavailable`.

    The message names the redis-py error and tells whether the command may
    have run: not when Redis could not be reached (:class:`NotSent`) or a
    cluster node refused it (MOVED, ASK, TRYAGAIN, CLUSTERDOWN: the slot
    is moving or has no master yet), maybe when the reply was lost
    (timeout, connection lost after the command was written).  redis-py's
    cluster errors that are not ``RedisError`` (``RedisClusterException``:
    no node reachable, the slot map unreadable) are translated too.
    """
    try:
        yield
    except NotSent as exc:
        raise StorageUnavailable(
            f"Redis could not be reached while {what}; nothing was written: {exc}"
        ) from exc
    except redis.AuthenticationError as exc:
        raise StorageUnavailable(f"Redis refused the credentials while {what}: {exc}") from exc
    except (redis.TimeoutError, redis.ConnectionError) as exc:
        raise StorageUnavailable(
            f"Redis did not answer while {what}; the write may or may not have happened:"
            f" {_named(exc)}"
        ) from exc
    except (ClusterDownError, AskError, TryAgainError) as exc:
        raise StorageUnavailable(
            f"Redis Cluster could not serve the keys while {what} (a fail-over or a slot"
            f" moving); nothing was written: {_named(exc)}"
        ) from exc
    except (redis.RedisError, RedisClusterException) as exc:
        maybe = "; the write may or may not have happened" if _after_lost_reply(exc) else ""
        raise StorageUnavailable(f"Redis failed while {what}{maybe}: {_named(exc)}") from exc


def _named(exc: BaseException) -> str:
    """The error with its class, which redis-py's messages do not name (``MOVED 1335 ...``)."""
    return f"{type(exc).__name__}: {exc}"


def _after_lost_reply(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while handling a timeout or a connection lost mid-command."""
    seen = exc.__context__
    while seen is not None:
        if isinstance(seen, redis.TimeoutError | redis.ConnectionError) and not isinstance(
            seen, NotSent
        ):
            return True
        seen = seen.__context__
    return False


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (sorted-set scores)."""
    if moment.tzinfo is None:
        raise ValueError(f"an aware datetime is needed, got {moment!r}")
    return (moment - _EPOCH) // _US


def from_us(value: int | float | str) -> datetime:
    """The UTC datetime of :func:`to_us`."""
    return _EPOCH + timedelta(microseconds=int(float(value)))
