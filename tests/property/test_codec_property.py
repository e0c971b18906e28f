"""What :mod:`vtc_dispatch.codec` stores reads back equal, through JSON text; bad data is refused.

Orders are built by the service itself (in memory) along random rides, in
sequential and bidding mode: quotes with their breakdown, lifecycles in
every state, offers, bids, tracks with flagged points, final fares, wallet
payments, cancellations with fees and ratings.  Lifecycles of the freight
and delivery machines, and times in other zones, are generated directly.
"""

from __future__ import annotations

import contextlib
import json
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

# Rides start at NIGHT so that stored quotes carry the night tariff line too.
from places import AKWA, DEIDO, NIGHT

from vtc_dispatch.codec import (
    FORMAT,
    CodecError,
    datetime_from_data,
    datetime_to_data,
    order_from_data,
    order_to_data,
    progress_from_data,
    progress_to_data,
    quote_from_data,
    quote_to_data,
)
from vtc_dispatch.errors import DispatchError
from vtc_dispatch.fsm import DELIVERY, FREIGHT, StateMachine
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import InMemoryWallet, ManualClock
from vtc_dispatch.order import Actor, Bid, Cancellation, Order, Rating, RideProgress
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import Pricer, douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch.tracking import Track

PROOF = {"proof_of_delivery": "photo.jpg"}

offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
zones = st.one_of(st.just(UTC), offsets)


def through_json(data: Any) -> Any:
    """``data`` as a store gives it back: JSON text and back (compact, as Redis stores it)."""
    return json.loads(json.dumps(data, separators=(",", ":")))


def same_after_storing(order: Order) -> None:
    data = order_to_data(order)
    back = order_from_data(through_json(data), version=order.version)
    assert back == order
    assert back.quote.breakdown == order.quote.breakdown
    assert back.lifecycle.machine is order.lifecycle.machine
    assert order_to_data(back) == data
    for then, now in zip(order.lifecycle.history, back.lifecycle.history, strict=True):
        assert now.at.utcoffset() == then.at.utcoffset()


def progress_same_after_storing(service: DispatchService, order_id: str) -> None:
    progress = service.progress.get(order_id)
    data = through_json(progress_to_data(progress))
    assert progress_from_data(data, version=progress.version) == progress


def new_service(mode: str, *, drivers: int) -> tuple[ManualClock, DispatchService]:
    """A service in ``mode`` (sequential, bidding or matching), its customer ``c`` with money
    in the wallet, ``drivers`` taxis around Akwa, nearest first."""
    clock = ManualClock(NIGHT)
    wallet = InMemoryWallet()
    wallet.credit("c", Decimal(50_000), "XAF")
    service = DispatchService(pricing=douala_config(), clock=clock, wallet=wallet)
    if mode == "bidding":
        service.pool = PoolConfig.model_validate(
            {"default": {"mode": "bidding", "bidders": 3, "bidding_window_s": 300}}
        )
    elif mode == "matching":  # orders wait for their window (Order.window_at) between offers
        service.pool = PoolConfig.model_validate({"default": {"mode": "matching"}})
    for i in range(drivers):
        position = destination_point(AKWA, 360 / drivers * i, 0.1 * i + 0.1)
        service.driver_online(f"d{i}", "taxi_jaune", position)
    return clock, service


@contextlib.contextmanager
def refused() -> Iterator[None]:
    # A refused command changes nothing; the order is checked anyway.
    with contextlib.suppress(DispatchError):
        yield


ONWARD = ["accept", "bid", "take_bid", "move", "gps", "arrive", "start", "complete", "rate"]
ASIDE = ["wait", "expire", "reject", "cancel_customer", "cancel_driver", "again"]
STEPS = st.lists(
    # Mostly steps that take the ride further, so that runs reach every state.
    st.one_of(st.sampled_from(ONWARD), st.sampled_from(ONWARD), st.sampled_from(ASIDE)),
    max_size=30,
)


