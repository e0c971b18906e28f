"""Batched matching's invariants on random windows: one driver per order, within the radius,
the best assignment, the nearest driver for an order alone."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vtc_dispatch.fsm import RIDE, RideEvent
from vtc_dispatch.geo import DriverIndex, LatLng
from vtc_dispatch.order import Order
from vtc_dispatch.pool import Candidate, PoolSettings, matching
from vtc_dispatch.pool.decide import first_step
from vtc_dispatch.pricing import Pricer, douala_config
from vtc_dispatch.routing import StraightLineEstimator

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PRICER = Pricer(douala_config())
DROPOFF = LatLng(4.07, 9.73)
ROUTES = StraightLineEstimator()

ids = st.sampled_from([f"d{i}" for i in range(6)])
row = st.dictionaries(ids, st.floats(0, 1000), max_size=5).map(lambda d: sorted(d.items()))
options = st.lists(row, max_size=4)
point = st.builds(LatLng, st.floats(4.02, 4.08), st.floats(9.68, 9.74))


def best(rows: Sequence[Sequence[tuple[str, float]]]) -> tuple[int, float]:
    """Most rows matched, then least total cost, by trying every assignment."""
    found = (0, 0.0)
    for choice in itertools.product(*[[None, *row] for row in rows]):
        taken = [pair for pair in choice if pair is not None]
        if len({d for d, _ in taken}) == len(taken):
            score = (len(taken), sum(c for _, c in taken))
            if (score[0], -score[1]) > (found[0], -found[1]):
                found = score
    return found


@given(options)
def test_the_assignment_is_the_best_and_takes_no_driver_twice(
    rows: list[list[tuple[str, float]]],
) -> None:
    chosen = matching.assign_min_cost(rows)
    taken = [d for d in chosen if d is not None]
    assert len(set(taken)) == len(taken)
    for row_options, driver in zip(rows, chosen, strict=True):
        assert driver is None or driver in dict(row_options)
    cost = sum(dict(r)[d] for r, d in zip(rows, chosen, strict=True) if d is not None)
    count, least = best(rows)
    assert len(taken) == count
    assert cost == pytest.approx(least, abs=1e-6)


matrix = st.integers(1, 7).flatmap(
    lambda n: st.integers(1, 7).flatmap(
        lambda m: st.lists(
            st.lists(st.floats(0, 1e4), min_size=m, max_size=m), min_size=n, max_size=n
        )
    )
)


@given(matrix)
def test_the_pure_python_solver_finds_scipy_s_optimum(costs: list[list[float]]) -> None:
    scipy_solver = matching._scipy_solver()
    assert scipy_solver is not None, "scipy is in the dev extra"
    ours, theirs = matching._hungarian(costs), scipy_solver(costs)
    assert len(ours) == len(theirs) == min(len(costs), len(costs[0]))
    assert len({c for _, c in ours}) == len({r for r, _ in ours}) == len(ours)

    def total(pairs: list[tuple[int, int]]) -> float:
        return sum(costs[r][c] for r, c in pairs)

    assert math.isclose(total(ours), total(theirs), rel_tol=1e-9, abs_tol=1e-6)


def searching(order_id: str, pickup: LatLng) -> Order:
    lifecycle = RIDE.start(order_id, T0).fire(RideEvent.SEARCH, actor="customer", at=T0)
    quote = PRICER.quote(pickup, DROPOFF, "taxi_jaune", T0)
    return Order(order_id, f"c{order_id}", "taxi_jaune", pickup, DROPOFF, "CASH", quote,
                 lifecycle, T0)  # fmt: skip


def window(
    pickups: list[LatLng], drivers: list[LatLng], settings: PoolSettings
) -> tuple[list[matching.Waiting], dict[str, LatLng]]:
    """Each order and its candidates as the service reads them (an index of the drivers)."""
    index = DriverIndex()
    where = {f"d{i}": p for i, p in enumerate(drivers)}
    for driver_id, position in where.items():
        index.upsert(driver_id, position, "taxi_jaune")
    radii = settings.radii()
    waiting = []
    for i, pickup in enumerate(pickups):
        found = index.nearest(pickup, k=settings.match_candidates, max_km=radii[-1])
        candidates = tuple(Candidate(d, km, where[d]) for d, km in first_step(found, radii))
        waiting.append(matching.Waiting(searching(f"o{i}", pickup), candidates))
    return waiting, where


SETTINGS = st.builds(
    PoolSettings,
    mode=st.just("matching"),
    radius_min_km=st.floats(0.5, 3),
    radius_max_km=st.floats(3, 6),
    radius_step_km=st.floats(0.5, 2),
    match_candidates=st.integers(1, 6),
)


@given(
    st.lists(point, min_size=1, max_size=8),
    st.lists(point, max_size=10),
    SETTINGS,
    st.dictionaries(ids, st.one_of(st.none(), st.floats(0, 1))),
)
def test_no_driver_twice_and_every_match_within_the_order_s_radius(
    pickups: list[LatLng],
    drivers: list[LatLng],
    settings: PoolSettings,
    acceptance: dict[str, float | None],
) -> None:
    waiting, _ = window(pickups, drivers, settings)
    steps = matching.match_window(waiting, settings, ROUTES, acceptance, T0)
    offered = [s.order.offered_to for s in steps if s.order.offered_to is not None]
    assert len(offered) == len(set(offered))
    radii = settings.radii()
    for item, step in zip(waiting, steps, strict=True):
        assert len(step.order.offers) <= 1
        if step.order.offered_to is None:
            continue
        (offer,) = step.order.offers
        assert offer.distance_km <= radii[-1]
        # Within the first radius step that held any driver, as in sequential mode.
        nearest = item.candidates[0].distance_km
        assert offer.distance_km <= next(r for r in radii if nearest <= r)
    # Every order with candidates is matched, or all of them went to other orders.
    for item, step in zip(waiting, steps, strict=True):
        if item.candidates and step.order.offered_to is None:
            assert {c.driver_id for c in item.candidates} <= set(offered)


@given(point, st.lists(point, min_size=1, max_size=10), SETTINGS)
def test_an_order_alone_in_its_window_gets_the_nearest_driver(
    pickup: LatLng, drivers: list[LatLng], settings: PoolSettings
) -> None:
    waiting, _ = window([pickup], drivers, settings)
    (step,) = matching.match_window(waiting, settings, ROUTES, {}, T0)
    candidates = waiting[0].candidates
    if not candidates:
        assert step.order.state == "no_driver"
        return
    nearest = min(candidates, key=lambda c: (c.distance_km, c.driver_id))
    assert step.order.offered_to == nearest.driver_id
