"""Freight loads and deliveries through the service: their own steps and rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vtc_dispatch.errors import Forbidden, InvalidArgument, InvalidTransition, OfferExpired
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng
from vtc_dispatch.kinds import KINDS, OrderKind
from vtc_dispatch.memory import ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, Order, ProofOfDelivery
from vtc_dispatch.pricing import dakar_config, douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings
from vtc_dispatch.wire import (
    BidAcceptedMessage,
    BidReceivedMessage,
    DriverLocationMessage,
    OfferWithdrawnMessage,
    OrderStatusMessage,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PICKUP, DROPOFF = LatLng(14.670, -17.440), LatLng(14.690, -17.450)
SHIPPER = Actor.customer("shipper")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def service(clock: ManualClock, notifier: RecordingNotifier) -> DispatchService:
    service = DispatchService(
        pricing=dakar_config(),
        clock=clock,
        notifier=notifier,
        settings=ServiceSettings(arrive_radius_km=2.0, presence_timeout_s=None),
    )
    for driver, where in [("k1", 14.671), ("k2", 14.672), ("k3", 14.673)]:
        service.driver_online(driver, "camion_10t", LatLng(where, -17.439))
    return service


def bidding(service: DispatchService) -> Order:
    draft = service.create_order("shipper", PICKUP, DROPOFF, "camion_10t", "WAVE")
    return service.post_load(SHIPPER, draft.id)


def in_transit(service: DispatchService, clock: ManualClock) -> Order:
    load = bidding(service)
    service.submit_bid("k2", load.id, Decimal(60000))
    service.accept_bid("shipper", load.id, "k2")
    service.arrived("k2", load.id)
    service.start_trip("k2", load.id)
    clock.advance(timedelta(minutes=30))
    return service.depart("k2", load.id)


def proof(order: Order, when: datetime, **changes: object) -> ProofOfDelivery:
    fields: dict[str, object] = {
        "position": order.dropoff,
        "at": when,
        "code": order.delivery_code,
        "reference": "pod/17.jpg",
    }
    fields.update(changes)
    return ProofOfDelivery(**fields)  # type: ignore[arg-type]


def test_state_names_shared_by_two_kinds_play_the_same_phase() -> None:
    phases: dict[str, RideState] = {}
    for spec in KINDS.values():
        assert set(spec.phases) == spec.machine.states
        for state, phase in spec.phases.items():
            assert phases.setdefault(state, phase) == phase, state


def test_the_vehicle_type_decides_the_kind_and_the_pool_mode(service: DispatchService) -> None:
    load = service.create_order("shipper", PICKUP, DROPOFF, "camion_10t", "WAVE")
    assert (load.kind, load.state, load.offers) == (OrderKind.FREIGHT, "draft", ())
    assert load.quote.currency == "XOF"
    assert load.delivery_code is not None
    assert len(load.delivery_code) == 6
    posted = service.post_load(SHIPPER, load.id)
    assert posted.state == "bidding"
    assert [h.target for h in posted.lifecycle.history] == ["posted", "bidding"]
    # Freight bids by default: every carrier around is invited at once.
    assert sorted(o.driver_id for o in posted.offers) == ["k1", "k2", "k3"]


def test_a_configured_mode_wins_over_the_kind_default(clock: ManualClock) -> None:
    from vtc_dispatch.pool import PoolConfig

    service = DispatchService(
        pricing=dakar_config(),
        clock=clock,
        pool=PoolConfig.model_validate({"default": {"mode": "sequential"}}),
    )
    service.driver_online("k1", "camion_10t", LatLng(14.671, -17.439))
    service.driver_online("k2", "camion_10t", LatLng(14.672, -17.439))
    load = service.create_order("shipper", PICKUP, DROPOFF, "camion_10t", "CASH")
    assert len(service.post_load(SHIPPER, load.id).offers) == 1


def test_rides_keep_their_lifecycle(clock: ManualClock) -> None:
    service = DispatchService(pricing=douala_config(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    ride = service.create_order(
        "chantal", LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250), "taxi_jaune", "CASH"
    )
    assert (ride.kind, ride.state, ride.delivery_code) == (OrderKind.RIDE, "searching", None)


def test_only_invited_carriers_bid_and_an_expired_bid_cannot_be_taken(
    service: DispatchService, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    service.driver_online("far", "camion_10t", LatLng(14.80, -17.10))
    load = bidding(service)
    with pytest.raises(Forbidden):
        service.submit_bid("far", load.id, Decimal(40000))
    service.submit_bid("k1", load.id, Decimal(50000), valid_for_s=30)
    service.submit_bid("k3", load.id, Decimal(52000))
    received = [m for _, m in notifier.sent if isinstance(m, BidReceivedMessage)]
    assert [m.valid_until for m in received] == [T0 + timedelta(seconds=30), None]
    clock.advance(timedelta(seconds=31))
    with pytest.raises(OfferExpired, match="valid until"):
        service.accept_bid("shipper", load.id, "k1")
    taken = service.accept_bid("shipper", load.id, "k3")
    assert (taken.state, taken.driver_id, taken.agreed_price) == ("assigned", "k3", Decimal(52000))
    # The carrier whose bid was taken is told so, with the price; the others lose the load.
    told = [
        (r.id, m)
        for r, m in notifier.sent
        if r.role == "driver" and isinstance(m, OfferWithdrawnMessage | BidAcceptedMessage)
    ]
    assert told == [
        ("k1", OfferWithdrawnMessage(order_id=load.id, reason="taken", at=clock.now())),
        ("k2", OfferWithdrawnMessage(order_id=load.id, reason="taken", at=clock.now())),
        ("k3", BidAcceptedMessage(
            order_id=load.id, amount=Decimal(52000), currency="XOF", at=clock.now())),
    ]  # fmt: skip


def test_a_ride_accepted_by_its_driver_tells_no_driver_of_a_bid(
    clock: ManualClock, notifier: RecordingNotifier
) -> None:
    service = DispatchService(pricing=douala_config(), clock=clock, notifier=notifier)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    ride = service.create_order(
        "chantal", LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250), "taxi_jaune", "CASH"
    )
    service.accept("amadou", ride.id)
    assert not [m for _, m in notifier.sent if isinstance(m, BidAcceptedMessage)]


def test_a_load_from_draft_to_completed_at_the_agreed_price(
    service: DispatchService, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    load = in_transit(service, clock)
    assert load.state == "in_transit"
    service.update_position("k2", DROPOFF)
    delivered = service.deliver("k2", load.id, proof(load, clock.now()))
    assert delivered.state == "delivered"
    assert delivered.final_fare is not None
    assert delivered.final_fare.amount == 60000
    assert delivered.proof == proof(load, clock.now())
    status = service.driver_state("k2").status
    assert status is not None
    assert status.order_id is None  # free for the next load
    done = service.confirm_delivery(SHIPPER, load.id)
    assert done.state == "completed"
    assert done.lifecycle.is_terminal
    statuses = [
        m.state
        for r, m in notifier.sent
        if isinstance(m, OrderStatusMessage) and r.role == "customer"
    ]
    assert statuses == ["posted", "in_transit", "delivered", "completed"]
    rated = service.rate(SHIPPER, load.id, 5)
    assert rated.ratings[0].stars == 5


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"position": LatLng(14.670, -17.440)}, "from the destination"),
        ({"code": "000000"}, "receiver's code"),
        ({"reference": None}, "reference of a photo or a signature"),
        ({"at": T0 + timedelta(hours=5)}, "after now"),
        ({"at": T0 - timedelta(minutes=1)}, "before the pickup"),
    ],
)
def test_a_bad_proof_is_refused_and_changes_nothing(
    service: DispatchService, clock: ManualClock, changes: dict[str, object], why: str
) -> None:
    load = in_transit(service, clock)
    with pytest.raises(InvalidTransition, match=why):
        service.deliver("k2", load.id, proof(load, clock.now(), **changes))
    assert service.get_order(SHIPPER, load.id) == load


def test_only_the_assigned_driver_proves_the_delivery(
    service: DispatchService, clock: ManualClock
) -> None:
    load = in_transit(service, clock)
    with pytest.raises(Forbidden):
        service.deliver("k1", load.id, proof(load, clock.now()))


def test_a_dispute_only_after_delivery_then_an_operator_resolves_it(
    service: DispatchService, clock: ManualClock
) -> None:
    load = in_transit(service, clock)
    with pytest.raises(InvalidTransition):
        service.dispute(SHIPPER, load.id, "two pallets short")
    service.deliver("k2", load.id, proof(load, clock.now()))
    with pytest.raises(Forbidden):
        service.dispute(Actor.driver("k2"), load.id, "not paid")
    assert service.dispute(SHIPPER, load.id, "two pallets short").state == "disputed"
    with pytest.raises(InvalidTransition):
        service.confirm_delivery(SHIPPER, load.id)
    assert service.resolve_dispute("ops", load.id, "refund 10 %").state == "resolved"


def test_the_route_is_geojson_of_the_plan_and_the_track(
    service: DispatchService, clock: ManualClock
) -> None:
    load = in_transit(service, clock)
    for minutes, lat in [(2, 14.675), (4, 14.680), (6, 14.685)]:
        clock.advance(timedelta(minutes=2))
        service.update_position("k2", LatLng(lat, -17.445 + minutes / 10_000))
    routes = service.route(SHIPPER, load.id)
    planned, _, actual = routes["features"]
    assert planned["geometry"]["coordinates"] == [[-17.44, 14.67], [-17.45, 14.69]]
    assert [c[1] for c in actual["geometry"]["coordinates"]][-3:] == [14.675, 14.68, 14.685]
    assert routes["properties"] == {"order_id": load.id, "kind": "freight", "state": "in_transit"}


def test_the_pings_are_every_position_of_the_order_refused_ones_flagged(
    service: DispatchService, clock: ManualClock
) -> None:
    load = bidding(service)
    assert service.pings(SHIPPER, load.id) == {"order_id": load.id, "pings": []}
    service.submit_bid("k2", load.id, Decimal(60000))
    service.accept_bid("shipper", load.id, "k2")
    clock.advance(timedelta(minutes=1))
    service.update_position("k2", LatLng(14.6715, -17.4395))
    clock.advance(timedelta(seconds=10))
    service.update_position("k2", LatLng(14.75, -17.30))  # 17 km in 10 s: set aside
    service.arrived("k2", load.id)
    service.start_trip("k2", load.id)
    clock.advance(timedelta(minutes=2))
    service.update_position("k2", LatLng(14.675, -17.442))
    pings = service.pings(SHIPPER, load.id)["pings"]
    assert [(p["leg"], p["lat"], p["flag"]) for p in pings] == [
        ("approach", 14.6715, None),
        ("approach", 14.75, "jump"),
        ("trip", 14.6715, None),  # where the trip started: his last position taken
        ("trip", 14.675, None),
    ]
    assert pings[0]["at"] == (T0 + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    # After the delivery, the order keeps them.
    clock.advance(timedelta(minutes=20))
    service.depart("k2", load.id)
    service.update_position("k2", DROPOFF)
    delivered = service.deliver("k2", load.id, proof(load, clock.now()))
    assert service.pings(Actor.driver("k2"), delivered.id)["pings"][:4] == pings
    with pytest.raises(Forbidden):
        service.pings(Actor.customer("someone"), load.id)


def test_carriers_within_a_radius(service: DispatchService) -> None:
    near = service.drivers_near(PICKUP, 1.0, ["camion_10t"])
    assert [status.driver_id for status, _ in near] == ["k1", "k2", "k3"]
    assert all(km <= 1.0 for _, km in near)
    with pytest.raises(InvalidArgument, match="radius_km"):
        service.drivers_near(PICKUP, 0, ["camion_10t"])


def test_a_delivery_waits_for_its_merchant_then_a_rider_delivers_it(
    clock: ManualClock, notifier: RecordingNotifier
) -> None:
    service = DispatchService(
        pricing=dakar_config(),
        clock=clock,
        notifier=notifier,
        settings=ServiceSettings(arrive_radius_km=2.0, location_interval_s=0),
    )
    service.driver_online("rider", "moto_livraison", LatLng(14.671, -17.439))
    with pytest.raises(InvalidArgument, match="merchant_id"):
        service.create_order("amy", PICKUP, DROPOFF, "moto_livraison", "CASH")
    parcel = service.create_order(
        "amy", PICKUP, DROPOFF, "moto_livraison", "CASH",
        merchant_id="resto", goods_amount=Decimal(7500),
    )  # fmt: skip
    assert (parcel.kind, parcel.state, parcel.offers) == (OrderKind.DELIVERY, "waiting", ())
    # The goods are carried, not priced: the fee is the tariff's for the trip.
    assert parcel.goods_amount == 7500
    assert parcel.quote.estimate < 7500
    merchant = Actor.merchant("resto")
    with pytest.raises(Forbidden):
        service.merchant_update(Actor.merchant("other"), parcel.id, "confirm")
    with pytest.raises(Forbidden):
        service.merchant_update(Actor.customer("amy"), parcel.id, "confirm")
    for verb in ("confirm", "prepare"):
        service.merchant_update(merchant, parcel.id, verb)
    offered = service.merchant_update(merchant, parcel.id, "mark_ready")
    assert offered.state == "offered"
    assert offered.offered_to == "rider"
    service.accept("rider", parcel.id)
    service.arrived("rider", parcel.id)
    service.start_trip("rider", parcel.id)
    service.depart("rider", parcel.id)
    clock.advance(timedelta(minutes=3))
    service.update_position("rider", LatLng(14.680, -17.445))
    located = [
        m for r, m in notifier.sent if isinstance(m, DriverLocationMessage) and r.id == "amy"
    ]
    assert located
    assert located[-1].eta_s is not None
    rider_view = service.get_order(Actor.driver("rider"), parcel.id)
    code = service.get_order(Actor.customer("amy"), parcel.id).delivery_code
    assert code is not None
    delivered = service.deliver(
        "rider", parcel.id, ProofOfDelivery(DROPOFF, clock.now(), code=code)
    )
    assert delivered.state == "delivered"
    assert delivered.lifecycle.is_terminal
    assert rider_view.delivery_code == code  # the order holds it; the driver's view hides it


def test_the_drivers_view_hides_the_receivers_code(service: DispatchService) -> None:
    from vtc_dispatch.presentation import order_json

    load = bidding(service)
    assert order_json(load, Actor.driver("k1"))["delivery_code"] is None
    assert order_json(load, SHIPPER)["delivery_code"] == load.delivery_code
    assert order_json(load, SHIPPER)["kind"] == "freight"
