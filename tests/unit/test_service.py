"""The ride through DispatchService: every rule of seed 000 on the in-memory defaults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.config import DispatchConfig
from vtc_dispatch.errors import (
    AlreadyDone,
    ConcurrencyConflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    OfferExpired,
    PaymentRefused,
    StorageUnavailable,
)
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryWallet,
    ManualClock,
    RecordingNotifier,
)
from vtc_dispatch.order import Actor, Order, PaymentStatus
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, InvalidRating, ServiceSettings

AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


class Ride:
    """A service with a manual clock, a recording notifier and a wallet."""

    def __init__(self, **settings: object) -> None:
        self.clock = ManualClock(T0)
        self.notifier = RecordingNotifier()
        self.wallet = InMemoryWallet()
        config = DispatchConfig(
            pricing=douala_config(),
            service=ServiceSettings(**settings),  # type: ignore[arg-type]
        )
        self.phones: set[str] = set()
        self.service = build_service(
            config, {"wallet": self.wallet}, clock=self.clock, notifier=self.notifier
        )

    def online(
        self, driver: str, km_from_akwa: float, bearing: float = 0.0, vt: str = "taxi_jaune"
    ) -> None:
        self.service.driver_online(driver, vt, destination_point(AKWA, bearing, km_from_akwa))
        self.phones.add(driver)

    def types(self, role: str, party: str) -> list[str]:
        return [m.type for m in self.notifier.messages_for(role, party)]  # type: ignore[attr-defined]

    def later(self, seconds: float) -> None:
        """Time passes; the drivers' phones keep reporting (a ping every 20 s)."""
        while seconds > 0:
            step = min(seconds, 20.0)
            self.clock.advance(timedelta(seconds=step))
            seconds -= step
            for driver in sorted(self.phones):
                self.service.ping(driver)

    def drive(self, driver: str, to: LatLng, steps: int = 5, step_s: float = 10.0) -> None:
        start = self.service.drivers.get(driver).position
        km = haversine_km(start, to)
        bearing = initial_bearing_deg(start, to)
        for i in range(1, steps + 1):
            self.later(step_s)
            self.service.update_position(driver, destination_point(start, bearing, km * i / steps))


@pytest.fixture
def ride() -> Ride:
    return Ride()


def test_search_lists_types_with_drivers_counts_nearest_and_prices(ride: Ride) -> None:
    ride.online("t1", 0.5)
    ride.online("t2", 1.5)
    ride.online("c1", 2.0, vt="confort")
    ride.online("far", 9.0)
    lines = {line.vehicle_type: line for line in ride.service.search(AKWA, DEIDO)}
    assert set(lines) == {"taxi_jaune", "confort"}
    assert lines["taxi_jaune"].count == 2
    assert lines["taxi_jaune"].nearest_km == pytest.approx(0.5, abs=1e-6)
    assert lines["taxi_jaune"].eta_s == pytest.approx(0.5 / 22 * 3600, rel=1e-6)
    assert lines["confort"].quote.vehicle_type == "confort"
    assert lines["taxi_jaune"].label == "Taxi Jaune"
    ride.service.driver_offline("c1")
    assert {line.vehicle_type for line in ride.service.search(AKWA, DEIDO)} == {"taxi_jaune"}


class _ReversedCounts(InMemoryDriverRegistry):
    """A registry that counts types in another order than the configuration (as a Redis set)."""

    def count_available(
        self,
        point: LatLng,
        max_km: float,
        *,
        cap: int | None = None,
        seen_since: datetime | None = None,
    ) -> dict[str, int]:
        counted = super().count_available(point, max_km, cap=cap, seen_since=seen_since)
        return dict(reversed(counted.items()))


def test_search_lines_come_in_the_configured_vehicle_type_order() -> None:
    service = DispatchService(
        pricing=douala_config(), clock=ManualClock(T0), drivers=_ReversedCounts()
    )
    for driver, vt in [("t1", "taxi_jaune"), ("c1", "confort")]:
        service.driver_online(driver, vt, destination_point(AKWA, 0.0, 0.5))
    configured = [vt for vt in douala_config().vehicle_types if vt in ("taxi_jaune", "confort")]
    assert [line.vehicle_type for line in service.search(AKWA, DEIDO)] == configured


