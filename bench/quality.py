"""Quality suite: what each pool mode does for customers and drivers on a dense simulated day.

The shipped Douala scenario (or ``--scenario FILE``) scaled to a dense
city, demand x20 and fleet x15 by default (``--scale-demand``,
``--scale-fleet``), is simulated once per pool mode, with the same seed,
demand and shifts: ``sequential`` (nearest first, one driver at a time),
``batch`` (three at once, first to accept wins) and ``matching`` (the
waiting orders matched every ``window_s``,
:mod:`vtc_dispatch.pool.matching`); the scenario's other pool settings
are kept.  Positions on a ride every 300 s: they cost time and change
neither the waits nor the matching (a driver's position is exact when the
ride ends).

Rows, one per mode (``impl`` ``vtc_dispatch/<mode>``) and measure, over
the whole run and over the evening peak hour (``..._peak``: the afternoon
or evening hour with the largest share of the day's requests, 18:00 in
Douala): ``wait_p50_s`` and ``wait_p90_s`` (from the request to the
driver's arrival, requests a driver reached), ``served_pct`` (requests
ending in a done ride), ``pickup_km_mean`` (great-circle distance from the
assigned driver to the pickup, first assignment of each order),
``offers_per_order`` and ``utilisation_pct`` (drivers' time from
assignment to the end of the ride, over their online time).  Requests
count in the hour they were made.  Each row carries its number in
``value`` and in ``us_per_op`` (so the common tools read it: it is no
time), and the other modes the difference with ``sequential``
(``delta``, same unit, and ``delta_pct``).

``--quick`` simulates two hours only, the hour before the peak (drivers
start idle: it warms the city up) and the peak: about a minute for the
three modes at the default scale, a quarter of an hour without it.  ``--plots DIR`` draws
the simulation's comparison plots of the runs (matplotlib).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import OURS, JSONValue, Options, Row, SuiteReport, UsageError, progress
from vtc_dispatch.events import DriverArrived, DriverAssigned, Event, OfferSent, OrderCreated
from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.pool.matching import solver_name
from vtc_dispatch.sim.engine import Simulation
from vtc_dispatch.sim.kpis import SimResult, percentile
from vtc_dispatch.sim.scenario import InvalidScenario, Scenario, load_scenario, local_midnight

MODES = ("sequential", "batch", "matching")
OPS = (
    "wait_p50_s",
    "wait_p90_s",
    "served_pct",
    "pickup_km_mean",
    "offers_per_order",
    "utilisation_pct",
)
SCALE_DEMAND = 20.0
SCALE_FLEET = 15.0
TRACKING_S = 300.0
_HOUR = timedelta(hours=1)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The suite's own options."""
    group.add_argument(
        "--scenario", metavar="FILE", default="douala", help="the scenario to scale (douala)"
    )
    group.add_argument(
        "--scale-demand",
        type=float,
        default=SCALE_DEMAND,
        help=f"requests per day times this ({SCALE_DEMAND:g})",
    )
    group.add_argument(
        "--scale-fleet",
        type=float,
        default=SCALE_FLEET,
        help=f"drivers times this ({SCALE_FLEET:g})",
    )
    group.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"the pool modes to run, comma-separated ({','.join(MODES)})",
    )
    group.add_argument(
        "--window-s",
        type=float,
        default=None,
        help="the matching window at every hour, seconds (default: the scenario's pool"
        " settings, by hour; else 3)",
    )
    group.add_argument(
        "--match-candidates",
        type=int,
        default=None,
        help="drivers per order the matching chooses among (default: the pool setting)",
    )
    group.add_argument("--plots", metavar="DIR", help="write the comparison plots there")


def peak_hour(scenario: Scenario) -> int:
    """The local hour, from noon on, with the largest share of the day's requests."""
    profile = scenario.demand.hourly_profile
    return max(range(12, 24), key=lambda hour: (profile[hour], -hour))


