"""Random scenarios through the simulation: invariants of every run."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_scenarios import check_goods_run, run_goods, small_goods, small_scenario

from vtc_dispatch.events import Event
from vtc_dispatch.sim import OUTCOMES, Simulation

STATE_OF = {
    "done": "done",
    "no_driver": "no_driver",
    "cancelled_by_customer": "cancelled",
    "cancelled_by_driver": "cancelled",
}


@st.composite
def runs(draw: st.DrawFn) -> tuple[Any, int, str]:
    mode = draw(st.sampled_from(["sequential", "batch"]))
    pool: dict[str, Any] = {
        "mode": mode,
        "max_waiting_time_s": draw(st.floats(5, 60)),
        "radius_min_km": 1.0,
        "radius_max_km": draw(st.floats(1, 8)),
        "max_offers": draw(st.integers(1, 6)),
        "search_timeout_s": draw(st.floats(30, 400)),
        "on_driver_cancel": draw(st.sampled_from(["requeue", "cancel"])),
    }
    if mode == "batch":
        pool["batch_size"] = draw(st.integers(1, 3))
        pool["stagger_s"] = draw(st.sampled_from([0.0, 3.0, 15.0]))
    scenario = small_scenario(
        requests_per_day=draw(st.integers(50, 400)),
        drivers=draw(st.integers(1, 12)),
        hours=draw(st.floats(1, 24)),
        dispatch__pool={"default": pool},
        drivers__no_answer=draw(st.floats(0, 1)),
        drivers__accept={"base": draw(st.floats(0.05, 0.95)), "per_km": -0.3, "per_fare": 0.5},
        drivers__withdraw_after_accept=draw(st.floats(0, 0.5)),
        customers__patience_s=draw(st.sampled_from([30, [60, 200, 900], 3000])),
        customers__retry_probability=draw(st.floats(0, 1)),
        tracking__interval_s=draw(st.sampled_from([5.0, 60.0, 900.0])),
    )
    return scenario, draw(st.integers(0, 10_000)), pool["on_driver_cancel"]


# An example is a whole simulated day built from many draws: generating it is
# slow and large by nature, not a sign of a strategy going astray.
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(runs())
def test_every_run_keeps_its_invariants(run: tuple[Any, int, str]) -> None:
    scenario, seed, on_driver_cancel = run
    log = io.StringIO()
    simulation = Simulation(scenario, seed=seed, event_log=log)
    moments: list[datetime] = []

    def listen(event: Event) -> None:
        moments.append(event.at)

    simulation.service.subscribe(listen)
    result = simulation.run()
    k = result.kpis
    records = [json.loads(line) for line in log.getvalue().splitlines()]

    # Simulated time never goes backwards, as the service sees it.
    assert moments == sorted(moments)

    # Every request ends in exactly one terminal outcome, the one the service agrees with.
    requested = [r["customer"] for r in records if r["k"] == "request"]
    ended = Counter(r["customer"] for r in records if r["k"] == "outcome")
    assert len(requested) == k["requests"]
    assert all(ended[c] == 1 for c in requested)
    assert set(ended) == set(requested)
    for record in records:
        if record["k"] == "outcome" and record["outcome"] in STATE_OF:
            order = simulation.service.orders.get(record["order"])
            assert order.state == STATE_OF[record["outcome"]], record

    # No driver is left holding an order once every request has ended.
    for driver_id in {r["driver"] for r in records if r["k"] == "shift"}:
        try:
            status = simulation.service.drivers.get(driver_id)
        except LookupError:
            continue
        assert status.order_id is None, status

    # KPI counts add up.
    assert set(k["outcomes"]) == set(OUTCOMES)
    assert sum(k["outcomes"].values()) == k["requests"]
    assert sum(h["requests"] for h in result.hourly) == k["requests"]
    assert sum(h["done"] for h in result.hourly) == k["outcomes"]["done"]
    offers = k["offers"]
    assert offers["accepted"] + offers["rejected"] + offers["expired"] <= offers["sent"]
    assert offers["sent"] == sum(1 for r in records if r["k"] == "answer")
    assert k["outcomes"]["done"] <= offers["accepted"]
    assert 0 <= k["drivers"]["occupied_pct"] <= k["drivers"]["utilisation_pct"] <= 100
    if on_driver_cancel == "requeue":  # a driver who withdraws never ends the order
        assert k["cancellations"]["driver"] == 0
    else:
        assert k["cancellations"]["driver"] == k["driver_withdrawals"]


@st.composite
def goods_runs(draw: st.DrawFn) -> tuple[Any, int]:
    """A few hours of freight loads or restaurant deliveries, with drawn behaviours."""
    freight = draw(st.booleans())
    mode = draw(
        st.sampled_from(
            ["bidding", "sequential"] if freight else ["sequential", "batch", "bidding"]
        )
    )
    window_s = draw(st.floats(60, 900))
    pool: dict[str, Any] = {
        "mode": mode,
        "max_waiting_time_s": draw(st.floats(20, 120)),
        "radius_min_km": draw(st.floats(2, 10)),
        "radius_max_km": 30,
        "max_offers": draw(st.integers(1, 12)),
        "bidders": draw(st.integers(1, 6)),
        "bidding_window_s": window_s,
        "search_timeout_s": draw(st.floats(window_s, 3600)),
        "on_driver_cancel": draw(st.sampled_from(["requeue", "cancel"])),
    }
    changes: dict[str, Any] = {
        "dispatch__pool": {"default": pool},
        "drivers__no_answer": draw(st.floats(0, 0.5)),
        "drivers__answer_delay_s": draw(st.sampled_from([[2, 6, 20], [20, 100, 400]])),
        "drivers__accept__base": draw(st.floats(0.05, 0.95)),
        "drivers__withdraw_after_accept": draw(st.floats(0, 0.3)),
        "customers__retry_probability": draw(st.floats(0, 1)),
        "customers__patience_s": draw(st.sampled_from([300, [300, 900, 3000]])),
        "bidding__review_s": draw(st.sampled_from([10, [30, 200, 600]])),
        "bidding__review_every_s": draw(st.floats(10, 300)),
        "bidding__rating_weight": draw(st.floats(0, 1)),
        "receipt__dispute": draw(st.floats(0, 1)),
        "receipt__proof_offset_m": draw(st.sampled_from([0, [0, 40, 100]])),
    }
    if freight:
        name, volume, fleet, hours, starts = (
            "dakar-freight",
            (5, 150),
            (2, 15),
            (1.0, 3.0),
            [6, 9, 14],
        )
    else:
        name, volume, fleet, hours, starts = (
            "dakar-delivery",
            (10, 200),
            (2, 12),
            (0.5, 2),
            [11, 19],
        )
        changes["merchants__count"] = draw(st.integers(1, 8))
        changes["merchants__refuse"] = draw(st.floats(0, 0.5))
    scenario = small_goods(
        name,
        draw(st.integers(*volume)),
        draw(st.integers(*fleet)),
        hours=draw(st.floats(*hours)),
        start_hour=draw(st.sampled_from(starts)),
        **changes,
    )
    return scenario, draw(st.integers(0, 10_000))


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(goods_runs())
def test_every_freight_or_delivery_run_keeps_its_invariants(run: tuple[Any, int]) -> None:
    scenario, seed = run
    simulation, result, events = run_goods(scenario, seed)
    check_goods_run(simulation, result, events)
    k = result.kpis
    pool = scenario.dispatch_config().pool.default
    if pool.on_driver_cancel == "requeue":  # a carrier or rider who withdraws never ends it
        assert k["cancellations"]["driver"] == 0
    else:
        assert k["cancellations"]["driver"] == k["driver_withdrawals"]
