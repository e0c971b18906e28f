"""The dispatch state in Redis (``VTC_STORES=redis``): the ``vtc_dispatch_redis`` adapter.

Orders, drivers, ride progress, drivers' offer statistics and customers'
rating totals go to Redis at ``REDIS_URL`` under the key prefix
``VTC_PREFIX``, so that several server and worker processes share them.
The wallets do not: money stays in the host's database (the app's
``WalletAccount`` rows, credited by the host's payment flow and shown in its
admin), where its transactions and backups are.  Messages to drivers and
customers still go through the Channels layer (``VTC_DISPATCH["NOTIFIER"]``):
the Redis adapter's stream notifier is for transports that read Redis
Streams, which the example's websocket consumers do not.

Import-guarded: the adapter ships with ``vtc-dispatch[redis]``; without
it, starting with ``VTC_STORES=redis`` fails with this message.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The ports of RedisStorage.ports() that the example takes from Redis.
IN_REDIS = ("orders", "drivers", "progress", "stats", "ratings")


@functools.cache
def _storage(url: str, prefix: str) -> Any:
    """One RedisStorage (one connection pool) per process, whatever the service rebuilds."""
    try:
        adapter: Any = importlib.import_module("vtc_dispatch_redis")
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"VTC_STORES=redis needs the vtc_dispatch_redis adapter ({exc});"
            " install vtc-dispatch[redis] or unset VTC_STORES"
        ) from exc
    return adapter.RedisStorage.from_url(url, prefix=prefix)


def redis_stores() -> dict[str, Any]:
    """The storage ports in Redis, for ``VTC_DISPATCH["STORES"]``: all but the wallet."""
    storage = _storage(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        os.environ.get("VTC_PREFIX", "vtc-demo"),
    )
    ports: dict[str, Any] = storage.ports()
    return {name: ports[name] for name in IN_REDIS}