@pytest.mark.parametrize(
    ("cap", "count", "capped"), [(3, 3, True), (4, 4, False), (None, 4, False)]
)
def test_search_counts_stop_at_the_cap_and_say_there_are_more(
    cap: int | None, count: int, capped: bool
) -> None:
    ride = Ride(search_count_cap=cap)
    for i in range(4):
        ride.online(f"t{i}", 0.5 + i * 0.3, bearing=90.0 * i)
    ride.online("c1", 1.0, vt="confort")
    lines = {line.vehicle_type: line for line in ride.service.search(AKWA, DEIDO)}
    assert (lines["taxi_jaune"].count, lines["taxi_jaune"].count_capped) == (count, capped)
    assert (lines["confort"].count, lines["confort"].count_capped) == (1, False)


def test_offers_go_nearest_first_and_pass_on_refusal_and_timeout(ride: Ride) -> None:
    ride.online("near", 0.3)
    ride.online("mid", 0.8)
    ride.online("far", 2.0)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert (order.state, order.offered_to) == (RideState.SEARCHING, "near")
    assert ride.types("driver", "near") == ["offer"]
    order = ride.service.reject("near", order.id)
    assert order.offered_to == "mid"
    ride.later(30)
    assert ride.service.expire_due() == 1
    assert ride.service.expire_due() == 0  # idempotent
    order = ride.service.orders.get(order.id)
    assert order.offered_to == "far"
    assert order.tried == {"near", "mid"}
    with pytest.raises(OfferExpired, match="is over"):
        ride.service.accept("mid", order.id)
    with pytest.raises(Forbidden, match="holds no offer"):
        ride.service.accept("stranger", order.id)
    ride.later(29)
    accepted = ride.service.accept("far", order.id)
    assert (accepted.state, accepted.driver_id) == (RideState.ACCEPTED, "far")
    assert ride.types("customer", "cust") == ["driver_assigned"]
    # The drivers who passed are free again; the assigned one is not.
    assert ride.service.drivers.get("near").available
    assert not ride.service.drivers.get("far").available


def test_accept_after_the_deadline_is_refused(ride: Ride) -> None:
    ride.online("d", 0.3)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.later(30)
    with pytest.raises(OfferExpired, match="expired at"):
        ride.service.accept("d", order.id)


def test_no_driver_then_search_again(ride: Ride) -> None:
    ride.online("d", 0.3)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    order = ride.service.reject("d", order.id)
    assert order.state == RideState.NO_DRIVER
    assert ride.types("customer", "cust")[-1] == "no_driver_found"
    ride.online("new", 1.0)
    again = ride.service.search_again("cust", order.id)
    assert (again.state, again.offered_to) == (RideState.SEARCHING, "new")


def test_a_reserved_driver_gets_no_other_offer(ride: Ride) -> None:
    ride.online("only", 0.3)
    first = ride.service.create_order("a", AKWA, DEIDO, "taxi_jaune", "CASH")
    second = ride.service.create_order("b", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert first.offered_to == "only"
    assert second.state == RideState.NO_DRIVER


def test_full_ride_with_track_final_fare_wallet_and_ratings(ride: Ride) -> None:
    ride.wallet.credit("cust", Decimal(5000), "XAF")
    ride.online("d", 1.0, bearing=200)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "WALLET")
    held = order.quote.estimate
    assert order.payment_status == PaymentStatus.HELD
    assert ride.wallet.balance("cust", "XAF") == 5000 - held
    ride.service.accept("d", order.id)
    with pytest.raises(InvalidTransition, match=r"m from the pickup"):
        ride.service.arrived("d", order.id)
    ride.drive("d", AKWA)
    assert "driver_arriving" in ride.types("customer", "cust")
    ride.service.arrived("d", order.id)
    ride.later(120)
    ride.service.start_trip("d", order.id)
    ride.drive("d", DEIDO, steps=12, step_s=30)
    done = ride.service.complete_trip("d", order.id)
    assert done.state == RideState.DONE
    assert done.final_fare is not None
    assert done.final_fare.amount == done.quote.estimate  # trip as planned
    assert done.trip.distance_km == pytest.approx(haversine_km(AKWA, DEIDO), rel=1e-6)
    assert done.payment_status == PaymentStatus.PAID
    assert ride.wallet.balance("cust", "XAF") == 5000 - done.final_fare.amount
    assert ride.types("customer", "cust")[-2:] == ["trip_started", "trip_completed"] or (
        ride.types("customer", "cust")[-1] == "trip_completed"
    )
    assert ride.service.drivers.get("d").available
    assert [c.reason for c in done.price_history][:1] == ["quoted"]
    ride.service.rate(Actor.customer("cust"), order.id, 5, "merci")
    rated = ride.service.rate(Actor.driver("d"), order.id, 4)
    assert len(rated.ratings) == 2
    assert ride.service.drivers.get("d").rating == 5.0
    assert ride.service.customer_rating("cust") == 4.0
    with pytest.raises(AlreadyDone, match="already rated"):
        ride.service.rate(Actor.customer("cust"), order.id, 3)


