"""Nested tenant prefixes (``P``, ``P:{douala}``, ``P:{douala}:x``) never share a key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis_support
from samples import AKWA, DEIDO

from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_redis import RedisSettings, RedisStorage


@pytest.fixture(autouse=True)
def _clean() -> Any:
    yield
    redis_support.clean_up()


def ride(storage: RedisStorage) -> str:
    """A whole wallet ride with ratings; the same ids on every prefix, so keys would collide."""
    clock = ManualClock(datetime(2026, 11, 21, 17, 30, tzinfo=UTC))
    service = DispatchService(
        pricing=douala_config(), clock=clock, new_order_id=lambda: "ord-1", **storage.ports()
    )
    storage.wallet.credit("chantal", Decimal(10_000), "XAF")
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0540, 9.7060))
    assert service.search(AKWA, DEIDO)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    service.accept("amadou", order.id)
    service.update_position("amadou", AKWA)
    service.arrived("amadou", order.id)
    clock.advance(timedelta(minutes=2))
    service.start_trip("amadou", order.id)
    service.update_position("amadou", DEIDO)
    service.complete_trip("amadou", order.id)
    service.rate(Actor.customer("chantal"), order.id, 5)
    done = service.rate(Actor.driver("amadou"), order.id, 4)
    assert done.state == "done"
    return done.id


def snapshot(storage: RedisStorage, longer: list[str]) -> dict[str, Any]:
    """Every key the raw ``P:*`` pattern finds, less those of longer prefixes, and its DUMP."""
    raw = storage.client
    prefix = storage.settings.prefix
    names = [
        k
        for k in raw.scan_iter(match=prefix + ":*", count=1000)
        if not any(k.startswith(other + ":") for other in longer)
    ]
    return {k: raw.dump(k) for k in names}


@pytest.mark.parametrize("cleared", [0, 1, 2])
def test_clearing_one_nested_prefix_leaves_the_others_whole(cleared: int) -> None:
    root = redis_support.fresh_prefix()
    prefixes = [root, f"{root}:{{douala}}", f"{root}:{{douala}}:x"]
    storages = [redis_support.fresh_storage(prefix=p) for p in prefixes]
    for storage in storages:
        ride(storage)
    before = [snapshot(s, prefixes[i + 1 :]) for i, s in enumerate(storages)]
    for storage, keys in zip(storages, before, strict=True):
        # Every key a ride wrote is one keys() lists, and no other prefix's.
        assert len(keys) > 10
        assert set(storage.keys()) == set(keys)

    assert storages[cleared].clear() == len(before[cleared])

    for i, storage in enumerate(storages):
        after = snapshot(storage, prefixes[i + 1 :])
        assert after == ({} if i == cleared else before[i])
    for i, storage in enumerate(storages):
        if i != cleared:
            assert storage.wallet.balance("chantal", "XAF") < 10_000
            assert storage.orders.get("ord-1").state == "done"


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("vtc:o", "'o', which names keys of the shorter prefix 'vtc'"),
        ("vtc:{douala}:wop:x", "'wop', which names keys of the shorter prefix 'vtc:{douala}'"),
        ("vtc::x", "empty part"),
        ("vtc:", "empty part"),
    ],
)
def test_a_prefix_cannot_reach_into_a_shorter_ones_keys(prefix: str, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("{", r"\{").replace("}", r"\}")):
        RedisSettings(prefix=prefix)
