"""Small simulation scenarios for the tests, and the invariants of a freight or delivery run.

The Douala scenario (rides) and the Dakar ones (freight loads, restaurant
deliveries), shrunk and changed; :func:`check_goods_run` asserts what every
run of freight or deliveries keeps, from the service's own records.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from decimal import Decimal
from typing import Any

from vtc_dispatch.events import (
    BidSubmitted,
    DriverAssigned,
    DriverLocated,
    DriverWentOnline,
    DriverWentSilent,
    Event,
    OfferSent,
    OrderCancelled,
    OrderCreated,
    TripCompleted,
)
from vtc_dispatch.geo import haversine_km
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.sim import SimResult, Simulation
from vtc_dispatch.sim.scenario import Scenario, load_scenario

_DOUALA = load_scenario("douala").model_dump(mode="json")
_GOODS = {
    name: load_scenario(name).model_dump(mode="json")
    for name in ("dakar-freight", "dakar-delivery")
}


def douala_data() -> dict[str, Any]:
    """A deep copy of the shipped Douala scenario as plain data."""
    return copy.deepcopy(_DOUALA)


def goods_data(name: str) -> dict[str, Any]:
    """A deep copy of a shipped Dakar scenario (``dakar-freight``, ``dakar-delivery``)."""
    return copy.deepcopy(_GOODS[name])


def _changed(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``changes`` made: dotted paths, e.g. ``drivers__no_answer=1``."""
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return data


def small_scenario(
    requests_per_day: float = 240,
    drivers: int = 12,
    hours: float = 24.0,
    **changes: Any,
) -> Scenario:
    """Douala at a small volume; ``changes`` are dotted paths, e.g. ``drivers__no_answer=1``."""
    data = douala_data()
    data["demand"]["requests_per_day"] = requests_per_day
    data["duration_h"] = hours
    scenario = load_scenario(_changed(data, changes))
    return scenario.scaled(drivers=drivers)


def small_goods(
    name: str,
    requests_per_day: float,
    drivers: int,
    hours: float = 4.0,
    start_hour: int = 11,
    **changes: Any,
) -> Scenario:
    """A shipped Dakar scenario (``dakar-freight``, ``dakar-delivery``) from ``start_hour``
    local for ``hours``, at a small volume; ``changes`` as for :func:`small_scenario`."""
    data = goods_data(name)
    data["demand"]["requests_per_day"] = requests_per_day
    data["duration_h"] = hours
    data["start"] = f"2026-11-23T{start_hour:02d}:00:00+00:00"
    scenario = load_scenario(_changed(data, changes))
    return scenario.scaled(drivers=drivers)


def run_goods(scenario: Scenario, seed: int) -> tuple[Simulation, SimResult, list[Event]]:
    """Run ``scenario`` and keep every domain event the service published."""
    simulation = Simulation(scenario, seed=seed)
    events: list[Event] = []
    simulation.service.subscribe(events.append)
    return simulation, simulation.run(), events


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal(1)))