def test_location_updates_are_throttled_and_jumps_ignored(ride: Ride) -> None:
    ride.online("d", 2.0)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.accept("d", order.id)
    start = ride.service.drivers.get("d").position
    for _ in range(4):
        ride.later(2)
        ride.service.update_position("d", start)
    assert ride.types("customer", "cust").count("driver_location") == 2  # every 5 s at most
    ride.later(1)
    ride.service.update_position("d", destination_point(start, 90, 50.0))  # 50 km in 1 s
    assert ride.service.drivers.get("d").position == start
    progress = ride.service.ride_progress(Actor.customer("cust"), order.id)
    assert progress.approach.points[-1].flag == "jump"
    assert ride.service.orders.get(order.id).approach.points == ()  # the order is not rewritten


def test_route_change_makes_the_final_fare_follow_the_trip(ride: Ride) -> None:
    ride.online("d", 0.05)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.accept("d", order.id)
    ride.service.arrived("d", order.id)
    ride.service.start_trip("d", order.id)
    detour = destination_point(AKWA, 180, 3.0)  # south, away from Deido
    ride.drive("d", detour, steps=6, step_s=60)
    ride.drive("d", DEIDO, steps=10, step_s=60)
    done = ride.service.complete_trip("d", order.id)
    assert done.route_changed
    assert done.final_fare is not None
    assert done.final_fare.reason.startswith("recomputed")
    assert done.final_fare.amount > done.quote.estimate
    assert done.payment_status == PaymentStatus.PENDING


def test_cancellations_by_role_and_state(ride: Ride) -> None:
    ride.wallet.credit("cust", Decimal(5000), "XAF")
    ride.online("d", 0.3)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "WALLET")
    cancelled = ride.service.cancel(Actor.customer("cust"), order.id, "changed my mind")
    assert cancelled.state == RideState.CANCELLED
    assert cancelled.payment_status == PaymentStatus.RELEASED
    assert ride.wallet.balance("cust", "XAF") == 5000
    assert ride.types("driver", "d") == ["offer", "offer_withdrawn"]
    assert ride.service.drivers.get("d").available
    # After the free minutes, the customer pays the fee from the hold.
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "WALLET")
    ride.service.accept("d", order.id)
    ride.later(5 * 60)
    late = ride.service.cancel(Actor.customer("cust"), order.id, "too long")
    assert late.cancellation is not None
    assert late.cancellation.fee == 300
    assert ride.wallet.balance("cust", "XAF") == 5000 - 300
    assert ride.types("driver", "d")[-1] == "order_cancelled"
    # In progress, only an operator may cancel.
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.accept("d", order.id)
    ride.drive("d", AKWA, steps=1)
    ride.service.arrived("d", order.id)
    ride.service.start_trip("d", order.id)
    with pytest.raises(Forbidden):
        ride.service.cancel(Actor.customer("cust"), order.id, "stop here")
    assert ride.service.orders.get(order.id).state == RideState.IN_PROGRESS
    stopped = ride.service.cancel(Actor.operator("ops"), order.id, "accident")
    assert stopped.state == RideState.CANCELLED


