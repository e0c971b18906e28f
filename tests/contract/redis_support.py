"""A real Redis for the tests: a fresh key prefix each time, every key removed afterwards.

Redis is at ``VTC_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and
shared with other users: nothing here flushes a database, only the keys of
the prefixes it made.  Without Redis the tests that need it are skipped,
or fail when ``VTC_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("VTC_REDIS_URL") or "redis://127.0.0.1:6379/0"
REQUIRE_SERVICES = os.environ.get("VTC_REQUIRE_SERVICES") == "1"

try:
    from vtc_dispatch_redis import RedisStorage
except ImportError:  # the redis extra is not installed
    RedisStorage = None  # type: ignore[assignment,misc]

_made: list[RedisStorage] = []


def redis_unavailable() -> str | None:
    """Why Redis cannot be used here, or ``None`` when it answers."""
    if RedisStorage is None:
        return "the redis extra is not installed (pip install 'vtc-dispatch[redis]')"
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1.0, socket_timeout=1.0).ping()
    except redis.RedisError as exc:
        return f"no Redis answers at {REDIS_URL}: {exc}"
    return None


def need_redis() -> None:
    """Skip the test without Redis, or fail it when services are required."""
    reason = redis_unavailable()
    if reason is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"VTC_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


def fresh_prefix() -> str:
    """A key prefix no one else uses, with a hash tag as Redis Cluster wants."""
    return f"vtc-test:{{{uuid.uuid4().hex[:12]}}}"


def fresh_storage(*, prefix: str | None = None, **settings: object) -> RedisStorage:
    """Storage under ``prefix`` (default: a new one); :func:`clean_up` removes its keys."""
    need_redis()
    storage = RedisStorage.from_url(REDIS_URL, prefix=prefix or fresh_prefix(), **settings)
    _made.append(storage)
    return storage


def track(storage: RedisStorage) -> RedisStorage:
    """Have :func:`clean_up` remove the keys of a storage made elsewhere."""
    _made.append(storage)
    return storage


def clean_up() -> None:
    """Delete the keys of every storage made since the last call."""
    while _made:
        storage = _made.pop()
        storage.clear()
        storage.client.close()
