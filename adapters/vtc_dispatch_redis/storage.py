"""Every Redis port of one tenant, built from one URL and prefix, sharing one client.

>>> from vtc_dispatch_redis import RedisStorage
>>> storage = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc:{douala}")
>>> sorted(storage.ports())  # doctest: +NORMALIZE_WHITESPACE
['commands', 'drivers', 'notifier', 'orders', 'progress', 'quotes', 'ratings', 'rides',
 'stats', 'unit_of_work', 'wallet']
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from redis.cluster import RedisCluster

from vtc_dispatch.errors import InvalidArgument
from vtc_dispatch.memory import NullNotifier
from vtc_dispatch_redis.connection import KEY_PARTS, RedisClient, RedisSettings, guarded
from vtc_dispatch_redis.drivers import RedisDriverRegistry
from vtc_dispatch_redis.orders import RedisOrderRepository
from vtc_dispatch_redis.progress import RedisProgressStore
from vtc_dispatch_redis.records import RedisCommandLog, RedisQuoteBook
from vtc_dispatch_redis.rides import RedisRideReader
from vtc_dispatch_redis.stats import RedisRatingStore, RedisStatsStore
from vtc_dispatch_redis.streams import RedisStreamNotifier
from vtc_dispatch_redis.unit_of_work import RedisUnitOfWork
from vtc_dispatch_redis.wallet import RedisWallet

__all__ = ["RedisStorage"]


class RedisStorage:
    """The Redis ports of one prefix; :meth:`ports` gives them as DispatchService arguments.

    It connects when built (StorageUnavailable if Redis does not answer),
    with :meth:`RedisSettings.connect <vtc_dispatch_redis.RedisSettings.connect>`:
    one Redis, or a Redis Cluster with ``settings.cluster``.  ``client``
    replaces that connection with one of the caller's, used as given:
    a ``redis.Redis`` (``decode_responses=True``) for one Redis, a
    ``redis.cluster.RedisCluster`` when ``settings.cluster`` is set (the
    prefix's hash tag is checked then).  The timeouts and retries of
    ``settings`` are not applied to it: a client that sends a command
    again after a timeout (redis-py's ``retry_on_timeout``, and
    RedisCluster's default retries of ``ConnectionError`` and
    ``TimeoutError``) may run a write twice; ``settings.connect()`` builds
    clients that never do.  ``DispatchService(pricing=...,
    **storage.ports())`` makes a service whose state lives in Redis: run it
    in as many worker processes as needed, each with its own storage.  Each
    command then commits with one script (:attr:`unit_of_work`), which also
    appends the command's messages to the streams; :attr:`notifier` is for
    a service that commits through the ports one by one.
    """

    def __init__(
        self,
        settings: RedisSettings,
        *,
        client: RedisClient | None = None,
        stats_window: timedelta = timedelta(days=7),
    ) -> None:
        if client is not None and isinstance(client, RedisCluster) != settings.cluster:
            raise InvalidArgument(
                f"client is a {type(client).__name__} but settings.cluster is {settings.cluster}:"
                " pass RedisSettings(cluster=True) with a RedisCluster, and only then"
            )
        self.settings = settings
        self.client: RedisClient = settings.connect() if client is None else client
        self.drivers = RedisDriverRegistry(self.client, settings)
        self.orders = RedisOrderRepository(self.client, settings, drivers=self.drivers)
        self.progress = RedisProgressStore(self.client, settings)
        self.wallet = RedisWallet(self.client, settings)
        self.stats = RedisStatsStore(self.client, settings, window=stats_window)
        self.ratings = RedisRatingStore(self.client, settings)
        self.notifier = RedisStreamNotifier(self.client, settings)
        self.commands = RedisCommandLog(self.client, settings)
        self.quotes = RedisQuoteBook(self.client, settings)
        self.rides = RedisRideReader(
            self.client, settings, drivers=self.drivers, orders=self.orders
        )
        self.unit_of_work = RedisUnitOfWork(
            self.client,
            settings,
            orders=self.orders,
            commands=self.commands,
            stats_window=stats_window,
            rides=self.rides.cache,
            drivers=self.drivers,
        )

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "vtc", **settings: Any) -> RedisStorage:
        """Storage for ``url`` (``redis://host:port/db``) under ``prefix``; see RedisSettings."""
        return cls(RedisSettings(url=url, prefix=prefix, **settings))

    def ports(self) -> dict[str, Any]:
        """The keyword arguments of :class:`~vtc_dispatch.service.DispatchService` it provides.

        The unit of work appends the messages to the streams in its commit,
        so the notifier given here sends nothing (and the service does not
        build the messages twice).  A host that passes its own notifier
        gets the messages there too.
        """
        return {
            "orders": self.orders,
            "drivers": self.drivers,
            "progress": self.progress,
            "wallet": self.wallet,
            "stats": self.stats,
            "ratings": self.ratings,
            "commands": self.commands,
            "quotes": self.quotes,
            "unit_of_work": self.unit_of_work,
            "rides": self.rides,
            "notifier": NullNotifier(),
        }

    def ping(self) -> None:
        """Check that Redis answers; StorageUnavailable otherwise."""
        with guarded(f"pinging {self.settings.url}"):
            self.client.ping()

    def keys(self) -> Iterator[str]:
        """Every key of this prefix, none of a longer one (SCAN: safe on a live server).

        ``vtc:{douala}:o:1`` matches ``vtc:*`` too; it is left out because
        its part after ``vtc:`` is ``{douala}``, not one of
        :data:`~vtc_dispatch_redis.connection.KEY_PARTS`.
        """
        start = len(self.settings.prefix) + 1
        with guarded("listing keys"):
            for key in self.client.scan_iter(match=_glob(self.settings.prefix) + ":*", count=1000):
                if _part(key, start) in KEY_PARTS:
                    yield key

    def clear(self) -> int:
        """Delete every key of :meth:`keys` (and nothing else); returns how many."""
        removed = 0
        batch: list[str] = []
        for key in self.keys():
            batch.append(key)
            if len(batch) == 500:
                removed += self._unlink(batch)
                batch = []
        return removed + (self._unlink(batch) if batch else 0)

    def _unlink(self, keys: list[str]) -> int:
        with guarded("deleting keys"):
            return int(self.client.unlink(*keys))


def _part(key: str, start: int) -> str:
    """The segment of ``key`` that begins at ``start`` (up to the next colon)."""
    end = key.find(":", start)
    return key[start:] if end < 0 else key[start:end]


def _glob(prefix: str) -> str:
    """The prefix with glob characters escaped, for SCAN MATCH."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix)
