"""Matching windows on Redis: the same window as in memory, claimed whole by one worker."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import redis_support
from matching_day import EXPECTED, east, play_window
from places import DEIDO, T0

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.config import DispatchConfig
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

CONFIG = DispatchConfig(
    pricing=douala_config(),
    pool=PoolConfig.model_validate({"default": {"mode": "matching", "window_s": 3}}),
)
NAMES = {"d_near": "d_near", "d_far": "d_far", "a": "a", "b": "b"}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    redis_support.clean_up()


def worker(prefix: str, clock: ManualClock) -> DispatchService:
    """One worker process's service on the shared keys."""
    storage = redis_support.fresh_storage(prefix=prefix)
    ids = itertools.count(1)
    return build_service(
        CONFIG, storage.ports(), clock=clock, new_order_id=lambda: f"{prefix[-4:]}-{next(ids)}"
    )


def test_a_window_on_redis_is_the_same_window_as_in_memory() -> None:
    clock = ManualClock(T0)
    service = worker(redis_support.fresh_prefix(), clock)
    assert play_window(service, clock, NAMES) == EXPECTED


def test_one_worker_claims_the_whole_window_and_matches_it_at_once() -> None:
    prefix = redis_support.fresh_prefix()
    clock = ManualClock(T0)
    first, second = worker(prefix, clock), worker(prefix, clock)
    first.driver_online("d_near", "taxi_jaune", east(0.3))
    first.driver_online("d_far", "taxi_jaune", east(-0.5))
    a = first.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    b = second.create_order("b", east(0.5), DEIDO, "taxi_jaune", "CASH")
    assert a.window_at is not None
    assert b.window_at == a.window_at
    clock.set(a.window_at)
    # Both orders of the window go to the first worker that asks...
    assert {o.id for o in second.orders.with_live_offer(clock.now())} == {a.id, b.id}
    # ...and none to the others while it holds them: no half window matched apart.
    assert first.orders.with_live_offer(clock.now()) == []
    assert first.expire_due() == 0
    assert second.expire_due() == 2
    offered: dict[str, Any] = {o: first.orders.get(o).offered_to for o in (a.id, b.id)}
    assert offered == {a.id: "d_far", b.id: "d_near"}
    assert first.drivers.get("d_far").order_id == a.id
    assert first.drivers.get("d_near").order_id == b.id
