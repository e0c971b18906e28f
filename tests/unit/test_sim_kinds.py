"""Freight loads and restaurant deliveries through the simulation (the shipped Dakar scenarios).

Each run is small (a morning of loads, a lunch of deliveries) and checked
from the service's own records by :func:`sim_scenarios.check_goods_run`:
counts, outcomes against the orders' states, the kind's steps, proofs near
the destination with the receiver's code, agreed prices equal to the bids
taken, final fares equal to the agreed prices, positions pushed to the
customer on the way.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from sim_scenarios import check_goods_run, run_goods, small_goods

from vtc_dispatch.events import (
    BidSubmitted,
    DriverAssigned,
    OfferExpired,
    OfferRejected,
    OfferWithdrawn,
)
from vtc_dispatch.sim import Simulation, format_kpis, replay, simulate


def test_a_freight_morning_runs_through_the_service_and_keeps_its_invariants() -> None:
    scenario = small_goods(
        "dakar-freight", 60, 20, hours=6, start_hour=7, receipt__dispute=0.25,
        bidding__rating_weight=0.0,
    )  # fmt: skip
    simulation, result, events = run_goods(scenario, seed=3)
    check_goods_run(simulation, result, events)
    k = result.kpis
    assert (k["kind"], k["revenue"]["currency"]) == ("freight", "XOF")
    # The run went through every branch: receipts confirmed and disputed, several bids a load.
    assert k["outcomes"]["completed"] > 0
    assert k["outcomes"]["resolved"] > 0
    assert k["bids"]["declined"] > 0
    # Without a rating weight the shipper takes the cheapest bid he can still take.
    live: dict[str, dict[str, Decimal]] = {}
    valid_until = {}
    taken = choices = 0
    for e in events:
        if isinstance(e, BidSubmitted):
            live.setdefault(e.order_id, {})[e.driver_id] = e.amount
            valid_until[e.order_id, e.driver_id] = e.valid_until
        elif isinstance(e, OfferExpired | OfferRejected) or (
            isinstance(e, OfferWithdrawn) and e.reason != "taken"  # "taken": by the one chosen
        ):
            live.get(e.order_id, {}).pop(e.driver_id, None)
        elif isinstance(e, DriverAssigned):
            bids = {
                d: amount
                for d, amount in live.pop(e.order_id).items()
                if (until := valid_until[e.order_id, d]) is None or e.at < until
            }
            assert bids[e.driver_id] == min(bids.values())
            taken += 1
            choices += len(bids) > 1
    assert taken >= k["assigned"]  # a load whose carrier withdrew is assigned again
    assert choices > 0  # some shippers chose among several bids


def test_a_delivery_lunch_runs_through_the_service_and_keeps_its_invariants() -> None:
    scenario = small_goods("dakar-delivery", 150, 8, hours=3, merchants__refuse=0.1)
    simulation, result, events = run_goods(scenario, seed=3)
    check_goods_run(simulation, result, events)
    k = result.kpis
    assert (k["kind"], k["revenue"]["currency"]) == ("delivery", "XOF")
    assert k["outcomes"]["delivered"] > 0
    assert k["cancellations"]["merchant"] >= k["merchants"]["refused"] > 0
    # Riders report every 5 s on the way; the service (interval 4 s) pushes each position.
    assert 4.0 <= k["tracking"]["seconds_between_pushes"] <= 5.0
    assert k["tracking"]["positions"] >= k["tracking"]["pushed_to_customers"]
    merchants = scenario.merchants
    assert merchants is not None
    # Prep as the service saw it (preparing -> ready) is the kitchen's, less the early mark.
    prep = k["merchants"]["prep_s"]
    low = max(0.0, merchants.prep_s.low - merchants.ready_early_s.high)
    assert low <= prep["p50"] <= prep["p90"] <= merchants.prep_s.high
    # A rider at the restaurant waits at least for the hand-over, and the food for him.
    assert k["rider_wait_at_restaurant_s"]["p50"] >= scenario.customers.boarding_s.low
    assert k["food_wait_s"]["p50"] >= 0
    assert k["delivery_time_s"]["p50"] > prep["p50"]
    assert k["delivery_time_s"]["p50"] <= k["delivery_time_s"]["p90"]


SMALL_RUNS = {
    "freight": ("dakar-freight", 40, 8, 4.0, 7),
    "delivery": ("dakar-delivery", 100, 5, 2.0, 11),
}


@pytest.mark.parametrize("kind", sorted(SMALL_RUNS))
def test_the_same_seed_gives_the_same_run_and_its_log_replays(kind: str) -> None:
    name, requests_per_day, drivers, hours, start_hour = SMALL_RUNS[kind]
    scenario = small_goods(name, requests_per_day, drivers, hours, start_hour)
    log = io.StringIO()
    first = Simulation(scenario, seed=5, event_log=log).run()
    again = simulate(scenario, seed=5)
    assert (again.kpis, again.hourly) == (first.kpis, first.hourly)
    assert first.kpis["kind"] == kind
    assert simulate(scenario, seed=6).kpis != first.kpis
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    kinds = {r["k"] for r in records}
    assert "plan" in kinds  # every order's plan is a recorded decision
    if kind == "freight":
        assert "bid" in kinds
    else:
        assert all(r["merchant"].startswith("m") for r in records if r["k"] == "request")
    assert replay(io.StringIO(log.getvalue())).kpis == first.kpis


def test_the_kpi_table_has_each_kinds_rows() -> None:
    freight = simulate(small_goods("dakar-freight", 30, 6, hours=3, start_hour=7), seed=1)
    delivery = simulate(small_goods("dakar-delivery", 60, 4, hours=2), seed=1)
    table = format_kpis([freight, delivery]).splitlines()
    rows = {line.split("  ")[0]: line.split() for line in table[1:]}
    k = freight.kpis
    assert rows["requests"][-2:] == [str(k["requests"]), str(delivery.kpis["requests"])]
    posted = rows["loads posted/assigned/delivered"]
    assert posted[-2:] == [f"{k['posted']}/{k['assigned']}/{k['delivered']}", "-"]
    assert rows["delivered"][-3:] == ["-", f"{delivery.kpis['delivered_pct']:.1f}", "%"]
