"""Service suite: full ride cycles in memory with 100 000 drivers online.

A ride cycle is what seed 000 describes, through the public API of
:class:`~vtc_dispatch.service.DispatchService` on its in-memory defaults:
search, create the order (the nearest driver gets the offer), accept,
drive to the pickup and arrive, start, 20 positions on the way, complete
(final fare from the track), and both ratings.  ``ride_cycle`` is the wall
time of one whole cycle; the steps are reported too.  No peer library runs
a ride, so the rows are ours alone.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from bench.common import (
    OURS,
    Options,
    Row,
    SuiteReport,
    UsageError,
    douala_point,
    drive_s,
    progress,
    settle_heap,
    unheard_phones,
)
from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.config import DispatchConfig
from vtc_dispatch.geo import destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor
from vtc_dispatch.pricing import douala_config

TYPES = ("taxi_jaune", "confort")
TRACK_POINTS = 20


def run(options: Options) -> SuiteReport:
    """Time full ride cycles."""
    rng = random.Random(options.seed)
    n_drivers = options.n or (20_000 if options.quick else 100_000)
    n_rides = 300 if options.quick else 2_000
    clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    config = DispatchConfig(pricing=douala_config(), service=unheard_phones())
    service = build_service(config, clock=clock)
    progress(f"service: {n_drivers} drivers online")
    for i in range(n_drivers):
        service.driver_online(f"d{i}", TYPES[i % 2], douala_point(rng))
    trips = [(douala_point(rng), douala_point(rng)) for _ in range(n_rides)]
    steps: dict[str, float] = defaultdict(float)
    done = 0
    perf = time.perf_counter
    settle_heap()
    progress(f"service: {n_rides} ride cycles")
    t_all = perf()
    for i, (pickup, dropoff) in enumerate(trips):
        t = perf()
        lines = service.search(pickup, dropoff)
        steps["search"] += perf() - t
        if not lines:
            continue
        t = perf()
        order = service.create_order(f"c{i}", pickup, dropoff, lines[0].vehicle_type, "CASH")
        steps["create_order"] += perf() - t
        driver = order.offered_to
        if driver is None:
            continue
        t = perf()
        to_pickup_km = order.offers[0].distance_km
        service.accept(driver, order.id)
        clock.advance(timedelta(seconds=drive_s(to_pickup_km)))
        service.update_position(driver, pickup)
        service.arrived(driver, order.id)
        service.start_trip(driver, order.id)
        steps["accept_to_start"] += perf() - t
        km = haversine_km(pickup, dropoff)
        bearing = initial_bearing_deg(pickup, dropoff)
        t = perf()
        for j in range(1, TRACK_POINTS + 1):
            clock.advance(timedelta(seconds=20))
            service.update_position(
                driver, destination_point(pickup, bearing, km * j / TRACK_POINTS)
            )
        steps["track_20_points"] += perf() - t
        t = perf()
        service.complete_trip(driver, order.id)
        service.rate(Actor.customer(f"c{i}"), order.id, 5)
        service.rate(Actor.driver(driver), order.id, 5)
        steps["complete_and_rate"] += perf() - t
        done += 1
    total = perf() - t_all
    if not done:
        raise UsageError(f"no ride could be served with {n_drivers} drivers; use a larger --n")
    rows = [
        Row(
            OURS,
            "ride_cycle",
            total / done * 1e6,
            extra={"rides": done, "rides_per_s": round(done / total, 1)},
        )
    ]
    rows += [Row(OURS, name, spent / done * 1e6) for name, spent in steps.items()]
    return SuiteReport(
        suite="service",
        params={
            "n_drivers": n_drivers,
            "rides": done,
            "track_points": TRACK_POINTS,
            "quick": options.quick,
            "seed": options.seed,
        },
        rows=rows,
    )
