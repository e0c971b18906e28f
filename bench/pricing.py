"""Pricing suite: ``quote_all`` for 4 vehicle types with 20 zones and 10 fixed routes.

The configuration is the shipped Douala one grown to 4 vehicle types, 20
targeted zones (half with a surcharge) and 10 fixed-price routes; every
call prices a random trip inside the city at a random hour, so night
windows, zones and fixed routes all get exercised.  No peer library prices
trips, so the rows are ours alone, timed per call: ``quote_all`` (the
search screen), ``quote`` (one type) and ``final_fare`` (end of trip).
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import OURS, Options, Row, SuiteReport, progress, time_batches
from vtc_dispatch.geo import LatLng
from vtc_dispatch.pricing import FareQuote, Pricer, load_pricing_config
from vtc_dispatch.pricing.douala import DOUALA_CONFIG

N_ZONES = 20
N_ROUTES = 10
SOUTH, WEST, NORTH, EAST = 3.95, 9.62, 4.15, 9.82


def _box(min_lng: float, min_lat: float, size: float) -> dict[str, Any]:
    ring = [
        [min_lng, min_lat],
        [min_lng + size, min_lat],
        [min_lng + size, min_lat + size],
        [min_lng, min_lat + size],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def config(rng: random.Random) -> dict[str, Any]:
    """The Douala configuration with 4 types, 20 zones and 10 fixed routes."""
    data = copy.deepcopy(DOUALA_CONFIG)
    data["vehicle_types"]["moto"] = {"label": "Moto", "seats": 1, "multiplier": "0.6"}
    data["vehicle_types"]["van"] = {"label": "Van", "seats": 7, "multiplier": "1.5"}
    for vt in ("moto", "van"):
        tariff = copy.deepcopy(data["tariffs"][0])
        tariff["vehicle_type"] = vt
        data["tariffs"].append(tariff)
    data["zones"] = {}
    for i in range(N_ZONES):
        zone: dict[str, Any] = {
            "label": f"Zone {i}",
            "area": _box(rng.uniform(WEST, EAST - 0.03), rng.uniform(SOUTH, NORTH - 0.03), 0.03),
        }
        if i % 2 == 0:
            zone["surcharge"] = {"multiplier": "1.1"} if i % 4 == 0 else {"fixed": "200"}
            zone["applies_to"] = ["pickup", "dropoff", "either", "both"][i % 4]
        data["zones"][f"z{i:02d}"] = zone
    data["fixed_routes"] = {
        f"r{i}": {
            "label": f"Route {i}",
            "from_zone": f"z{i:02d}",
            "to_zone": f"z{i + N_ROUTES:02d}",
            "both_ways": i % 2 == 0,
            "fares": {"taxi_jaune": "3000", "confort": "6000", "van": "8000"},
        }
        for i in range(N_ROUTES)
    }
    return data


def run(options: Options) -> SuiteReport:
    """Time the pricing operations on random trips."""
    rng = random.Random(options.seed)
    pricer = Pricer(load_pricing_config(config(rng)))
    n = options.n or (2_000 if options.quick else 20_000)
    start = datetime(2026, 11, 21, tzinfo=UTC)

    def point() -> LatLng:
        return LatLng(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST))

    trips = [
        (point(), point(), start + timedelta(minutes=rng.randrange(7 * 24 * 60))) for _ in range(n)
    ]
    progress(f"pricing: {n} random trips, 4 vehicle types, {N_ZONES} zones, {N_ROUTES} routes")
    quoted: list[FareQuote] = [pricer.quote(a, b, "confort", at) for a, b, at in trips]
    budget = 2.0 if options.quick else 8.0

    def quote_all(batch: list[tuple[LatLng, LatLng, datetime]]) -> None:
        for a, b, at in batch:
            pricer.quote_all(a, b, at)

    def quote(batch: list[tuple[LatLng, LatLng, datetime]]) -> None:
        for a, b, at in batch:
            pricer.quote(a, b, "taxi_jaune", at)

    def final(batch: list[FareQuote]) -> None:
        for q in batch:
            pricer.final_fare(
                q,
                distance_km=float(q.distance_km) * 1.05,
                duration_min=float(q.duration_min),
                waiting_min=6.0,
                at=q.at + timedelta(hours=1),
            )

    rows = []
    for op, fn, items in (
        ("quote_all", quote_all, trips),
        ("quote", quote, trips),
        ("final_fare", final, quoted),
    ):
        timing = time_batches(fn, items, batch_size=200, budget_s=budget)  # type: ignore[arg-type]
        rows.append(Row(OURS, op, timing.us_per_op, extra={"n_ops": timing.n_ops}))
    return SuiteReport(
        suite="pricing",
        params={
            "n_trips": n,
            "vehicle_types": 4,
            "zones": N_ZONES,
            "fixed_routes": N_ROUTES,
            "quick": options.quick,
            "seed": options.seed,
        },
        rows=rows,
    )