def quality_scenario(
    base: Scenario,
    mode: str,
    scale_demand: float,
    scale_fleet: float,
    *,
    quick: bool,
    pool_settings: dict[str, Any] | None = None,
) -> Scenario:
    """``base`` scaled, in pool ``mode`` with ``pool_settings`` (its other pool settings kept);
    two hours up to the end of the peak hour when ``quick``."""
    drivers = max(1, round(base.total_drivers * scale_fleet))
    scaled = base.scaled(
        requests_per_day=base.demand.requests_per_day * scale_demand, drivers=drivers
    )
    data = scaled.model_dump(mode="json")
    data["name"] = f"{base.name} x{scale_demand:g}/x{scale_fleet:g} {mode}"
    data["tracking"]["interval_s"] = TRACKING_S
    pool = dict(data["dispatch"].get("pool") or {})
    chosen = {**(pool_settings or {}), "mode": mode}
    pool["default"] = {**pool.get("default", {}), **chosen}
    # An override with hours changes settings at those hours, never the mode.
    pool["overrides"] = [
        {
            **o,
            "settings": {
                **o["settings"],
                **((pool_settings or {}) if o.get("hours") is not None else chosen),
            },
        }
        for o in pool.get("overrides", ())
    ]
    data["dispatch"]["pool"] = pool
    if quick:
        start = local_midnight(base.start) + (peak_hour(base) - 1) * _HOUR
        data["start"] = start.isoformat()
        data["duration_h"] = 2.0
    return load_scenario(data)


