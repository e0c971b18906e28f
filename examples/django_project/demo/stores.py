"""The dispatch state in Redis (``VTC_STORES=redis``): the ``vtc_dispatch_redis`` adapter.

Import-guarded: the adapter ships with ``vtc-dispatch[redis]``; without
it, starting with ``VTC_STORES=redis`` fails with this message.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def redis_stores() -> tuple[Any, Any, Any]:
    """Orders, drivers and ride progress in Redis at ``REDIS_URL`` (key prefix ``VTC_PREFIX``)."""
    try:
        adapter: Any = importlib.import_module("vtc_dispatch_redis")
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"VTC_STORES=redis needs the vtc_dispatch_redis adapter ({exc});"
            " install vtc-dispatch[redis] or unset VTC_STORES"
        ) from exc
    # RedisStorage.from_url(url, prefix=...) builds every Redis port of one prefix.
    storage = adapter.RedisStorage.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        prefix=os.environ.get("VTC_PREFIX", "vtc-demo"),
    )
    stores: tuple[Any, Any, Any] = (storage.orders, storage.drivers, storage.progress)
    return stores