def test_payment_methods_and_wallet_balance(ride: Ride) -> None:
    ride.online("d", 0.3)
    with pytest.raises(PaymentRefused, match=r"'BITCOIN' is not enabled here \(enabled: CASH, OM"):
        ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "BITCOIN")
    with pytest.raises(PaymentRefused, match="holds 0 XAF"):
        ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "WALLET")
    assert ride.service.orders.find("customer", "cust") == []  # nothing half-written
    assert ride.service.drivers.get("d").available
    limited = Ride(payment_methods={"CM": ("CASH",)})
    assert limited.service.payment_methods(AKWA) == ("CASH",)


def test_one_active_order_per_customer_and_history(ride: Ride) -> None:
    ride.online("d", 0.3)
    first = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    with pytest.raises(Forbidden, match="already has an active order"):
        ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.cancel(Actor.customer("cust"), first.id, "wrong address")
    second = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert ride.service.current_order(Actor.customer("cust")) == ride.service.orders.get(second.id)
    assert [o.id for o in ride.service.history(Actor.customer("cust"))] == [second.id, first.id]
    assert [o.id for o in ride.service.history(Actor.customer("cust"), page=2, page_size=1)] == [
        first.id
    ]


def test_low_rated_driver_gets_no_more_offers() -> None:
    ride = Ride(rating_min_count=2)
    ride.online("bad", 0.05)
    for i in range(2):
        order = ride.service.create_order(f"c{i}", AKWA, DEIDO, "taxi_jaune", "CASH")
        ride.service.accept("bad", order.id)
        ride.service.arrived("bad", order.id)
        ride.service.start_trip("bad", order.id)
        ride.service.complete_trip("bad", order.id)
        ride.service.rate(Actor.customer(f"c{i}"), order.id, 1)
    assert ride.service.drivers.get("bad").blocked
    order = ride.service.create_order("c9", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.state == RideState.NO_DRIVER


def test_bad_input_is_refused_naming_it(ride: Ride) -> None:
    ride.online("d", 0.3)
    with pytest.raises(NotFound, match="unknown vehicle type 'bus'"):
        ride.service.driver_online("x", "bus", AKWA)
    with pytest.raises(NotFound, match="no order 'nope'"):
        ride.service.accept("d", "nope")
    with pytest.raises(NotFound, match="no driver 'ghost'"):
        ride.service.update_position("ghost", AKWA)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.accept("d", order.id)
    for stars in (0, 6, 4.5, True):
        with pytest.raises(InvalidRating, match="stars must be an integer from 1 to 5"):
            ride.service.rate(Actor.customer("cust"), order.id, stars)  # type: ignore[arg-type]
    with pytest.raises(InvalidTransition, match="only a done ride is rated"):
        ride.service.rate(Actor.customer("cust"), order.id, 5)
    with pytest.raises(Forbidden, match="complete or cancel it before going offline"):
        ride.service.driver_offline("d")


def test_driver_going_offline_with_an_offer_passes_it(ride: Ride) -> None:
    ride.online("a", 0.3)
    ride.online("b", 0.6)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.driver_offline("a")
    assert ride.service.orders.get(order.id).offered_to == "b"
    assert not ride.service.drivers.get("a").online


def test_listeners_get_every_domain_event_after_it_is_saved(ride: Ride) -> None:
    seen: list[str] = []

    def listener(event: object) -> None:
        if hasattr(event, "order_id") and event.order_id:
            # The state the event reports is already stored.
            assert ride.service.orders.get(event.order_id) is not None
        seen.append(type(event).__name__)

    ride.service.subscribe(listener)
    ride.online("d", 0.3)
    ride.service.update_position("d", AKWA)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.accept("d", order.id)
    assert seen == [
        "DriverWentOnline",
        "DriverMoved",
        "OrderCreated",
        "PriceChanged",
        "SearchStarted",
        "OfferSent",
        "DriverAssigned",
    ]


def test_radius_grows_by_steps_and_offers_are_reranked_at_each_pass() -> None:
    ride = Ride()
    ride.online("far", 7.5)  # beyond the first radii (3, 4, ... km)
    ride.online("near", 2.0)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "near"
    ride.online("newcomer", 0.2)  # comes online while "near" holds the offer
    order = ride.service.reject("near", order.id)
    assert order.offered_to == "newcomer"
    order = ride.service.reject("newcomer", order.id)
    assert order.offered_to == "far"  # found only once the radius reached 8 km
    order = ride.service.reject("far", order.id)
    assert order.state == RideState.NO_DRIVER


def test_search_stops_after_max_offers_and_at_the_total_timeout() -> None:
    from vtc_dispatch.pool import PoolConfig

    ride = Ride()
    ride.service.pool = PoolConfig.model_validate(
        {"default": {"max_offers": 2, "search_timeout_s": 45, "max_waiting_time_s": 30}}
    )
    for i in range(4):
        ride.online(f"d{i}", 0.2 * (i + 1))
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    order = ride.service.reject("d0", order.id)
    assert order.offered_to == "d1"
    assert order.offer_expires_at == T0 + timedelta(seconds=30)
    order = ride.service.reject("d1", order.id)
    assert order.state == RideState.NO_DRIVER  # two offers made: the limit
    ride.service.search_again("cust", order.id)
    again = ride.service.orders.get(order.id)
    assert again.offered_to == "d2"
    ride.later(30)
    ride.service.expire_due()
    again = ride.service.orders.get(order.id)
    # The next offer is cut short by the search's total timeout (45 s after it restarted).
    assert again.offered_to == "d3"
    assert again.offer_expires_at == T0 + timedelta(seconds=45)
    ride.later(15)
    ride.service.expire_due()
    assert ride.service.orders.get(order.id).state == RideState.NO_DRIVER


def test_a_driver_who_accepted_then_cancels_is_replaced_or_the_order_cancelled() -> None:
    from vtc_dispatch.pool import PoolConfig

    ride = Ride()
    ride.online("a", 0.2)
    ride.online("b", 0.4)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.accept("a", order.id)
    order = ride.service.cancel(Actor.driver("a"), order.id, "flat tyre")
    assert (order.state, order.offered_to) == (RideState.SEARCHING, "b")
    assert order.tried == frozenset({"a"})
    assert "driver_withdrew" in ride.types("customer", "cust")
    assert ride.service.stats.get("a").cancelled_after_accept == 1
    assert ride.service.drivers.get("a").available
    ride.service.pool = PoolConfig.model_validate({"default": {"on_driver_cancel": "cancel"}})
    ride.service.accept("b", order.id)
    order = ride.service.cancel(Actor.driver("b"), order.id, "no fuel")
    assert order.state == RideState.CANCELLED


def test_the_pool_keeps_each_drivers_statistics() -> None:
    ride = Ride()
    ride.online("d", 0.2)
    for i in range(3):
        order = ride.service.create_order(f"c{i}", AKWA, DEIDO, "taxi_jaune", "CASH")
        if i == 0:
            ride.service.reject("d", order.id)
        elif i == 1:
            ride.later(30)
            ride.service.expire_due()
        else:
            ride.service.accept("d", order.id)
    stats = ride.service.stats.get("d")
    assert (stats.offered, stats.refused, stats.expired, stats.accepted) == (3, 1, 1, 1)
    assert stats.acceptance_rate(ride.clock.now()) == pytest.approx(1 / 3)


def batch_ride(**pool: object) -> Ride:
    from vtc_dispatch.pool import PoolConfig

    ride = Ride()
    ride.service.pool = PoolConfig.model_validate({"default": {"mode": "batch", **pool}})
    for i, km in enumerate([0.2, 0.4, 0.6, 0.8]):
        ride.online(f"d{i}", km)
    return ride


def test_batch_first_accept_wins_and_the_others_are_withdrawn() -> None:
    from vtc_dispatch.errors import OfferWithdrawn

    ride = batch_ride(batch_size=3)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert [o.driver_id for o in order.offers] == ["d0", "d1", "d2"]
    assert all(ride.types("driver", d) == ["offer"] for d in ("d0", "d1", "d2"))
    ride.service.accept("d1", order.id)
    with pytest.raises(OfferWithdrawn, match="went to another driver"):
        ride.service.accept("d0", order.id)
    assert ride.types("driver", "d0") == ["offer", "offer_withdrawn"]
    assert ride.types("driver", "d2") == ["offer", "offer_withdrawn"]
    assert ride.service.drivers.get("d0").available
    assert ride.service.orders.get(order.id).driver_id == "d1"


def test_batch_refusals_wait_for_the_whole_batch_then_the_next_one() -> None:
    ride = batch_ride(batch_size=2)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    order = ride.service.reject("d0", order.id)
    assert [o.driver_id for o in order.offers] == ["d1"]  # no new batch yet
    order = ride.service.reject("d1", order.id)
    assert [o.driver_id for o in order.offers] == ["d2", "d3"]


def test_stagger_shows_the_next_driver_later() -> None:
    ride = batch_ride(batch_size=3, stagger_s=10)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert [(o.driver_id, o.shown) for o in order.offers] == [
        ("d0", True),
        ("d1", False),
        ("d2", False),
    ]
    assert ride.types("driver", "d1") == []
    with pytest.raises(Forbidden, match="holds no offer"):
        ride.service.accept("d1", order.id)  # not shown yet
    ride.later(10)
    assert ride.service.expire_due() == 1
    assert ride.types("driver", "d1") == ["offer"]
    offer = ride.service.orders.get(order.id).offer_to("d1")
    assert offer is not None
    assert offer.expires_at == T0 + timedelta(seconds=40)
    ride.service.accept("d1", order.id)
    assert not ride.service.drivers.get("d2").order_id  # the unseen offer was released


def test_cancel_during_a_batch_withdraws_every_live_offer() -> None:
    ride = batch_ride(batch_size=3)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.cancel(Actor.customer("cust"), order.id, "found a taxi")
    for driver in ("d0", "d1", "d2"):
        assert ride.types("driver", driver) == ["offer", "offer_withdrawn"]
        assert ride.service.drivers.get(driver).available


def test_a_late_scheduler_drops_offers_whose_time_passed_unseen() -> None:
    ride = batch_ride(batch_size=2, stagger_s=10)
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.later(300)  # nobody called expire_due for five minutes
    ride.service.expire_due()
    assert ride.types("driver", "d1") == []  # never shown an already expired offer
    assert ride.service.orders.get(order.id).state == RideState.NO_DRIVER


def bidding_ride() -> Ride:
    from vtc_dispatch.pool import PoolConfig

    ride = Ride()
    ride.service.pool = PoolConfig.model_validate(
        {
            "default": {
                "mode": "bidding",
                "bidders": 3,
                "bidding_window_s": 600,
                "search_timeout_s": 3600,
            }
        }
    )
    for i, km in enumerate([0.2, 0.4, 0.6, 0.8]):
        ride.online(f"d{i}", km)
    return ride


def test_bidding_carriers_bid_the_customer_chooses_the_others_are_told() -> None:
    from vtc_dispatch.errors import InvalidMoney

    ride = bidding_ride()
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert [o.driver_id for o in order.offers] == ["d0", "d1", "d2"]
    with pytest.raises(Forbidden, match="takes bids"):
        ride.service.accept("d0", order.id)
    ride.service.submit_bid("d0", order.id, Decimal(1500))
    ride.service.submit_bid("d1", order.id, Decimal(1200))
    ride.service.submit_bid("d0", order.id, Decimal(1100))  # replaces d0's first bid
    with pytest.raises(InvalidMoney, match="a bid must be a Decimal > 0, got Decimal"):
        ride.service.submit_bid("d2", order.id, Decimal(-5))
    with pytest.raises(Forbidden, match="holds no offer"):
        ride.service.submit_bid("d3", order.id, Decimal(900))
    bids = ride.service.orders.get(order.id).bids
    assert [(b.driver_id, b.amount) for b in bids] == [("d1", Decimal(1200)), ("d0", Decimal(1100))]
    assert ride.types("customer", "cust").count("bid_received") == 3
    with pytest.raises(NotFound, match="no live bid from 'd2'"):
        ride.service.accept_bid("cust", order.id, "d2")
    taken = ride.service.accept_bid("cust", order.id, "d1")
    assert (taken.state, taken.driver_id) == (RideState.ACCEPTED, "d1")
    assert taken.agreed_price == 1200
    assert [c.reason for c in taken.price_history] == ["quoted", "bid accepted"]
    for loser in ("d0", "d2"):
        assert ride.types("driver", loser)[-1] == "offer_withdrawn"
        assert ride.service.drivers.get(loser).available
    ride.drive("d1", AKWA, steps=2)
    ride.service.arrived("d1", order.id)
    ride.service.start_trip("d1", order.id)
    ride.drive("d1", DEIDO, steps=10, step_s=60)
    done = ride.service.complete_trip("d1", order.id)
    assert done.final_fare is not None
    assert (done.final_fare.amount, done.final_fare.reason) == (Decimal(1200), "agreed_bid")
    assert [c.reason for c in done.price_history] == ["quoted", "bid accepted"]


def test_bids_end_with_the_window_and_the_next_carriers_are_invited() -> None:
    ride = bidding_ride()
    order = ride.service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "CASH")
    ride.service.submit_bid("d0", order.id, Decimal(1500))
    ride.later(600)
    ride.service.expire_due()
    order = ride.service.orders.get(order.id)
    assert order.bids == ()
    assert [o.driver_id for o in order.offers] == ["d3"]
    with pytest.raises(NotFound, match="no live bid from 'd0'"):
        ride.service.accept_bid("cust", order.id, "d0")


