"""Sim suite: wall time per simulated request, a day in Douala with the full offer protocol.

``request`` is the wall microseconds of the whole run divided by the
requests simulated: demand, shifts, drivers' answers, offers and their
deadlines, positions on the way and on the trip, fares.  The default is
the issue's goal, one day with 200 000 requests and 5 000 drivers (``--n``
sets the requests per day; drivers are one per 40 requests); the Douala
scenario with positions every 300 s on a ride.  Our row tells how the
time splits between :class:`DispatchService` (``service_us``) and the
simulation itself (``sim_us``).

The peer is ridepy (``pip install ridepy 'pandas<3'``, needs Debian's
libboost-graph-dev): its C++ brute-force dispatcher (total travel time
minimising, one seat per vehicle) with the same number of vehicles, on
the first requests of the same demand in a flat plane in km at the same
speed.  Its time per request depends on the fleet, not the day, so a
prefix of the day measures it; its vehicles are always online and accept
everything, it has no offers, fares or tracking.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench.common import OURS, Options, Row, SuiteReport, add_ratios, progress, skipped_rows
from vtc_dispatch.sim.behaviour import ModelDecider
from vtc_dispatch.sim.engine import Simulation
from vtc_dispatch.sim.scenario import Scenario, load_scenario

REQUESTS_PER_DRIVER = 40
TRACKING_S = 300.0
RIDEPY_MAX_REQUESTS = 3_000
_KM_PER_DEG = 111.195


def bench_scenario(requests_per_day: int, hours: float) -> Scenario:
    """The Douala scenario at this volume, drivers in proportion, positions every 300 s."""
    drivers = max(5, requests_per_day // REQUESTS_PER_DRIVER)
    scenario = load_scenario("douala").scaled(requests_per_day=requests_per_day, drivers=drivers)
    data = scenario.model_dump(mode="json")
    data["tracking"]["interval_s"] = TRACKING_S
    data["duration_h"] = hours
    return load_scenario(data)


def _ours(scenario: Scenario, seed: int) -> tuple[Row, int]:
    last = [-1]

    def report(fraction: float) -> None:
        tenth = int(fraction * 10)
        if tenth != last[0]:
            last[0] = tenth
            progress(f"sim: {tenth * 10} % of the simulated time")

    result = Simulation(scenario, seed=seed, progress=report).run()
    requests = result.kpis["requests"]
    t = result.timing
    per = 1e6 / max(1, requests)
    row = Row(
        OURS,
        "request",
        t.wall_s * per,
        extra={
            "requests": requests,
            "requests_per_s": round(requests / t.wall_s, 1),
            "wall_s": round(t.wall_s, 2),
            "service_us": round(t.service_s * per, 1),
            "sim_us": round(t.sim_s * per, 1),
            "served_pct": result.kpis["served_pct"],
            "service_calls": t.service_calls,
            "events": t.events,
        },
    )
    return row, requests


def _ridepy(scenario: Scenario, seed: int, vehicles: int, n_requests: int) -> Row:
    try:
        from ridepy.data_structures_cython import (  # noqa: PLC0415
            TransportationRequest,
        )
        from ridepy.fleet_state import SlowSimpleFleetState  # noqa: PLC0415
        from ridepy.util.dispatchers_cython import (  # noqa: PLC0415
            BruteForceTotalTravelTimeMinimizingDispatcher,
        )
        from ridepy.util.spaces_cython import Euclidean2D  # noqa: PLC0415
        from ridepy.vehicle_state_cython import VehicleState  # noqa: PLC0415
    except ImportError as exc:
        return skipped_rows("ridepy", ["request"], f"not installed ({exc.name})")[0]
    decider = ModelDecider(scenario, seed)
    center = scenario.city.center_point
    kx = _KM_PER_DEG * math.cos(math.radians(center.lat))

    def plane(lat: float, lng: float) -> tuple[float, float]:
        return ((lng - center.lng) * kx, (lat - center.lat) * _KM_PER_DEG)

    homes: dict[str, Any] = {}
    for plan in decider.shifts():
        homes.setdefault(plan.driver_id, plane(plan.home.lat, plan.home.lng))
    requests = []
    patience = scenario.customers.patience_s.mode
    for i in range(n_requests):
        request = decider.next_request()
        if request is None:
            break
        t = request.t_us / 1e6
        requests.append(
            TransportationRequest(
                request_id=i,
                creation_timestamp=t,
                origin=plane(request.pickup.lat, request.pickup.lng),
                destination=plane(request.dropoff.lat, request.dropoff.lng),
                pickup_timewindow_min=t,
                pickup_timewindow_max=t + patience,
                delivery_timewindow_min=0.0,
                delivery_timewindow_max=math.inf,
            )
        )
    speed_km_s = 22.0 / 3600.0
    space = Euclidean2D(velocity=speed_km_s)
    fleet = SlowSimpleFleetState(
        initial_locations=dict(enumerate(list(homes.values())[:vehicles])),
        seat_capacities=1,
        space=space,
        dispatcher=BruteForceTotalTravelTimeMinimizingDispatcher(space.loc_type),
        vehicle_state_class=VehicleState,
    )
    progress(f"sim: ridepy, {len(requests)} requests, {vehicles} vehicles")
    t0 = time.perf_counter()
    accepted = sum(
        1 for e in fleet.simulate(iter(requests)) if e["event_type"] == "RequestAcceptanceEvent"
    )
    wall = time.perf_counter() - t0
    return Row(
        "ridepy",
        "request",
        wall / len(requests) * 1e6,
        extra={
            "requests": len(requests),
            "requests_per_s": round(len(requests) / wall, 1),
            "vehicles": vehicles,
            "accepted_pct": round(100.0 * accepted / len(requests), 2),
        },
    )


def run(options: Options) -> SuiteReport:
    """Time a simulated day (a few hours with --quick) against ridepy."""
    per_day = options.n or (2_000 if options.quick else 200_000)
    hours = 24.0
    scenario = bench_scenario(per_day, hours)
    drivers = scenario.total_drivers
    progress(f"sim: {per_day} requests per day, {drivers} drivers, {hours:g} h")
    ours, simulated = _ours(scenario, options.seed)
    peer = _ridepy(
        scenario,
        options.seed,
        drivers,
        max(1, min(RIDEPY_MAX_REQUESTS // (10 if options.quick else 1), simulated)),
    )
    rows = [ours, peer]
    add_ratios(rows)
    return SuiteReport(
        suite="sim",
        params={
            "requests_per_day": per_day,
            "drivers": drivers,
            "hours": hours,
            "tracking_interval_s": TRACKING_S,
            "quick": options.quick,
            "seed": options.seed,
        },
        rows=rows,
    )