@given(
    steps=STEPS,
    mode=st.sampled_from(["sequential", "bidding", "matching"]),
    payment=st.sampled_from(["CASH", "WALLET"]),
    supplements=st.sampled_from([(), ("luggage",)]),
    seconds=st.integers(1, 400),
    gps=st.lists(
        st.tuples(st.floats(0, 360), st.floats(0, 3), st.integers(-120, 120)),
        min_size=1,
        max_size=4,
    ),
    amounts=st.lists(st.decimals(100, 20_000, places=2), min_size=1, max_size=3),
)
def test_orders_along_random_rides_read_back_equal(
    steps: list[str],
    mode: str,
    payment: str,
    supplements: tuple[str, ...],
    seconds: int,
    gps: list[tuple[float, float, int]],
    amounts: list[Decimal],
) -> None:
    clock, service = new_service(mode, drivers=4)
    order = service.create_order("c", AKWA, DEIDO, "taxi_jaune", payment, supplements=supplements)
    same_after_storing(order)
    for step in steps:
        service.expire_due()  # as the workers do, every few seconds
        order = service.orders.get(order.id)
        driver = order.driver_id or order.offered_to or "d0"
        if step == "wait":
            clock.advance(timedelta(seconds=seconds))
        elif step == "expire":
            service.expire_due()
        elif step in ("accept", "reject"):
            with refused():
                getattr(service, step)(driver, order.id)
        elif step == "bid":
            for offer, amount in zip(order.offers, amounts, strict=False):
                with refused():
                    service.submit_bid(offer.driver_id, order.id, amount)
        elif step == "take_bid" and order.bids:
            with refused():
                service.accept_bid("c", order.id, order.bids[-1].driver_id)
        elif step == "move":
            clock.advance(timedelta(seconds=10))
            with refused():
                service.update_position(driver, DEIDO if order.state == "in_progress" else AKWA)
        elif step == "gps":  # fast, late, early or repeated fixes: flagged on the track
            for bearing, km, skew_s in gps:
                clock.advance(timedelta(seconds=5))
                with refused():
                    here = service.drivers.get(driver).position
                    at = clock.now() + timedelta(seconds=skew_s)
                    service.update_position(driver, destination_point(here, bearing, km), at)
        elif step == "arrive":
            with refused():
                service.arrived(driver, order.id, operator_id="op")
        elif step == "start":
            with refused():
                service.start_trip(driver, order.id)
        elif step == "complete":
            with refused():
                service.complete_trip(driver, order.id, supplements=supplements)
        elif step == "cancel_customer":
            with refused():
                service.cancel(Actor.customer("c"), order.id, "changed my mind")
        elif step == "cancel_driver":
            with refused():
                service.cancel(Actor.driver(driver), order.id, "flat tyre")
        elif step == "rate":
            with refused():
                service.rate(Actor.customer("c"), order.id, 4, "ok")
            with refused():
                service.rate(Actor.driver(driver), order.id, 5)
        elif step == "again":
            with refused():
                service.search_again("c", order.id)
        same_after_storing(service.orders.get(order.id))
        progress_same_after_storing(service, order.id)
    order = service.orders.get(order.id)
    event(f"state {order.state}")
    flags = {p.flag for track in (order.approach, order.trip) for p in track.points}
    event(f"flagged points: {sorted(str(f) for f in flags if f is not None) or 'none'}")
    if order.cancellation is not None:
        event(f"cancelled, fee {'> 0' if order.cancellation.fee else '0'}")


PHASES = ["offered", "accepted", "approach", "arrived", "trip", "completed", "rated"]


@given(
    mode=st.sampled_from(["sequential", "bidding"]),
    payment=st.sampled_from(["CASH", "WALLET"]),
    refusals=st.integers(0, 2),
    stop=st.sampled_from(PHASES),
    ending=st.sampled_from(["none", "cancel_customer", "cancel_driver", "expire"]),
    wait_s=st.integers(0, 900),
    fixes=st.lists(
        st.tuples(st.floats(0, 360), st.floats(0, 2), st.integers(-200, 200)), max_size=8
    ),
    amounts=st.lists(st.decimals(100, 20_000, places=2), min_size=1, max_size=3),
    stars=st.integers(1, 5),
)
def test_orders_at_every_step_of_a_ride_read_back_equal(
    mode: str,
    payment: str,
    refusals: int,
    stop: str,
    ending: str,
    wait_s: int,
    fixes: list[tuple[float, float, int]],
    amounts: list[Decimal],
    stars: int,
) -> None:
    clock, service = new_service(mode, drivers=6)
    order = service.create_order("c", AKWA, DEIDO, "taxi_jaune", payment)
    same_after_storing(order)

    def drive(driver: str) -> None:
        for bearing, km, skew_s in fixes:  # too fast, late or early fixes are flagged
            clock.advance(timedelta(seconds=10))
            here = service.drivers.get(driver).position
            at = clock.now() + timedelta(seconds=skew_s)
            service.update_position(driver, destination_point(here, bearing, km), at)
            progress_same_after_storing(service, order.id)

    driver = ""
    for phase in PHASES[: PHASES.index(stop) + 1]:
        if phase == "offered":
            for _ in range(refusals if mode == "sequential" else 0):
                offered = service.orders.get(order.id).offered_to
                assert offered is not None
                same_after_storing(service.reject(offered, order.id))
        elif phase == "accepted":
            current = service.orders.get(order.id)
            if mode == "bidding":
                for offer, amount in zip(current.offers, amounts, strict=False):
                    same_after_storing(service.submit_bid(offer.driver_id, order.id, amount))
                driver = service.orders.get(order.id).bids[0].driver_id
                same_after_storing(service.accept_bid("c", order.id, driver))
            else:
                driver = current.offered_to or ""
                same_after_storing(service.accept(driver, order.id))
        elif phase == "approach":
            drive(driver)
        elif phase == "arrived":
            same_after_storing(service.arrived(driver, order.id, operator_id="op"))
        elif phase == "trip":
            same_after_storing(service.start_trip(driver, order.id))
            drive(driver)
        elif phase == "completed":
            same_after_storing(service.complete_trip(driver, order.id, supplements=()))
        elif phase == "rated":
            same_after_storing(service.rate(Actor.customer("c"), order.id, stars, "merci"))
            same_after_storing(service.rate(Actor.driver(driver), order.id, stars))
    clock.advance(timedelta(seconds=wait_s))
    with refused():
        if ending == "cancel_customer":
            service.cancel(Actor.customer("c"), order.id, "changed my mind")
        elif ending == "cancel_driver":
            service.cancel(Actor.driver(driver or "d0"), order.id, "flat tyre")
        elif ending == "expire":
            service.expire_due()
    order = service.orders.get(order.id)
    same_after_storing(order)
    progress_same_after_storing(service, order.id)
    event(f"state {order.state}")
    flags = {p.flag for track in (order.approach, order.trip) for p in track.points}
    event(f"flagged points: {sorted(str(f) for f in flags if f is not None) or 'none'}")
    if order.cancellation is not None:
        fee = "> 0" if order.cancellation.fee else "0"
        event(f"cancelled by {order.cancellation.by.role}, fee {fee}")