def check_goods_run(simulation: Simulation, result: SimResult, events: list[Event]) -> list[Order]:
    """Assert the invariants of a finished freight or delivery run; return its orders."""
    k = result.kpis
    freight = k["kind"] == "freight"
    service = simulation.service
    auditor = Actor.operator("auditor")
    orders = [service.get_order(auditor, e.order_id) for e in events if isinstance(e, OrderCreated)]

    # Simulated time never goes backwards, as the service sees it.
    moments = [e.at for e in events]
    assert moments == sorted(moments)

    # Counts: every request ends once; delivered <= assigned <= placed <= requests.
    assert sum(k["outcomes"].values()) == k["requests"]
    placed = k["posted"] if freight else k["placed"]
    assert placed == len(orders)
    assigned = {e.order_id for e in events if isinstance(e, DriverAssigned)}
    delivered = [o for o in orders if o.proof is not None]
    assert (k["assigned"], k["delivered"]) == (len(assigned), len(delivered))
    assert k["delivered"] <= k["assigned"] <= placed <= k["requests"]
    states = Counter(o.state for o in orders)
    if freight:
        # Every delivered load got its receipt before the run ended.
        assert k["outcomes"]["completed"] == states["completed"]
        assert k["outcomes"]["resolved"] == states["resolved"] == k["disputes"]["opened"]
        assert len(delivered) == states["completed"] + states["resolved"]
    else:
        assert k["outcomes"]["delivered"] == states["delivered"] == len(delivered)
    cancelled = Counter(e.cancelled_by for e in events if isinstance(e, OrderCancelled))
    assert {r: n for r, n in k["cancellations"].items() if n} == dict(cancelled)
    assert sum(h["done"] for h in result.hourly) == len(delivered)

    # A driver stopped on his order (loading, waiting for the food) is heard from: no
    # customer is told that his position is stale.
    assert not [e for e in events if isinstance(e, DriverWentSilent) and e.order_id is not None]

    # No driver is left holding an order.
    for driver_id in {e.driver_id for e in events if isinstance(e, DriverWentOnline)}:
        status = service.driver_state(driver_id).status
        assert status is None or status.order_id is None, status

    # Each delivered order went through its kind's steps and proved its delivery.
    radius_km = service.settings.proof_radius_km
    for order in delivered:
        steps = [h.event for h in order.lifecycle.history]
        last = len(steps) - 1 - steps[::-1].index("accept")
        if freight:
            assert steps[:2] == ["post", "search"]
            assert steps[last:] in (
                ["accept", "arrive", "start", "depart", "deliver", "confirm"],
                ["accept", "arrive", "start", "depart", "deliver", "dispute", "resolve"],
            ), steps
        else:
            assert steps[:4] == ["confirm", "prepare", "mark_ready", "search"], steps
            assert steps[last:] == ["accept", "arrive", "start", "depart", "deliver"], steps
        proof = order.proof
        assert proof is not None
        assert haversine_km(proof.position, order.dropoff) <= radius_km
        assert proof.code is not None
        assert proof.code == order.delivery_code
        picked_up = order.lifecycle.time_in("picked_up")
        assert picked_up is not None
        assert picked_up <= proof.at
        assert bool(proof.reference) is freight

    # Money: the agreed price is the carrier's bid; the final fare is the agreed price.
    fares = {e.order_id: e.fare.amount for e in events if isinstance(e, TripCompleted)}
    assert set(fares) == {o.id for o in delivered}
    assert k["revenue"]["fares"] == _money(sum(fares.values(), Decimal(0)))
    # Where orders are bid on, a carrier is assigned only by the bid the customer took.
    invited = {(e.order_id, e.driver_id) for e in events if isinstance(e, OfferSent)}
    bids: dict[tuple[str, str], Decimal] = {}
    taken: dict[str, Decimal] = {}
    for e in events:
        if isinstance(e, BidSubmitted):
            assert (e.order_id, e.driver_id) in invited  # only invited carriers bid
            bids[e.order_id, e.driver_id] = e.amount
        elif isinstance(e, DriverAssigned) and bids:
            taken[e.order_id] = bids[e.order_id, e.driver_id]
    for order in orders:
        assert order.agreed_price == taken.get(order.id)
    for order in delivered:
        assert order.final_fare is not None
        if order.agreed_price is not None:
            assert order.final_fare.amount == order.agreed_price
    if freight:
        assert k["bids"]["submitted"] == sum(1 for e in events if isinstance(e, BidSubmitted))
        assert k["price"]["agreed_total"] == _money(sum(taken.values(), Decimal(0)))
    else:
        carried = sum((o.goods_amount or Decimal(0) for o in delivered), Decimal(0))
        assert k["goods"]["carried"] == _money(carried)

    # The customer saw the driver coming: positions pushed after the pickup, never
    # closer together than the service's interval.
    interval_s = service.settings.location_interval_s
    located: dict[str, list[Event]] = {}
    for e in events:
        if isinstance(e, DriverLocated):
            located.setdefault(e.order_id, []).append(e)
    for order in delivered:
        departed = order.lifecycle.time_in("in_transit" if freight else "on_the_way")
        assert departed is not None
        pushes = located.get(order.id, [])
        assert any(e.at >= departed for e in pushes), order.id
        for a, b in itertools.pairwise(pushes):
            assert (b.at - a.at).total_seconds() >= interval_s
    if not freight:
        assert k["tracking"]["pushed_to_customers"] == sum(
            len(located.get(o.id, [])) for o in delivered
        )
    return orders
