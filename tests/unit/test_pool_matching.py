"""Batched matching as pure code: the assignment, the window's steps, the waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from vtc_dispatch.events import NoDriverFound, OfferSent
from vtc_dispatch.fsm import RIDE, RideEvent, RideState
from vtc_dispatch.geo import LatLng, destination_point, haversine_km
from vtc_dispatch.order import Order
from vtc_dispatch.pool import Candidate, PoolSettings, matching
from vtc_dispatch.pricing import Pricer, douala_config
from vtc_dispatch.routing import StraightLineEstimator

T0 = datetime(2026, 11, 21, 9, 0, 0, 500000, tzinfo=UTC)
BASE = LatLng(4.05, 9.70)
MATCHING = PoolSettings(mode="matching")
ROUTES = StraightLineEstimator()
PRICER = Pricer(douala_config())


def east(km: float) -> LatLng:
    """A point ``km`` east of BASE (west when negative)."""
    return destination_point(BASE, 90.0 if km >= 0 else 270.0, abs(km))


def searching(order_id: str, pickup: LatLng, at: datetime = T0) -> Order:
    lifecycle = RIDE.start(order_id, at).fire(RideEvent.SEARCH, actor="customer", at=at)
    quote = PRICER.quote(pickup, east(4.0), "taxi_jaune", at)
    dropoff = east(4.0)
    return Order(
        order_id, "c-" + order_id, "taxi_jaune", pickup, dropoff, "CASH", quote, lifecycle, at
    )


def around(order: Order, *drivers: tuple[str, LatLng]) -> matching.Waiting:
    found = sorted(
        (Candidate(d, haversine_km(p, order.pickup), p) for d, p in drivers),
        key=lambda c: (c.distance_km, c.driver_id),
    )
    return matching.Waiting(order, tuple(found))


def test_two_customers_get_the_globally_shorter_pair_not_first_come_first_served() -> None:
    # A at 0 km, B at 0.5 km; d1 at 0.3 km is the nearest of both, d2 at -0.5 km.
    a, b = searching("a", east(0.0)), searching("b", east(0.5))
    drivers = (("d1", east(0.3)), ("d2", east(-0.5)))
    steps = matching.match_window(
        [around(a, *drivers), around(b, *drivers)], MATCHING, ROUTES, {}, T0
    )
    assert [s.order.offered_to for s in steps] == ["d2", "d1"]  # 0.5 + 0.2 km, not 0.3 + 1.0
    assert [[r.driver_id for r in s.reserve] for s in steps] == [["d2"], ["d1"]]
    assert [type(e) for s in steps for e in s.events] == [OfferSent, OfferSent]
    assert all(s.order.window_at is None for s in steps)


def test_a_matched_order_gets_one_offer_for_max_waiting_time_counted_as_shown() -> None:
    order = searching("a", east(0.0))
    (step,) = matching.match_window(
        [around(order, ("d1", east(0.4)))], PoolSettings(mode="matching", max_waiting_time_s=25),
        ROUTES, {}, T0,
    )  # fmt: skip
    (offer,) = step.order.offers
    assert (offer.driver_id, offer.sent_at, offer.expires_at) == (
        "d1",
        T0,
        T0 + timedelta(seconds=25),
    )
    assert step.order.offers_made == 1
    assert step.handled == 1
    assert [(s.driver_id, s.outcome) for s in step.stats] == [("d1", "offered")]


def test_an_order_without_candidates_ends_in_no_driver_and_takes_nobody() -> None:
    lonely, other = searching("a", east(0.0)), searching("b", east(0.2))
    steps = matching.match_window(
        [matching.Waiting(lonely, ()), around(other, ("d1", east(0.3)))], MATCHING, ROUTES, {}, T0
    )
    assert steps[0].order.state == RideState.NO_DRIVER
    assert steps[0].order.window_at is None
    assert [type(e) for e in steps[0].events] == [NoDriverFound]
    assert steps[1].order.offered_to == "d1"


def test_an_order_whose_candidates_went_to_others_waits_for_the_next_window() -> None:
    a, b = searching("a", east(0.0)), searching("b", east(0.2))
    steps = matching.match_window(
        [around(a, ("d1", east(0.05))), around(b, ("d1", east(0.05)))], MATCHING, ROUTES, {}, T0
    )
    assert [s.order.offered_to for s in steps] == ["d1", None]
    waiting = steps[1].order
    assert waiting.state == RideState.SEARCHING
    assert waiting.window_at == matching.next_window(T0, MATCHING) == T0 + timedelta(seconds=2.5)
    assert waiting.next_deadline == waiting.window_at
    assert not steps[1].reserve
    assert not steps[1].events


def test_the_most_orders_get_a_driver_before_the_cheapest_total() -> None:
    # b alone could take d1 for less, but then a would get nobody.
    assert matching.assign_min_cost([[("d1", 100.0)], [("d1", 10.0), ("d2", 1000.0)]]) == [
        "d1",
        "d2",
    ]


def test_unreliable_drivers_cost_the_answer_time_they_are_likely_to_waste() -> None:
    order = searching("a", east(0.0))
    near, far = ("flaky", east(0.30)), ("steady", east(0.35))
    waiting = [around(order, near, far)]
    settings = PoolSettings(mode="matching", max_waiting_time_s=60)
    (trusting,) = matching.match_window(waiting, settings, ROUTES, {}, T0)
    assert trusting.order.offered_to == "flaky"
    rates = {"flaky": 0.2, "steady": 1.0}
    (wary,) = matching.match_window(waiting, settings, ROUTES, rates, T0)
    assert wary.order.offered_to == "steady"


def test_a_search_over_by_time_or_by_offers_ends_in_no_driver_at_its_window() -> None:
    settings = PoolSettings(mode="matching", search_timeout_s=60, max_offers=2)
    order = searching("a", east(0.0))
    late = T0 + timedelta(seconds=60)
    (timed_out,) = matching.match_window(
        [around(order, ("d1", east(0.1)))], settings, ROUTES, {}, late
    )
    used_up = attrs.evolve(order, offers_made=2)
    (spent,) = matching.match_window([around(used_up, ("d1", east(0.1)))], settings, ROUTES, {}, T0)
    for step in (timed_out, spent):
        assert step.order.state == RideState.NO_DRIVER
        assert not step.reserve


def test_windows_fall_on_multiples_of_window_s_and_never_after_the_search() -> None:
    settings = PoolSettings(mode="matching", window_s=3, search_timeout_s=10)
    assert matching.next_window(T0, settings) == T0 + timedelta(seconds=2.5)
    on_a_boundary = datetime(2026, 11, 21, 9, 0, 3, tzinfo=UTC)
    assert matching.next_window(on_a_boundary, settings) == on_a_boundary + timedelta(seconds=3)
    order = searching("a", east(0.0))
    near_the_end = T0 + timedelta(seconds=9)
    waiting = matching.wait(order, settings, near_the_end).order
    assert waiting.window_at == T0 + timedelta(seconds=10)  # its search ends before 09:00:12
    over = matching.wait(order, settings, T0 + timedelta(seconds=10))
    assert over.order.state == RideState.NO_DRIVER
    assert over.order.window_at is None


def test_a_window_longer_than_the_search_is_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        PoolSettings(mode="matching", window_s=30, search_timeout_s=20)


def test_the_pure_python_solver_is_used_without_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "_scipy_solver", lambda: None)
    assert matching.solver_name() == "hungarian"
    options = [[("d1", 0.3), ("d2", 0.5)], [("d1", 0.2), ("d2", 1.0)], [("d3", 1.0)]]
    assert matching.assign_min_cost(options) == ["d2", "d1", "d3"]