def walk(machine: StateMachine, data: st.DataObject, start: datetime) -> Any:
    life = machine.start("o1", start)
    for _ in range(data.draw(st.integers(0, 12), label="fires")):
        moves = [
            (e, r)
            for e in machine.events(life.state)
            for r in sorted(machine.roles)
            if life.can_fire(e, r, PROOF)
        ]
        if not moves:
            break
        fired, role = data.draw(st.sampled_from(moves), label="move")
        zone = data.draw(zones, label="zone")
        at = (life.changed_at + timedelta(seconds=data.draw(st.integers(0, 7200)))).astimezone(zone)
        reason = data.draw(st.none() | st.text(max_size=20), label="reason")
        life = life.fire(fired, actor=role, at=at, reason=reason, context=PROOF)
    return life


@given(
    machine=st.sampled_from([FREIGHT, DELIVERY]),
    data=st.data(),
    zone=zones,
    bids=st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.decimals(1, 10**7, places=2)), max_size=4
    ),
    fee=st.none() | st.decimals(0, 5000, places=2),
    comment=st.none() | st.text(max_size=40),
    stars=st.integers(1, 5),
)
def test_freight_and_delivery_orders_with_bids_read_back_equal(
    machine: StateMachine,
    data: st.DataObject,
    zone: timezone,
    bids: list[tuple[str, Decimal]],
    fee: Decimal | None,
    comment: str | None,
    stars: int,
) -> None:
    start = NIGHT.astimezone(zone)
    quote = Pricer(douala_config()).quote(AKWA, DEIDO, "taxi_jaune", start)
    life = walk(machine, data, start)
    track, _ = Track().add(AKWA, start)
    track, _ = track.add(AKWA, start)  # again: a duplicate
    track, _ = track.add(DEIDO, start + timedelta(seconds=1))  # too fast: a jump
    late = start + timedelta(seconds=5)
    track, _ = track.add(AKWA, late, received_at=late + timedelta(hours=1))  # stale
    order = Order(
        "o1", "shipper", "taxi_jaune", AKWA, DEIDO, "CASH", quote, life, start,
        version=data.draw(st.integers(0, 10**6), label="version"),
        bids=tuple(Bid(d, a, start + timedelta(seconds=i)) for i, (d, a) in enumerate(bids)),
        agreed_price=bids[0][1] if bids else None,
        trip=track,
        cancellation=None
        if fee is None
        else Cancellation(Actor.customer("shipper"), "no longer needed", fee, life.changed_at),
        ratings=(Rating(Actor.customer("shipper"), "carrier", stars, comment, life.changed_at),),
    )  # fmt: skip
    assert {str(p.flag) for p in track.points if p.flag} == {"jump", "duplicate", "stale"}
    same_after_storing(order)


@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.one_of(st.none(), zones),
    )
)
def test_times_read_back_equal_with_their_offset(moment: datetime) -> None:
    back = datetime_from_data(through_json(datetime_to_data(moment)))
    assert back == moment
    assert back.replace(tzinfo=None) == moment.replace(tzinfo=None)
    assert back.utcoffset() == moment.utcoffset()


