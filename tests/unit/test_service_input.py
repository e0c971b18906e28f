"""What the service's commands refuse at their entry, and that a refused call changes nothing.

One test per finding of the input fuzz (issue 15): each raised a bare
Python error, or changed state, or was accepted, before the entry checks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from places import AKWA, DEIDO
from worlds import World, near_akwa

from vtc_dispatch.errors import (
    DispatchError,
    InvalidArgument,
    InvalidCommandId,
    InvalidCoordinates,
    InvalidRating,
    NotFound,
    OutOfServiceArea,
    PricingUnavailable,
)
from vtc_dispatch.fsm import RideState, Role
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import InMemoryDriverRegistry
from vtc_dispatch.order import Actor, DriverStatus
from vtc_dispatch.service import ServiceSettings
from vtc_dispatch.settings import InputLimits

HUGE = "x" * 10_000_000
PARIS = LatLng(48.8566, 2.3522)


@pytest.fixture
def world() -> World:
    return World()


def refused(world: World, error: type[DispatchError], call: Callable[[], object]) -> str:
    """Run ``call``, expect ``error``, check that nothing changed; the message."""
    before = world.snapshot()
    with pytest.raises(error) as raised:
        call()
    assert world.snapshot() == before
    return str(raised.value)


# -- actors ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["hacker", "", "Customer", "OPERATOR", " driver", None, 5])
def test_an_unknown_role_is_refused_when_the_actor_is_built(role: Any) -> None:
    with pytest.raises(InvalidArgument, match="role must be one of customer, driver, merchant, op"):
        Actor(role, "someone-else")


def test_the_texts_of_known_roles_become_the_enum() -> None:
    assert Actor("customer", "c").role is Role.CUSTOMER
    assert Actor("operator", "o") == Actor.operator("o")
    assert repr(Actor.driver("d")) == "Actor(role='driver', id='d')"


@pytest.mark.parametrize(
    "call",
    [
        lambda s, o: s.get_order(None, o),
        lambda s, o: s.get_order("c-accepted", o),
        lambda s, o: s.ride_progress(None, o),
        lambda s, o: s.cancel(None, o, "why"),
        lambda s, o: s.rate("c-accepted", o, 5),
        lambda s, o: s.current_order(None),
        lambda s, o: s.history("c-accepted"),
    ],
)
def test_an_actor_that_is_not_an_actor_is_refused(
    world: World, call: Callable[[Any, str], object]
) -> None:
    message = refused(world, InvalidArgument, lambda: call(world.service, world.orders["accepted"]))
    assert message.startswith("actor must be an Actor")


@pytest.mark.parametrize("who", ["", HUGE, 7])
def test_an_actor_with_an_empty_huge_or_non_text_id_is_refused(world: World, who: Any) -> None:
    order = world.orders["accepted"]
    message = refused(
        world, InvalidArgument, lambda: world.service.get_order(Actor.customer(who), order)
    )
    assert message.startswith("actor.id must be a non-empty text of at most 128 characters")


def test_payment_methods_of_none_is_refused(world: World) -> None:
    with pytest.raises(InvalidCoordinates, match="at must be a LatLng, got None"):
        world.service.payment_methods(None)  # type: ignore[arg-type]


# -- drivers ----------------------------------------------------------------------


@pytest.mark.parametrize("driver_id", [123, None, "", HUGE, ["amadou"]])
def test_driver_online_with_a_bad_id_stores_nothing(world: World, driver_id: Any) -> None:
    refused(
        world,
        InvalidArgument,
        lambda: world.service.driver_online(driver_id, "taxi_jaune", near_akwa(1.0)),
    )


def test_the_memory_registry_stores_a_status_only_once_the_index_took_it() -> None:
    registry = InMemoryDriverRegistry()
    status = DriverStatus(123, "taxi_jaune", AKWA, True, datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="driver_id must be a non-empty string, got 123"):
        registry.put(status)
    with pytest.raises(NotFound):
        registry.get(123)  # type: ignore[arg-type]
    assert registry.nearest_available(AKWA, 5, math.inf) == []


@pytest.mark.parametrize("driver_id", [None, 123, "", ["d-free"]])
def test_update_position_with_a_bad_id_moves_nobody(world: World, driver_id: Any) -> None:
    refused(
        world, InvalidArgument, lambda: world.service.update_position(driver_id, near_akwa(2.0))
    )


@pytest.mark.parametrize(
    "at", ["garbage", 5, datetime(2026, 11, 21, 9, 0), [datetime(2026, 11, 21, 9, 0, tzinfo=UTC)]]
)
def test_update_position_with_a_bad_time_is_refused_off_a_ride_too(world: World, at: Any) -> None:
    message = refused(
        world,
        InvalidArgument,
        lambda: world.service.update_position("d-free", near_akwa(0.3), at),
    )
    assert message.startswith("at must be a timezone-aware datetime")


def test_update_position_with_a_tuple_is_refused(world: World) -> None:
    refused(
        world,
        InvalidCoordinates,
        lambda: world.service.update_position("d-free", (4.05, 9.70)),  # type: ignore[arg-type]
    )


# -- ids of every command -----------------------------------------------------------

# Each command taking ids, and which of a driver's id and an order's id it takes.
ID_COMMANDS: dict[str, tuple[Callable[[Any, Any, Any], object], str]] = {
    "driver_online": (lambda s, d, o: s.driver_online(d, "taxi_jaune", AKWA), "d"),
    "driver_offline": (lambda s, d, o: s.driver_offline(d), "d"),
    "update_position": (lambda s, d, o: s.update_position(d, AKWA), "d"),
    "customer_rating": (lambda s, d, o: s.customer_rating(d), "d"),
    "create_order": (lambda s, d, o: s.create_order(d, AKWA, DEIDO, "taxi_jaune", "CASH"), "d"),
    "ride_progress": (lambda s, d, o: s.ride_progress(Actor.operator("ops"), o), "o"),
    "settle_payment": (lambda s, d, o: s.settle_payment(o), "o"),
    "cancel": (lambda s, d, o: s.cancel(Actor.operator("ops"), o, "why"), "o"),
    "rate": (lambda s, d, o: s.rate(Actor.customer("c-done"), o, 5), "o"),
    "get_order": (lambda s, d, o: s.get_order(Actor.operator("ops"), o), "o"),
    "search_again": (lambda s, d, o: s.search_again(d, o), "do"),
    "accept": (lambda s, d, o: s.accept(d, o), "do"),
    "reject": (lambda s, d, o: s.reject(d, o), "do"),
    "submit_bid": (lambda s, d, o: s.submit_bid(d, o, 1000), "do"),
    "accept_bid": (lambda s, d, o: s.accept_bid("c-searching", o, d), "do"),
    "arrived": (lambda s, d, o: s.arrived(d, o), "do"),
    "start_trip": (lambda s, d, o: s.start_trip(d, o), "do"),
    "complete_trip": (lambda s, d, o: s.complete_trip(d, o), "do"),
}


@pytest.mark.parametrize("name", sorted(ID_COMMANDS))
@pytest.mark.parametrize("bad", [["d-accepted"], {"id": 1}, "", HUGE, 123, None])
def test_an_id_that_is_not_a_short_text_is_refused_by_every_command(
    world: World, name: str, bad: Any
) -> None:
    command, slots = ID_COMMANDS[name]
    calls = [(bad, world.orders["accepted"])] if "d" in slots else []
    calls += [("d-accepted", bad)] if "o" in slots else []
    for driver_id, order_id in calls:
        message = refused(
            world, InvalidArgument, functools.partial(command, world.service, driver_id, order_id)
        )
        assert "must be a non-empty text of at most 128 characters, got" in message
        assert len(message) < 250


@pytest.mark.parametrize(
    ("argument", "call"),
    [
        ("vehicle_type", lambda s: s.driver_online("d-new", ["taxi_jaune"], AKWA)),
        ("vehicle_type", lambda s: s.create_order("c-new", AKWA, DEIDO, ["confort"], "CASH")),
        ("payment_method", lambda s: s.create_order("c-new", AKWA, DEIDO, "confort", ["CASH"])),
        ("operator_id", lambda s: s.arrived("d-accepted", "o", operator_id=["ops"])),
    ],
)
def test_codes_that_are_not_texts_are_refused(world: World, argument: str, call: Any) -> None:
    message = refused(world, InvalidArgument, lambda: call(world.service))
    assert message.startswith(f"{argument} must be a non-empty text")


def test_an_operator_id_that_is_empty_does_not_skip_the_arrival_distance(world: World) -> None:
    order = world.orders["accepted"]
    world.service.update_position("d-accepted", near_akwa(3.0), command_id="far")
    message = refused(
        world, InvalidArgument, lambda: world.service.arrived("d-accepted", order, operator_id="")
    )
    assert message.startswith("operator_id must be a non-empty text")
    assert world.stores.orders.get(order).state == RideState.ACCEPTED


# -- customers and orders ------------------------------------------------------------


@pytest.mark.parametrize("customer_id", [123, None, "", HUGE])
def test_create_order_for_a_bad_customer_id_is_refused(world: World, customer_id: Any) -> None:
    refused(
        world,
        InvalidArgument,
        lambda: world.service.create_order(customer_id, AKWA, DEIDO, "taxi_jaune", "CASH"),
    )


@pytest.mark.parametrize("supplements", [None, 5, [["luggage"]], "luggage", ["luggage"] * 21])
@pytest.mark.parametrize("command", ["create_order", "complete_trip"])
def test_supplements_must_be_a_short_list_of_codes(
    world: World, supplements: Any, command: str
) -> None:
    s = world.service
    call: Callable[[], object] = (
        (
            lambda: s.create_order(
                "c-new", AKWA, DEIDO, "taxi_jaune", "CASH", supplements=supplements
            )
        )
        if command == "create_order"
        else (
            lambda: s.complete_trip(
                "d-in_progress", world.orders["in_progress"], supplements=supplements
            )
        )
    )
    message = refused(world, InvalidArgument, call)
    assert message.startswith("supplements")


def test_a_trip_ending_outside_every_priced_city_is_neither_quoted_nor_dispatched(
    world: World,
) -> None:
    s = world.service
    with pytest.raises(OutOfServiceArea, match=r"^dropoff LatLng\(48.8566, 2.3522\) is outside"):
        s.search(AKWA, PARIS)
    error = refused(
        world,
        OutOfServiceArea,
        lambda: s.create_order("c-new", AKWA, PARIS, "taxi_jaune", "CASH"),
    )
    assert "dropoff LatLng(48.8566, 2.3522)" in error


@pytest.mark.parametrize("dropoff", [LatLng(-90, 0), LatLng(0.0, 9.69)])
def test_a_search_to_a_point_outside_the_cities_is_refused_with_or_without_drivers(
    dropoff: LatLng,
) -> None:
    world = World()
    with pytest.raises(OutOfServiceArea) as raised:
        world.service.search(AKWA, dropoff)
    assert (raised.value.point, raised.value.argument) == (dropoff, "dropoff")
    assert isinstance(raised.value, PricingUnavailable)  # callers catching it still do
    far_away = World()
    far_away.service.driver_offline("d-free")
    with pytest.raises(OutOfServiceArea, match="dropoff"):
        far_away.service.search(near_akwa(8.0), dropoff)


def test_a_search_from_outside_the_cities_is_refused(world: World) -> None:
    with pytest.raises(OutOfServiceArea, match=r"^pickup LatLng\(48.8566, 2.3522\)"):
        world.service.search(PARIS, AKWA)


# -- free text ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", [HUGE, "", "   ", None, 5, ["why"]])
def test_a_cancel_reason_must_be_short_non_blank_text(world: World, reason: Any) -> None:
    order = world.orders["accepted"]
    message = refused(
        world,
        InvalidArgument,
        lambda: world.service.cancel(Actor.customer("c-accepted"), order, reason),
    )
    assert message.startswith("reason must be a non-blank text of at most 500 characters")
    assert len(message) < 200


def test_text_limits_come_from_the_settings(world: World) -> None:
    world.service.settings = ServiceSettings(limits=InputLimits(text_max_chars=10, id_max_chars=20))
    order = world.orders["accepted"]
    with pytest.raises(InvalidArgument, match="at most 10 characters"):
        world.service.cancel(Actor.customer("c-accepted"), order, "eleven char")
    with pytest.raises(InvalidArgument, match="driver_id must be a non-empty text of at most 20"):
        world.service.driver_online("d" * 21, "confort", AKWA)
    assert world.service.cancel(Actor.customer("c-accepted"), order, "ten chars!").state == (
        RideState.CANCELLED
    )


@pytest.mark.parametrize("comment", [HUGE, 5, ["nice"]])
def test_a_rating_comment_must_be_short_text(world: World, comment: Any) -> None:
    refused(
        world,
        InvalidRating,
        lambda: world.service.rate(Actor.driver("d-done"), world.orders["done"], 5, comment),
    )


@pytest.mark.parametrize("stars", [True, 0, 6, 4.0, "5", None])
def test_stars_must_be_an_integer_from_1_to_5(world: World, stars: Any) -> None:
    refused(
        world,
        InvalidRating,
        lambda: world.service.rate(Actor.driver("d-done"), world.orders["done"], stars),
    )


# -- history -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "page_size", "argument"),
    [
        (0, 20, "page"),
        (-1, 20, "page"),
        ("1", 20, "page"),
        (1.5, 20, "page"),
        (math.nan, 20, "page"),
        (True, 20, "page"),
        (10**30, 20, "page"),
        (1, 0, "page_size"),
        (1, 101, "page_size"),
        (1, None, "page_size"),
        (1, False, "page_size"),
    ],
)
def test_history_pages_are_whole_numbers_in_range(
    world: World, page: Any, page_size: Any, argument: str
) -> None:
    with pytest.raises(
        InvalidArgument, match=f"^{argument} must be an integer from 1 to"
    ) as raised:
        world.service.history(Actor.customer("c-done"), page=page, page_size=page_size)
    assert raised.value.argument == argument


# -- expire_due ----------------------------------------------------------------------


@pytest.mark.parametrize("now", [datetime(2026, 11, 21, 9, 0), 5, "x", "garbage", [None], math.nan])
def test_expire_due_refuses_a_now_that_is_not_an_aware_datetime(world: World, now: Any) -> None:
    message = refused(world, InvalidArgument, lambda: world.service.expire_due(now))
    assert message.startswith("now must be a timezone-aware datetime")
    world.clock.advance(timedelta(minutes=5))  # nothing due changes the answer
    refused(world, InvalidArgument, lambda: world.service.expire_due(now))


@pytest.mark.parametrize(
    "skew", [timedelta(days=365 * 7000), timedelta(minutes=6), -timedelta(hours=2)]
)
def test_expire_due_refuses_a_now_far_from_the_clock(world: World, skew: timedelta) -> None:
    now = min(world.clock.now() + skew, datetime(9999, 1, 1, tzinfo=UTC))
    message = refused(world, InvalidArgument, lambda: world.service.expire_due(now))
    assert message.startswith("now must be within 300 s of the clock")
    assert world.stores.orders.get(world.orders["searching"]).state == RideState.SEARCHING
    # ... and the customer can still order once the real time comes.
    assert (
        world.service.cancel(
            Actor.customer("c-searching"), world.orders["searching"], "too slow"
        ).state
        == RideState.CANCELLED
    )


def test_expire_due_takes_a_now_within_the_skew(world: World) -> None:
    searching = world.orders["searching"]
    assert world.stores.orders.get(searching).offered_to == "d-searching"
    handled = world.service.expire_due(world.clock.now() + timedelta(seconds=299))
    assert handled == 1
    assert world.stores.orders.get(searching).offered_to != "d-searching"


def test_expire_due_refuses_a_command_id_that_is_not_one(world: World) -> None:
    world.clock.advance(timedelta(minutes=1))
    with pytest.raises(InvalidCommandId):
        world.service.expire_due(command_id=["tick"])  # type: ignore[arg-type]
    assert world.stores.orders.get(world.orders["searching"]).offered_to == "d-searching"


# -- the service's own settings ------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("settings", {"search_radius_km": 3}), ("pool", None), ("clock", datetime.now)],
)
def test_replacing_settings_pool_or_clock_takes_only_the_right_type(
    world: World, attribute: str, value: object
) -> None:
    before = getattr(world.service, attribute)
    with pytest.raises(InvalidArgument, match=f"^{attribute} must be a"):
        setattr(world.service, attribute, value)
    assert getattr(world.service, attribute) is before


def test_subscribe_takes_only_a_callable(world: World) -> None:
    with pytest.raises(InvalidArgument, match="listener must be a callable, got 'print'"):
        world.service.subscribe("print")  # type: ignore[arg-type]
