"""The service's side of the driver protocol (issue 14): fixes answered, a glitch that does
not poison the track, offers a driver can find again, acknowledgements, search again,
who is coming.

Each test names what ``main`` did before (they fail there)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from places import AKWA, DEIDO, T0

from vtc_dispatch.errors import Forbidden, InvalidArgument
from vtc_dispatch.events import DriverAssigned, Event
from vtc_dispatch.fsm import RideState, Role
from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.memory import InMemoryDriverProfiles, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, DriverCard, PositionAnswer
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings
from vtc_dispatch.tracking import Flag

START = destination_point(AKWA, 30.0, 1.2)  # where the driver accepts from, 1.2 km away


class Phone:
    """A service, a clock, and one driver's phone reporting every ``step_s`` seconds."""

    def __init__(self, **settings: object) -> None:
        self.clock = ManualClock(T0)
        self.notifier = RecordingNotifier()
        self.profiles = InMemoryDriverProfiles()
        self.service = DispatchService(
            pricing=douala_config(),
            settings=ServiceSettings(**settings),  # type: ignore[arg-type]
            clock=self.clock,
            notifier=self.notifier,
            profiles=self.profiles,
        )
        self.events: list[Event] = []
        self.service.subscribe(self.events.append)

    def later(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def fix(self, point: LatLng, **kw: object) -> PositionAnswer:
        return self.service.update_position("amadou", point, self.clock.now(), **kw)  # type: ignore[arg-type]

    def accepted_ride(self) -> str:
        self.service.driver_online("amadou", "taxi_jaune", START)
        order = self.service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
        self.service.accept("amadou", order.id)
        return order.id

    def drive(self, to: LatLng, steps: int, step_s: float = 10.0) -> list[PositionAnswer]:
        start = self.service.drivers.get("amadou").position
        km, bearing = haversine_km(start, to), initial_bearing_deg(start, to)
        answers = []
        for i in range(1, steps + 1):
            self.later(step_s)
            answers.append(self.fix(destination_point(start, bearing, km * i / steps)))
        return answers


# -- fixes are answered ------------------------------------------------------------------


def test_every_fix_is_answered_and_a_refused_one_says_why() -> None:
    """main answered every fix with None: a refused fix looked like an accepted one."""
    phone = Phone()
    order_id = phone.accepted_ride()
    phone.later(10)
    assert phone.fix(destination_point(START, 210, 0.1)) == PositionAnswer(True)
    phone.later(10)
    far = phone.fix(destination_point(START, 210, 5.0))
    assert far == PositionAnswer(False, "jump")
    stale = phone.service.update_position("amadou", START, phone.clock.now() - timedelta(minutes=5))
    assert stale == PositionAnswer(False, "stale")
    progress = phone.service.ride_progress(Actor.driver("amadou"), order_id)
    assert [p.flag for p in progress.approach.points] == [None, Flag.JUMP, Flag.STALE]


def test_an_inaccurate_fix_does_not_move_the_driver_but_keeps_him_present() -> None:
    """main had no accuracy: a 2 km cell-tower fix moved the driver."""
    phone = Phone(accuracy_max_m=50)
    phone.service.driver_online("amadou", "taxi_jaune", START)
    phone.later(50)
    answer = phone.fix(destination_point(START, 0, 2.0), accuracy_m=1800.0)
    assert answer == PositionAnswer(False, "inaccurate")
    status = phone.service.drivers.get("amadou")
    assert (status.position, status.seen_at) == (START, phone.clock.now())
    assert phone.fix(destination_point(START, 0, 0.05), accuracy_m=12.0).accepted
    with pytest.raises(InvalidArgument, match="accuracy_m must be"):
        phone.fix(START, accuracy_m=-3.0)


def test_the_first_fix_after_accepting_is_checked_against_where_he_accepted_from() -> None:
    """main took the first fix of the way as it came: one 3 km glitch became the driver's
    position, the next real fixes were set aside as jumps and arrival was refused
    ("the driver is 2 563 m from the pickup")."""
    phone = Phone(arrive_radius_km=0.1)
    order_id = phone.accepted_ride()
    phone.later(5)
    glitch = phone.fix(destination_point(AKWA, 200, 3.0))
    assert glitch == PositionAnswer(False, "jump")
    assert phone.service.drivers.get("amadou").position == START
    answers = phone.drive(AKWA, steps=6, step_s=20)
    assert all(a.accepted for a in answers), answers
    assert phone.service.arrived("amadou", order_id).state == RideState.ARRIVED


def test_a_glitch_taken_before_the_ride_is_healed_by_consistent_fixes() -> None:
    """The position he accepted from was itself a glitch: real fixes are jumps from it until
    three of them agree; the track then resynchronises to them and records why."""
    phone = Phone(arrive_radius_km=0.1, resync_fixes=3)
    phone.service.driver_online("amadou", "taxi_jaune", START)
    phone.later(5)
    phone.fix(destination_point(START, 200, 3.0))  # a glitch: he is really near START
    phone.later(5)
    order = phone.service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    phone.service.accept("amadou", order.id)
    real = [destination_point(START, 210, 0.05 * i) for i in range(1, 4)]
    answers = []
    for point in real:
        phone.later(10)
        answers.append(phone.fix(point))
    assert [(a.accepted, a.reason, a.resync) for a in answers] == [
        (False, "jump", False),
        (False, "jump", False),
        (True, None, True),
    ]
    assert phone.service.drivers.get("amadou").position == real[-1]
    track = phone.service.ride_progress(Actor.driver("amadou"), order.id).approach
    assert [(p.flag, p.resync) for p in track.points] == [
        (None, True),
        (None, False),
        (None, False),
    ]
    assert track.distance_km == pytest.approx(haversine_km(real[0], real[-1]), rel=1e-6)
    phone.drive(AKWA, steps=8, step_s=20)
    assert phone.service.arrived("amadou", order.id).state == RideState.ARRIVED


def test_a_fix_from_a_driver_put_offline_says_he_is_offline_and_why() -> None:
    phone = Phone(presence_timeout_s=60, offline_after_s=300)
    phone.service.driver_online("amadou", "taxi_jaune", START)
    phone.later(301)
    phone.service.expire_due()
    answer = phone.fix(START)
    assert answer == PositionAnswer(False, "offline", offline_reason="silent")
    phone.service.driver_offline("amadou")
    assert phone.fix(START) == PositionAnswer(False, "offline")


def test_a_fix_sent_again_with_its_command_id_is_answered_duplicate() -> None:
    phone = Phone()
    phone.service.driver_online("amadou", "taxi_jaune", START)
    assert phone.service.update_position("amadou", START, command_id="fix-1").accepted
    again = phone.service.update_position("amadou", START, command_id="fix-1")
    assert again == PositionAnswer(False, "duplicate")


# -- offers reach the driver -----------------------------------------------------------------


def test_a_driver_finds_his_live_offer_with_the_time_left() -> None:
    """main had no way to ask: a driver who connected after the offer never saw it."""
    phone = Phone()
    phone.service.driver_online("amadou", "taxi_jaune", START)
    order = phone.service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    phone.later(12)
    state = phone.service.driver_state("amadou")
    assert state.offer is not None
    assert state.order is not None
    assert (state.offer.order_id, state.order.id) == (order.id, order.id)
    assert state.offer.timeout_s == pytest.approx(30.0 - 12.0)
    assert state.offer.expires_at == order.offer_expires_at
    assert (state.offer.fare_min, state.offer.fare_max) == (
        order.quote.minimum,
        order.quote.maximum,
    )
    # The offered driver may read the order (main: Forbidden while the offer was live).
    assert phone.service.get_order(Actor.driver("amadou"), order.id).id == order.id
    with pytest.raises(Forbidden):
        phone.service.cancel(Actor.driver("amadou"), order.id, "not mine")
    phone.later(20)  # the offer expired: nothing left to show
    assert phone.service.driver_state("amadou").offer is None
    assert phone.service.driver_state("nobody").status is None


def test_a_driver_on_a_ride_finds_it_and_a_retried_accept_answers_the_same() -> None:
    phone = Phone()
    order_id = phone.accepted_ride()
    state = phone.service.driver_state("amadou")
    assert (state.offer, state.order and state.order.id) == (None, order_id)
    again = phone.service.accept("amadou", order_id)
    assert (again.state, again.driver_id) == (RideState.ACCEPTED, "amadou")


# -- search again, who is coming -----------------------------------------------------------


def test_a_customer_searches_again_or_places_a_new_order_after_no_driver_found() -> None:
    """main refused the new order: "already has an active order"."""
    phone = Phone()
    first = phone.service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert first.state == RideState.NO_DRIVER
    phone.service.driver_online("amadou", "taxi_jaune", START)
    again = phone.service.search_again("chantal", first.id)
    assert (again.state, again.offered_to) == (RideState.SEARCHING, "amadou")
    phone.service.reject("amadou", first.id)
    assert phone.service.orders.get(first.id).state == RideState.NO_DRIVER
    second = phone.service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert second.offered_to == "amadou"
    replaced = phone.service.orders.get(first.id)
    assert replaced.state == RideState.CANCELLED
    assert replaced.cancellation is not None
    assert replaced.cancellation.by.role == Role.SYSTEM
    assert replaced.cancellation.fee == 0
    assert phone.service.current_order(Actor.customer("chantal")) == second
    with pytest.raises(Forbidden, match="already has an active order"):
        phone.service.create_order("chantal", AKWA, DEIDO, "confort", "CASH")


def test_driver_assigned_says_who_is_coming() -> None:
    """main's driver_assigned had no name, phone, plate, vehicle nor rating."""
    phone = Phone()
    phone.profiles.add(
        DriverCard("amadou", name="Amadou B.", phone="+237 699 000 000",
                   vehicle="Toyota Corolla, yellow", plate="LT 123 AB")
    )  # fmt: skip
    phone.accepted_ride()
    [assigned] = [e for e in phone.events if isinstance(e, DriverAssigned)]
    assert assigned.driver == DriverCard(
        "amadou", "Amadou B.", "+237 699 000 000", "Toyota Corolla, yellow", "LT 123 AB", None
    )
    [message] = [
        m
        for m in phone.notifier.messages_for("customer", "chantal")
        if m.type == "driver_assigned"  # type: ignore[attr-defined]
    ]
    assert message.driver.plate == "LT 123 AB"  # type: ignore[attr-defined]
    assert phone.service.driver_card("brice") == DriverCard("brice")


def test_presence_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"offline_after_s \(60.0\) must be at least"):
        ServiceSettings(presence_timeout_s=120, offline_after_s=60)
    assert ServiceSettings(presence_timeout_s=None).presence_timeout_s is None
