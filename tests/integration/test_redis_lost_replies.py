"""A command whose reply is lost is never sent again; one that could not be sent is (real Redis).

Each test talks to Redis through :class:`redis_proxy.RedisProxy` and
checks what ran on the real server, read directly, not through the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis
import redis_support
from redis_proxy import Fault, RedisProxy

from vtc_dispatch.errors import StorageUnavailable
from vtc_dispatch.wallet_ops import hold_id_for
from vtc_dispatch_redis import RedisStorage
from vtc_dispatch_redis.connection import guarded

TIMEOUT_S = 0.3


@pytest.fixture
def proxy() -> Iterator[RedisProxy]:
    redis_support.need_redis()
    with RedisProxy(redis_support.REDIS_URL) as running:
        yield running
        redis_support.clean_up()


@pytest.fixture
def direct() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_support.REDIS_URL, decode_responses=True)
    yield client
    client.close()


def through(proxy: RedisProxy, **settings: object) -> RedisStorage:
    """Storage under a fresh prefix whose client talks to Redis through ``proxy``."""
    storage = RedisStorage.from_url(
        proxy.url,
        prefix=redis_support.fresh_prefix(),
        socket_timeout_s=TIMEOUT_S,
        **settings,
    )
    redis_support.track(storage)
    return storage


@pytest.mark.parametrize("fault", ["drop", "delay", "cut"])
def test_an_incr_whose_reply_is_lost_runs_once_and_says_it_may_have_happened(
    proxy: RedisProxy, direct: redis.Redis, fault: Fault
) -> None:
    storage = through(proxy)
    counter = storage.settings.key("o", "counter")
    with guarded("counting"):
        storage.client.incr(counter)
    proxy.arm(fault, delay_s=3 * TIMEOUT_S)
    with (
        pytest.raises(StorageUnavailable, match="may or may not have happened"),
        guarded("counting"),
    ):
        storage.client.incr(counter)
    assert proxy.armed == 0
    assert direct.get(counter) == "2"  # ran exactly once more, never re-sent
    with guarded("counting"):
        assert storage.client.incr(counter) == 3  # the client connects again by itself


def test_a_connection_refused_before_the_command_is_retried(
    proxy: RedisProxy, direct: redis.Redis
) -> None:
    storage = through(proxy, retries=2)
    counter = storage.settings.key("o", "counter")
    proxy.close_idle()
    proxy.arm("refuse")
    proxy.arm("refuse")
    with guarded("counting"):
        assert storage.client.incr(counter) == 1
    assert direct.get(counter) == "1"
    assert proxy.armed == 0


def test_connections_refused_beyond_the_retries_say_nothing_was_written(
    proxy: RedisProxy, direct: redis.Redis
) -> None:
    storage = through(proxy, retries=1)
    counter = storage.settings.key("o", "counter")
    proxy.close_idle()
    proxy.arm("refuse")
    proxy.arm("refuse")
    with (
        pytest.raises(StorageUnavailable, match=r"could not be reached.*nothing was written"),
        guarded("counting"),
    ):
        storage.client.incr(counter)
    assert direct.get(counter) is None


def test_a_connection_closed_while_idle_is_reopened_before_sending(
    proxy: RedisProxy, direct: redis.Redis
) -> None:
    storage = through(proxy)
    counter = storage.settings.key("o", "counter")
    with guarded("counting"):
        storage.client.incr(counter)
    proxy.close_idle()  # as a Redis restart would
    with guarded("counting"):
        assert storage.client.incr(counter) == 2
    assert direct.get(counter) == "2"


@pytest.mark.parametrize("fault", ["drop", "delay", "cut"])
def test_a_credit_whose_reply_is_lost_and_is_made_again_with_its_op_id_credits_once(
    proxy: RedisProxy, direct: redis.Redis, fault: Fault
) -> None:
    wallet = through(proxy).wallet
    wallet.credit("alice", Decimal(1000), "XAF")  # also loads the script
    proxy.arm(fault, delay_s=3 * TIMEOUT_S)
    with pytest.raises(StorageUnavailable, match="may or may not have happened"):
        wallet.credit("alice", Decimal(500), "XAF", op_id="top-up-2")
    assert wallet.balance("alice", "XAF") == 1500  # it ran
    wallet.credit("alice", Decimal(500), "XAF", op_id="top-up-2")
    assert wallet.balance("alice", "XAF") == 1500


@pytest.mark.parametrize("fault", ["drop", "delay", "cut"])
def test_a_hold_whose_reply_is_lost_and_is_made_again_with_its_op_id_holds_once(
    proxy: RedisProxy, direct: redis.Redis, fault: Fault
) -> None:
    storage = through(proxy)
    wallet = storage.wallet
    wallet.credit("alice", Decimal(10_000), "XAF")
    wallet.release(wallet.hold("alice", Decimal(0), "XAF", "warm-up"))  # loads the scripts
    proxy.arm(fault, delay_s=3 * TIMEOUT_S)
    with pytest.raises(StorageUnavailable, match="may or may not have happened"):
        wallet.hold("alice", Decimal(3000), "XAF", "ord-1", op_id="ord-1:hold")
    assert wallet.hold("alice", Decimal(3000), "XAF", "ord-1", op_id="ord-1:hold") == hold_id_for(
        "ord-1:hold"
    )
    assert wallet.balance("alice", "XAF") == 7000
    holds = list(direct.scan_iter(match=storage.settings.key("wh", "*")))
    assert holds == [storage.settings.key("wh", hold_id_for("ord-1:hold"))]
    assert direct.hget(holds[0], "amt") == "3000"
