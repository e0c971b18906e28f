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
    factory = getattr(adapter, "stores_from_url", None)
    if factory is None:
        raise ImproperlyConfigured(
            "this vtc_dispatch_redis has no stores_from_url(url, prefix=...) returning"
            " (orders, drivers, progress); see its documentation"
        )
    stores: tuple[Any, Any, Any] = factory(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        prefix=os.environ.get("VTC_PREFIX", "vtc-demo"),
    )
    return stores
