"""Redis adapter: the same dispatch service on many worker processes sharing one Redis.

Every storage port of :mod:`vtc_dispatch.ports` has a Redis implementation
here; :class:`RedisStorage` builds them all for one key prefix (a tenant).
Each command commits with one Lua script (:class:`RedisUnitOfWork`), which
appends its messages for drivers and customers to Redis Streams too.
Commands that collide with another worker raise
:class:`~vtc_dispatch.errors.ConcurrencyConflict` and are run again with
:func:`retry_conflicts`.  One Redis or a Redis Cluster (one hash tag per
tenant, ``RedisSettings(cluster=True)``); ``docs/redis.md`` tells how to
deploy it.

>>> from vtc_dispatch_redis import RedisSettings
>>> RedisSettings().url
'redis://127.0.0.1:6379/0'
"""

from vtc_dispatch_redis.codec import CodecError, decode_order, encode_order
from vtc_dispatch_redis.connection import RedisSettings
from vtc_dispatch_redis.drivers import RedisDriverRegistry
from vtc_dispatch_redis.orders import RedisOrderRepository
from vtc_dispatch_redis.progress import RedisProgressStore
from vtc_dispatch_redis.records import RedisCommandLog, RedisQuoteBook
from vtc_dispatch_redis.retry import retry_conflicts
from vtc_dispatch_redis.stats import RedisRatingStore, RedisStatsStore
from vtc_dispatch_redis.storage import RedisStorage
from vtc_dispatch_redis.streams import RedisStreamNotifier, stream_name
from vtc_dispatch_redis.unit_of_work import RedisUnitOfWork
from vtc_dispatch_redis.wallet import RedisWallet

__all__ = [
    "CodecError",
    "RedisCommandLog",
    "RedisDriverRegistry",
    "RedisOrderRepository",
    "RedisProgressStore",
    "RedisQuoteBook",
    "RedisRatingStore",
    "RedisSettings",
    "RedisStatsStore",
    "RedisStorage",
    "RedisStreamNotifier",
    "RedisUnitOfWork",
    "RedisWallet",
    "decode_order",
    "encode_order",
    "retry_conflicts",
    "stream_name",
]
