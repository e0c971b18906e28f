"""The pool's decisions as pure functions: no store, no clock, no service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vtc_dispatch.errors import Forbidden, OfferExpired, OfferWithdrawn
from vtc_dispatch.events import NoDriverFound, OfferSent
from vtc_dispatch.events import OfferWithdrawn as OfferWithdrawnEvent
from vtc_dispatch.fsm import RIDE, RideEvent, RideState
from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import Order
from vtc_dispatch.pool import Candidate, DistanceRanker, PoolSettings
from vtc_dispatch.pool import decide as pool
from vtc_dispatch.pricing import Pricer, douala_config

AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
QUOTE = Pricer(douala_config()).quote(AKWA, DEIDO, "taxi_jaune", T0)
NEAREST = DistanceRanker()


def searching(order_id: str = "o-1") -> Order:
    lifecycle = RIDE.start(order_id, T0).fire(RideEvent.SEARCH, actor="customer", at=T0)
    return Order(order_id, "c-1", "taxi_jaune", AKWA, DEIDO, "CASH", QUOTE, lifecycle, T0)


def near(*drivers: str) -> list[Candidate]:
    return [Candidate(d, 0.3 * (i + 1), AKWA) for i, d in enumerate(drivers)]


def test_sequential_offers_the_nearest_reserves_him_and_tells_him() -> None:
    step = pool.offer_next(searching(), near("b", "a")[::-1], PoolSettings(), NEAREST, T0)
    assert step.order.offered_to == "b"  # 0.3 km, whatever order the candidates came in
    assert step.order.offer_expires_at == T0 + timedelta(seconds=30)
    assert [(r.driver_id, r.order_id) for r in step.reserve] == [("b", "o-1")]
    assert [(s.driver_id, s.outcome) for s in step.stats] == [("b", "offered")]
    assert [type(e) for e in step.events] == [OfferSent]
    assert not step.release


def test_nobody_around_ends_the_search_with_no_driver() -> None:
    step = pool.offer_next(searching(), [], PoolSettings(), NEAREST, T0)
    assert step.order.state == RideState.NO_DRIVER
    assert [type(e) for e in step.events] == [NoDriverFound]
    assert not step.reserve


def test_max_offers_and_the_search_timeout_end_the_search() -> None:
    settings = PoolSettings(max_offers=1, search_timeout_s=60)
    step = pool.offer_next(searching(), near("a"), settings, NEAREST, T0)
    dropped = pool.drop_offer(step.order, "a", T0, expired=False)
    assert pool.offer_next(dropped.order, near("b"), settings, NEAREST, T0).order.state == (
        RideState.NO_DRIVER
    )
    late = T0 + timedelta(seconds=60)
    assert pool.offer_next(searching(), near("a"), settings, NEAREST, late).order.state == (
        RideState.NO_DRIVER
    )


def test_an_offer_never_outlives_the_search() -> None:
    settings = PoolSettings(search_timeout_s=40, max_waiting_time_s=30)
    later = T0 + timedelta(seconds=20)
    step = pool.offer_next(searching(), near("a"), settings, NEAREST, later)
    assert step.order.offer_expires_at == T0 + timedelta(seconds=40)


def test_batch_with_stagger_reserves_all_and_shows_them_one_after_another() -> None:
    settings = PoolSettings(mode="batch", batch_size=3, stagger_s=5)
    step = pool.offer_next(searching(), near("a", "b", "c", "d"), settings, NEAREST, T0)
    assert [(o.driver_id, o.shown) for o in step.order.offers] == [
        ("a", True),
        ("b", False),
        ("c", False),
    ]
    assert {r.driver_id for r in step.reserve} == {"a", "b", "c"}
    assert [e.driver_id for e in step.events if isinstance(e, OfferSent)] == ["a"]
    shown = pool.advance(step.order, T0 + timedelta(seconds=5))
    assert [(o.driver_id, o.shown) for o in shown.order.offers] == [
        ("a", True),
        ("b", True),
        ("c", False),
    ]
    assert shown.handled == 1


def test_a_staggered_offer_whose_time_went_by_unseen_is_dropped_and_its_driver_freed() -> None:
    settings = PoolSettings(mode="batch", batch_size=2, stagger_s=5, max_waiting_time_s=10)
    step = pool.offer_next(searching(), near("a", "b"), settings, NEAREST, T0)
    late = pool.advance(step.order, T0 + timedelta(seconds=20))
    assert late.order.offers == ()
    assert {r.driver_id for r in late.release} == {"a", "b"}
    assert late.needs_offer


def test_bidding_invites_bidders_for_the_bidding_window() -> None:
    settings = PoolSettings(mode="bidding", bidders=2, bidding_window_s=90)
    step = pool.offer_next(searching(), near("a", "b", "c"), settings, NEAREST, T0)
    assert [o.driver_id for o in step.order.offers] == ["a", "b"]
    assert step.order.offer_expires_at == T0 + timedelta(seconds=90)


def test_an_answer_is_checked_against_the_live_offer() -> None:
    step = pool.offer_next(searching(), near("a"), PoolSettings(), NEAREST, T0)
    assert pool.check_answer(step.order, "a", T0).driver_id == "a"
    with pytest.raises(Forbidden, match="'z' holds no offer"):
        pool.check_answer(step.order, "z", T0)
    with pytest.raises(OfferExpired, match="expired at"):
        pool.check_answer(step.order, "a", T0 + timedelta(seconds=30))
    assigned = pool.assign(step.order, "a", AKWA, 60.0, T0)
    with pytest.raises(OfferWithdrawn, match="another driver"):
        pool.check_answer(assigned.order, "b", T0)


def test_accepting_withdraws_and_frees_the_other_offers() -> None:
    settings = PoolSettings(mode="batch", batch_size=3)
    step = pool.offer_next(searching(), near("a", "b", "c"), settings, NEAREST, T0)
    won = pool.assign(step.order, "b", AKWA, 60.0, T0)
    assert (won.order.state, won.order.driver_id, won.order.offers) == ("accepted", "b", ())
    assert {r.driver_id for r in won.release} == {"a", "c"}
    withdrawn = {e.driver_id for e in won.events if isinstance(e, OfferWithdrawnEvent)}
    assert withdrawn == {"a", "c"}


# -- the invariant: what an order holds is exactly what its steps reserved and did not free --

_DRIVERS = [f"d{i}" for i in range(8)]

_actions = st.lists(
    st.one_of(
        st.tuples(st.just("offer"), st.lists(st.sampled_from(_DRIVERS), unique=True)),
        st.tuples(st.just("drop"), st.integers(0, 5)),
        st.tuples(st.just("advance"), st.integers(0, 120)),
        st.tuples(st.just("accept"), st.integers(0, 5)),
    ),
    max_size=25,
)


@given(
    actions=_actions,
    mode=st.sampled_from(["sequential", "batch", "bidding"]),
    stagger_s=st.sampled_from([0.0, 5.0]),
)
def test_an_order_holds_exactly_the_drivers_its_steps_reserved_and_did_not_free(
    actions: list[tuple[str, object]], mode: str, stagger_s: float
) -> None:
    settings = PoolSettings.model_validate(
        {"mode": mode, "stagger_s": stagger_s, "batch_size": 3, "bidders": 3}
    )
    order, now, held = searching(), T0, set[str]()
    for kind, arg in actions:
        step: pool.Step | None = None
        if kind == "offer" and order.state == RideState.SEARCHING and not order.offers:
            free = [d for d in arg if d not in held and d not in order.tried]  # type: ignore[attr-defined]
            step = pool.offer_next(order, near(*free), settings, NEAREST, now)
        elif kind == "drop" and order.offers:
            victim = order.offers[int(arg) % len(order.offers)]  # type: ignore[call-overload]
            step = pool.drop_offer(order, victim.driver_id, now, expired=False)
        elif kind == "advance":
            now += timedelta(seconds=int(arg))  # type: ignore[call-overload]
            step = pool.advance(order, now)
        elif kind == "accept" and order.state == RideState.SEARCHING:
            shown = [o for o in order.offers if o.shown and o.expires_at > now]
            if shown:
                chosen = shown[int(arg) % len(shown)]  # type: ignore[call-overload]
                step = pool.assign(order, chosen.driver_id, AKWA, 60.0, now)
        if step is None:
            continue
        reserved = {r.driver_id for r in step.reserve}
        freed = {r.driver_id for r in step.release}
        assert not reserved & held, "a step reserved a driver the order already holds"
        assert freed <= held | reserved, "a step freed a driver the order did not hold"
        held = (held | reserved) - freed
        order = step.order
        expected = {o.driver_id for o in order.offers}
        if order.driver_id is not None:
            expected.add(order.driver_id)
        assert held == expected