@given(
    pickup=st.builds(destination_point, st.just(AKWA), st.floats(0, 360), st.floats(0, 10)),
    dropoff=st.builds(destination_point, st.just(DEIDO), st.floats(0, 360), st.floats(0, 10)),
    vehicle=st.sampled_from(["taxi_jaune", "confort", "moto"]),
    minutes=st.integers(0, 7 * 24 * 60),
    zone=zones,
)
def test_quotes_read_back_equal_and_explain_themselves(
    pickup: LatLng, dropoff: LatLng, vehicle: str, minutes: int, zone: timezone
) -> None:
    pricer = Pricer(douala_config())
    with contextlib.suppress(DispatchError):  # a vehicle the city does not have
        quote = pricer.quote(
            pickup, dropoff, vehicle, (NIGHT + timedelta(minutes=minutes)).astimezone(zone)
        )
        back = quote_from_data(through_json(quote_to_data(quote)))
        assert back == quote
        assert back.breakdown == quote.breakdown
        assert sum(line.amount for line in back.breakdown) == back.estimate


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    """A finished, rated ride with both tracks, as stored."""
    clock = ManualClock(NIGHT)
    service = DispatchService(pricing=douala_config(), clock=clock)
    service.driver_online("d1", "taxi_jaune", destination_point(AKWA, 45, 0.3))
    order = service.create_order("c", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("d1", order.id)
    service.arrived("d1", order.id, operator_id="op")
    service.start_trip("d1", order.id)
    for _ in range(5):
        clock.advance(timedelta(seconds=30))
        here = service.drivers.get("d1").position
        service.update_position("d1", destination_point(here, 45, 0.3))
    service.complete_trip("d1", order.id)
    done = service.rate(Actor.customer("c"), order.id, 5, "merci")
    assert done.final_fare is not None
    assert done.trip.points
    assert done.ratings
    data: dict[str, Any] = through_json(order_to_data(done))
    return data


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths to every scalar inside ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from leaves(inner, (*path, i))
    else:
        yield path


def replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, new)}
    return [replaced(x, rest, new) if i == head else x for i, x in enumerate(data)]


JUNK = st.dictionaries(st.just("junk"), st.integers(), min_size=1)
"""A value that no field of the stored form is (no leaf is a mapping)."""


@given(data=st.data(), junk=JUNK)
def test_a_malformed_value_anywhere_is_refused_naming_its_field(
    stored: dict[str, Any], data: st.DataObject, junk: dict[str, int]
) -> None:
    paths = [p for p in leaves(stored) if p[0] != "format"]
    path = data.draw(st.sampled_from(paths), label="path")
    with pytest.raises(CodecError) as refusal:
        order_from_data(replaced(stored, path, junk), version=1)
    message = str(refusal.value)
    assert f"order {stored['id']!r}" in message if path[0] != "id" else "order" in message
    assert f"field {path[0]!r}" in message
    if len(path) == 1:
        assert repr(junk) in message


@given(
    fmt=st.none()
    | st.integers().filter(lambda n: n != FORMAT)
    | st.text(string.printable, max_size=20)
)
def test_another_format_is_refused_naming_it(stored: dict[str, Any], fmt: object) -> None:
    with pytest.raises(CodecError) as refusal:
        order_from_data({**stored, "format": fmt}, version=1)
    assert f"stored in format {fmt!r}, this code reads formats 2 to {FORMAT}" in str(refusal.value)


@given(key=st.text(max_size=10).map(lambda k: "x_" + k), value=st.integers())
def test_an_unknown_field_is_refused_naming_it(
    stored: dict[str, Any], key: str, value: int
) -> None:
    with pytest.raises(CodecError) as refusal:
        order_from_data({**stored, key: value}, version=1)
    assert f"unknown fields [{key!r}]" in str(refusal.value)


def test_missing_fields_and_other_shapes_are_refused(stored: dict[str, Any]) -> None:
    with pytest.raises(CodecError, match=r"missing fields \['quote'\]"):
        order_from_data({k: v for k, v in stored.items() if k != "quote"}, version=1)
    with pytest.raises(CodecError, match=r"expected a mapping of fields, got \[1, 2\]"):
        order_from_data([1, 2], version=1)
    with pytest.raises(CodecError, match="unknown state machine 'tram'"):
        order_from_data(replaced(stored, ("lifecycle", 0), "tram"), version=1)
    progress = {**progress_to_data(RideProgress("o9")), "arriving_sent": "yes"}
    with pytest.raises(CodecError, match=r"ride progress 'o9': field 'arriving_sent'.*'yes'"):
        progress_from_data(progress, version=1)
    with pytest.raises(CodecError, match=r"quote: field 'quote' cannot be read from \[\]"):
        quote_from_data({"format": FORMAT, "quote": []})
    assert issubclass(CodecError, DispatchError)
