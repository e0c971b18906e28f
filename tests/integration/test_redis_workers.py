"""Four worker processes share one Redis: every order ends once, no driver on two rides.

A worker is killed with SIGKILL while its offers are live: the others
expire those offers, and a replacement worker takes its orders over to
their end.  Real Redis, real processes (examples/redis_workers.py).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis_support

from vtc_dispatch.errors import NotFound
from vtc_dispatch.fsm import RideState
from vtc_dispatch_redis import RedisSettings, RedisStorage

# Imported as a module (not run as a path) so that the spawned workers can import it too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
EXAMPLE: Any = importlib.import_module("redis_workers")
WORKERS, DRIVERS, ORDERS = 4, 2000, 5000
ANSWER_S = 0.4


def live_offers(storage: RedisStorage, worker: int) -> dict[str, str]:
    """Order id -> driver offered, for the worker's orders with a live offer (from ``P:dl``)."""
    client: Any = storage.client
    ids = client.zrange(storage.settings.key("dl"), 0, -1)
    offers = {}
    for order_id in ids:
        try:
            order = storage.orders.get(order_id)
        except NotFound:
            continue
        if order.customer_id.startswith(f"c-{worker}-") and order.offered_to:
            offers[order.id] = order.offered_to
    return offers


@pytest.mark.slow
def test_four_workers_one_killed_every_order_ends_once() -> None:
    redis_support.need_redis()
    settings = RedisSettings(
        url=redis_support.REDIS_URL,
        prefix=redis_support.fresh_prefix(),
        claim_s=1.0,
        reservation_lease_s=2.0,
    )
    storage = RedisStorage(settings)
    processes: list[Any] = []
    try:
        EXAMPLE.put_drivers_online(settings, DRIVERS, 7)
        processes, results = EXAMPLE.start_workers(
            settings, WORKERS, ORDERS, seed=7, answer_s=ANSWER_S
        )
        victim = WORKERS - 1
        share = ORDERS // WORKERS
        give_up = time.monotonic() + 120
        while len(live_offers(storage, victim)) < 3 and time.monotonic() < give_up:
            time.sleep(0.2)
        os.kill(processes[victim].pid, signal.SIGKILL)
        offers = live_offers(storage, victim)  # what it left behind
        assert offers, "the killed worker had no live offer"
        # The other workers' expire_due passes each of them on (or ends the search).
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            left = {o: d for o, d in offers.items() if d not in storage.orders.get(o).tried}
            if not left:
                break
            time.sleep(0.2)
        assert not left, f"offers of the killed worker never expired: {left}"
        ended: Counter[str] = Counter()
        for _ in range(WORKERS - 1):
            ended.update(results.get(timeout=300)[1])
        replacement = EXAMPLE.work(
            settings, victim, share, seed=8, answer_s=ANSWER_S, take_over=True
        )
        assert replacement["taken_over"] > 0
        assert EXAMPLE.check(settings, WORKERS, ORDERS) == []
        assert ended[RideState.DONE] + replacement[RideState.DONE] > ORDERS // 2
    finally:
        for process in processes:
            process.kill()
        storage.clear()
