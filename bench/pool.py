"""Pool suite: offer decisions and deadline handling with 100 000 drivers online.

``offer_decision`` is one pass of an order to its next driver (the refusal
of the current one, then choosing the next candidate, reserving them and
emitting the offer), timed through :meth:`DispatchService.reject`.
``expire_due`` is one call handling 1 000 due offers among 10 000 live
ones (each due offer goes to the next driver).  No peer library runs a
dispatch pool, so the rows are ours alone.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bench.common import OURS, Options, Row, SuiteReport, douala_point, progress, settle_heap
from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService


def _service(n_drivers: int, rng: random.Random) -> tuple[DispatchService, ManualClock]:
    clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    service = build_service(douala_config(), clock=clock)
    for i in range(n_drivers):
        service.driver_online(f"d{i}", "taxi_jaune", douala_point(rng))
    settle_heap()
    return service, clock


def run(options: Options) -> SuiteReport:
    """Time offer decisions and expire_due."""
    rng = random.Random(options.seed)
    n_drivers = options.n or (20_000 if options.quick else 100_000)
    live, due = (1_000, 100) if options.quick else (10_000, 1_000)
    progress(f"pool: {n_drivers} drivers online")
    service, clock = _service(n_drivers, rng)
    perf = time.perf_counter

    orders = [
        service.create_order(f"c{i}", douala_point(rng), douala_point(rng), "taxi_jaune", "CASH")
        for i in range(500 if options.quick else 2_000)
    ]
    decisions = 0
    t = perf()
    for _ in range(3):
        for order in orders:
            current = service.orders.get(order.id)
            if current.offered_to is not None:
                service.reject(current.offered_to, order.id)
                decisions += 1
    decision_us = (perf() - t) / decisions * 1e6

    progress(f"pool: {live} live offers, {due} due")
    service, clock = _service(n_drivers, rng)
    for i in range(live):
        if i == due:
            clock.advance(timedelta(seconds=10))  # the rest are made later, not due yet
        service.create_order(f"e{i}", douala_point(rng), douala_point(rng), "taxi_jaune", "CASH")
    clock.advance(timedelta(seconds=21))
    t = perf()
    handled = service.expire_due()
    expire_ms = (perf() - t) * 1e3
    return SuiteReport(
        suite="pool",
        params={
            "n_drivers": n_drivers,
            "live_offers": live,
            "due_offers": due,
            "quick": options.quick,
            "seed": options.seed,
        },
        rows=[
            Row(
                OURS,
                "offer_decision",
                decision_us,
                extra={"decisions": decisions, "per_s": round(1e6 / decision_us)},
            ),
            Row(
                OURS,
                "expire_due",
                expire_ms * 1e3,
                extra={"ms_per_call": round(expire_ms, 2), "handled": handled},
            ),
        ],
    )