def test_an_order_keeps_the_price_its_search_showed_for_a_while() -> None:
    # 21:59:30 in Douala (UTC+1): the day tariff shown, the night one at 22:00.
    ride = Ride()
    ride.clock.set(datetime(2026, 11, 21, 20, 59, 30, tzinfo=UTC))
    ride.online("t1", 0.5)
    ride.online("t2", 0.7)
    [shown] = ride.service.search(AKWA, DEIDO)
    ride.later(60)
    order = ride.service.create_order("c1", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.quote is shown.quote
    assert "night" not in order.quote.rules_applied
    ride.service.cancel(Actor.customer("c1"), order.id, "changed my mind")
    ride.later(61)  # 121 s after the search: priced again, at night
    again = ride.service.create_order("c1", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert again.quote.at == ride.clock.now()
    assert "night" in again.quote.rules_applied
    assert again.quote.estimate > shown.quote.estimate


def test_quotes_are_not_kept_when_disabled_or_with_supplements() -> None:
    ride = Ride(quote_valid_s=0)
    ride.online("t1", 0.5)
    [shown] = ride.service.search(AKWA, DEIDO)
    ride.later(1)
    order = ride.service.create_order("c1", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.quote.at == ride.clock.now() != shown.quote.at
    ride = Ride()
    ride.online("t1", 0.5)
    [shown] = ride.service.search(AKWA, DEIDO)
    ride.later(1)
    order = ride.service.create_order(
        "c1", AKWA, DEIDO, "taxi_jaune", "CASH", supplements=["luggage"]
    )
    assert order.quote.supplements == ("luggage",)
    assert order.quote.estimate == shown.quote.estimate + 200


def test_without_a_transport_the_ride_runs_and_listeners_see_every_event() -> None:
    from vtc_dispatch.events import DriverAssigned, TripCompleted
    from vtc_dispatch.memory import NullNotifier

    clock = ManualClock(T0)
    service = DispatchService(pricing=douala_config(), clock=clock, notifier=NullNotifier())
    seen: list[object] = []
    service.subscribe(seen.append)
    service.driver_online("t1", "taxi_jaune", AKWA)
    order = service.create_order("c1", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("t1", order.id)
    service.arrived("t1", order.id)
    service.start_trip("t1", order.id)
    clock.advance(timedelta(minutes=5))
    service.update_position("t1", DEIDO)
    done = service.complete_trip("t1", order.id)
    assert done.state == RideState.DONE
    kinds = {type(e) for e in seen}
    assert {DriverAssigned, TripCompleted} <= kinds


class _Flaky:
    """Refuses (or fails) the next matching save, then behaves: a race with another worker."""

    def __init__(self, inner: object, fail_when: Callable[[Order], bool], error: Exception) -> None:
        self.inner = inner
        self.fail_when = fail_when
        self.error = error
        self.armed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def save(self, order: Order, expected_version: int) -> Order:
        if self.armed and self.fail_when(order):
            self.armed = False
            raise self.error
        return self.inner.save(order, expected_version)  # type: ignore[attr-defined,no-any-return]


class _FlakyWallet(InMemoryWallet):
    def __init__(self) -> None:
        super().__init__()
        self.fail_next_capture = False
        self.captures = 0

    def capture(self, hold_id: str, amount: Decimal, *, op_id: str | None = None) -> Decimal:
        self.captures += 1
        if self.fail_next_capture:
            self.fail_next_capture = False
            raise StorageUnavailable("the wallet did not answer")
        return super().capture(hold_id, amount, op_id=op_id)


def _wallet_ride_to_the_end(
    orders: object, wallet: InMemoryWallet
) -> tuple[DispatchService, ManualClock, str]:
    clock = ManualClock(T0)
    service = DispatchService(
        pricing=douala_config(),
        clock=clock,
        wallet=wallet,
        orders=orders,  # type: ignore[arg-type]
    )
    wallet.credit("cust", Decimal(5000), "XAF")
    service.driver_online("d", "taxi_jaune", AKWA)
    order = service.create_order("cust", AKWA, DEIDO, "taxi_jaune", "WALLET")
    service.accept("d", order.id)
    service.arrived("d", order.id)
    service.start_trip("d", order.id)
    clock.advance(timedelta(minutes=6))
    service.update_position("d", DEIDO)
    return service, clock, order.id


def test_a_completion_that_loses_a_race_takes_no_money_then_decides_again_and_takes_it_once() -> (
    None
):
    orders = _Flaky(
        InMemoryOrderRepository(),
        lambda o: o.state == RideState.DONE,
        ConcurrencyConflict("another worker saved this order first"),
    )
    wallet = _FlakyWallet()
    service, _, order_id = _wallet_ride_to_the_end(orders, wallet)
    orders.armed = True
    done = service.complete_trip("d", order_id)
    assert not orders.armed  # the first commit was refused: the command read and decided again
    assert done.final_fare is not None
    assert (done.payment_status, done.wallet_hold) == (PaymentStatus.PAID, None)
    assert wallet.captures == 1
    assert wallet.balance("cust", "XAF") == 5000 - done.final_fare.amount


def test_a_wallet_failing_after_the_ride_is_saved_leaves_it_settling_until_settled() -> None:
    wallet = _FlakyWallet()
    service, _, order_id = _wallet_ride_to_the_end(InMemoryOrderRepository(), wallet)
    wallet.fail_next_capture = True
    with pytest.raises(StorageUnavailable):
        service.complete_trip("d", order_id)
    pending = service.get_order(Actor.operator("ops"), order_id)
    assert (pending.state, pending.payment_status) == (RideState.DONE, PaymentStatus.SETTLING)
    assert pending.wallet_hold is not None
    settled = service.settle_payment(order_id)
    assert settled.final_fare is not None
    assert (settled.payment_status, settled.wallet_hold) == (PaymentStatus.PAID, None)
    assert wallet.balance("cust", "XAF") == 5000 - settled.final_fare.amount
    assert service.settle_payment(order_id) == settled  # nothing left to do


def test_settling_keeps_a_rating_saved_in_between() -> None:
    inner = InMemoryOrderRepository()
    orders = _Flaky(
        inner,
        lambda o: o.payment_status == PaymentStatus.PAID,
        ConcurrencyConflict("a rating was saved in between"),
    )
    wallet = _FlakyWallet()
    service, _, order_id = _wallet_ride_to_the_end(orders, wallet)
    wallet.fail_next_capture = True
    with pytest.raises(StorageUnavailable):
        service.complete_trip("d", order_id)
    service.rate(Actor.customer("cust"), order_id, 5)
    orders.armed = True
    settled = service.settle_payment(order_id)
    assert settled.payment_status == PaymentStatus.PAID
    assert [r.stars for r in settled.ratings] == [5]