class _Watcher:
    """What the rows need of each order, from the service's events."""

    def __init__(self) -> None:
        self.created: dict[str, tuple[datetime, LatLng]] = {}
        self.customer: dict[str, str] = {}
        self.offers: dict[str, int] = {}
        self.pickup_km: dict[str, float] = {}
        self.arrived: dict[str, datetime] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, OfferSent):
            self.offers[event.order_id] = self.offers.get(event.order_id, 0) + 1
        elif isinstance(event, OrderCreated):
            self.created[event.order_id] = (event.at, event.pickup)
            self.customer[event.order_id] = event.customer_id
        elif isinstance(event, DriverAssigned) and event.order_id not in self.pickup_km:
            pickup = self.created[event.order_id][1]
            self.pickup_km[event.order_id] = haversine_km(event.driver_position, pickup)
        elif isinstance(event, DriverArrived):
            self.arrived.setdefault(event.order_id, event.at)

    def waits(self, orders: Sequence[str]) -> dict[str, float]:
        """The wait of each of ``orders`` a driver reached, by its customer (one per request:
        the same in every run of the demand)."""
        return {
            self.customer[o]: (self.arrived[o] - self.created[o][0]).total_seconds()
            for o in orders
            if o in self.arrived
        }

    def measures(self, orders: Sequence[str]) -> dict[str, float | None]:
        """Waits, pickup distance and offers of ``orders``."""
        waits = list(self.waits(orders).values())
        km = [self.pickup_km[o] for o in orders if o in self.pickup_km]
        return {
            "wait_p50_s": _round(percentile(waits, 0.5), 1),
            "wait_p90_s": _round(percentile(waits, 0.9), 1),
            "pickup_km_mean": _round(sum(km) / len(km), 3) if km else None,
            "offers_per_order": _round(sum(self.offers.get(o, 0) for o in orders) / len(orders), 3)
            if orders
            else None,
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _measure(scenario: Scenario, seed: int, peak: int) -> tuple[dict[str, Any], SimResult]:
    """One run: the measures of the whole run and of its peak hour (by their op names)."""
    simulation = Simulation(scenario, seed=seed)
    watcher = _Watcher()
    simulation.service.subscribe(watcher)
    result = simulation.run()
    kpis = result.kpis
    hour = next(h for h in result.hourly if h["local_time"] == peak)
    start = scenario.start
    in_peak = [
        order_id
        for order_id, (at, _) in watcher.created.items()
        if (at - start) // _HOUR == hour["hour"]
    ]
    day = watcher.measures(list(watcher.created))
    day["served_pct"] = kpis["served_pct"]
    day["utilisation_pct"] = kpis["drivers"]["utilisation_pct"]
    at_peak = watcher.measures(in_peak)
    at_peak["served_pct"] = (
        round(100.0 * hour["done"] / hour["requests"], 2) if hour["requests"] else None
    )
    at_peak["utilisation_pct"] = (
        round(100.0 * hour["busy_drivers"] / hour["online_drivers"], 2)
        if hour["online_drivers"]
        else None
    )
    measured: dict[str, Any] = {op: day[op] for op in OPS}
    measured |= {f"{op}_peak": at_peak[op] for op in OPS}
    measured["requests"] = kpis["requests"]
    measured["requests_peak"] = hour["requests"]
    measured["waits"] = watcher.waits(list(watcher.created))
    measured["waits_peak"] = watcher.waits(in_peak)
    return measured, result


def _rows(measured: dict[str, dict[str, Any]]) -> list[Row]:
    rows = []
    baseline = measured.get("sequential")
    for mode, values in measured.items():
        for op in (*OPS, *(f"{op}_peak" for op in OPS)):
            value = values[op]
            extra: dict[str, JSONValue] = {"value": value}
            before = None if baseline is None or mode == "sequential" else baseline[op]
            if value is not None and before is not None:
                extra["delta"] = round(value - before, 3)
                if before:
                    extra["delta_pct"] = round(100.0 * (value - before) / before, 2)
            if baseline is not None and mode != "sequential" and op.startswith("wait_"):
                extra["on_common_requests"] = _on_common(op, values, baseline)
            rows.append(Row(f"{OURS}/{mode}", op, value, extra=extra))
    return rows


def _on_common(op: str, ours: dict[str, Any], sequential: dict[str, Any]) -> JSONValue:
    """The wait percentile of ``op`` over the requests a driver reached in both runs.

    A mode that serves customers the other lets go (they cancel while
    waiting) adds long waits to its own percentiles: over the same
    requests, the two waits compare like for like.
    """
    key = "waits_peak" if op.endswith("_peak") else "waits"
    q = 0.5 if op.startswith("wait_p50") else 0.9
    mine, theirs = ours[key], sequential[key]
    common = mine.keys() & theirs.keys()
    return {
        "requests": len(common),
        "value": _round(percentile([mine[c] for c in common], q), 1),
        "sequential": _round(percentile([theirs[c] for c in common], q), 1),
    }


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        raise UsageError(f"--modes: one or more of {', '.join(MODES)}, got {text!r}")
    return modes


def run(options: Options) -> SuiteReport:
    """Simulate the scenario once per mode and report the quality of each."""
    if options.n is not None:
        raise UsageError("--n: the quality suite scales its scenario with --scale-demand")
    args = options.args
    scale_demand, scale_fleet = args["scale_demand"], args["scale_fleet"]
    if not (scale_demand > 0 and scale_fleet > 0):
        raise UsageError(
            f"--scale-demand and --scale-fleet must be > 0, got {scale_demand}, {scale_fleet}"
        )
    modes = _modes(args["modes"])
    try:
        base = load_scenario(args["scenario"])
    except InvalidScenario as exc:
        raise UsageError(f"--scenario: {exc}") from None
    peak = peak_hour(base)
    matching = {
        name: args[name] for name in ("window_s", "match_candidates") if args[name] is not None
    }
    measured: dict[str, dict[str, Any]] = {}
    results: list[SimResult] = []
    scenario = base
    for mode in modes:
        scenario = quality_scenario(
            base,
            mode,
            scale_demand,
            scale_fleet,
            quick=options.quick,
            pool_settings=matching if mode == "matching" else None,
        )
        progress(
            f"quality: {mode}, {scenario.demand.requests_per_day:g} requests a day,"
            f" {scenario.total_drivers} drivers, {scenario.duration_h:g} h"
        )
        measured[mode], result = _measure(scenario, options.seed, peak)
        results.append(result)
        progress(f"quality: {mode} done in {result.timing.wall_s:.0f} s")
    if args["plots"]:
        _plots(results, args["plots"])
    pool = (
        quality_scenario(base, "matching", 1.0, 1.0, quick=True, pool_settings=matching)
        .dispatch_config()
        .pool
    )
    settings = pool.default
    # The windows of the overrides naming hours (the peaks' windows).
    windows_by_hours: list[JSONValue] = [
        {"hours": list(o.hours), "window_s": o.settings["window_s"]}
        for o in pool.overrides
        if o.hours is not None and "window_s" in o.settings
    ]
    return SuiteReport(
        suite="quality",
        params={
            "scenario": base.name,
            "scale_demand": scale_demand,
            "scale_fleet": scale_fleet,
            "requests_per_day": scenario.demand.requests_per_day,
            "drivers": scenario.total_drivers,
            "start": scenario.start.isoformat(),
            "hours": scenario.duration_h,
            "peak_local_hour": peak,
            "requests": {mode: values["requests"] for mode, values in measured.items()},
            "requests_peak": {mode: values["requests_peak"] for mode, values in measured.items()},
            "window_s": settings.window_s,
            "window_s_by_hours": windows_by_hours,
            "match_candidates": settings.match_candidates,
            "solver": solver_name(),
            "tracking_interval_s": TRACKING_S,
            "quick": options.quick,
            "seed": options.seed,
        },
        rows=_rows(measured),
    )


def _plots(results: list[SimResult], directory: str) -> None:
    from vtc_dispatch.sim.plots import PlotsUnavailable, write_plots  # noqa: PLC0415

    try:
        for path in write_plots(results, Path(directory)):
            progress(f"quality: wrote {path}")
    except PlotsUnavailable as exc:
        raise UsageError(f"--plots: {exc}") from None
