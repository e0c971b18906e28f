"""The core's JSON forms of the search screen and of an order: plain JSON, true to their schema.

Search lines are random (counts, caps, distances, quotes of random trips
around Douala); orders are built by the service along random rides, and
each is looked at by its customer, a driver and an operator.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
from hypothesis import event, given, settings
from hypothesis import strategies as st

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.presentation import OperatorOrderView, OrderView, order_json, order_view
from vtc_dispatch.pricing import Pricer, douala_config
from vtc_dispatch.service import Availability, DispatchService
from vtc_dispatch.wire import (
    StateMessage,
    drivers_available,
    json_schemas,
    parse_customer_outbound,
    parse_driver_outbound,
)

T0 = datetime(2026, 11, 21, 21, 50, tzinfo=UTC)
AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)
PRICER = Pricer(douala_config())
SCHEMAS = json_schemas()


def conforms(data: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema).validate(data)


def plain_json(data: Any) -> None:
    """``data`` is what ``json.dumps`` writes and ``json.loads`` gives back, unchanged."""
    assert json.loads(json.dumps(data, allow_nan=False)) == data


around_douala = st.builds(
    lambda bearing, km: destination_point(AKWA, bearing, km),
    st.floats(0, 360, allow_nan=False),
    st.floats(0, 8, allow_nan=False),
)
lines = st.builds(
    lambda vehicle_type, trip, count, capped, km, eta: Availability(
        vehicle_type=vehicle_type,
        label=PRICER.config.vehicle_types[vehicle_type].label,
        count=count,
        nearest_km=km,
        eta_s=eta,
        quote=PRICER.quote(trip[0], trip[1], vehicle_type, T0),
        count_capped=capped,
    ),
    st.sampled_from(sorted(PRICER.config.vehicle_types)),
    st.tuples(around_douala, around_douala),
    st.integers(1, 10_000),
    st.booleans(),
    st.floats(0, 50, allow_nan=False),
    st.floats(0, 7_200, allow_nan=False),
)


@settings(deadline=None)
@given(st.lists(lines, max_size=4))
def test_the_search_screen_is_plain_json_true_to_its_schema(found: list[Availability]) -> None:
    screen = drivers_available(found)
    data = screen.model_dump(mode="json")
    plain_json(data)
    conforms(data, SCHEMAS["drivers_available"])
    assert parse_customer_outbound(json.dumps(data)) == screen
    for line, shown in zip(found, data["vehicle_types"], strict=True):
        assert (shown["count"], shown["count_capped"]) == (line.count, line.count_capped)
        assert shown["fare_min"] == format(line.quote.minimum, "f")
        assert abs(shown["nearest_km"] - line.nearest_km) <= 0.0005
        assert shown["eta_s"] == math.ceil(line.eta_s)  # never earlier than expected


@contextlib.contextmanager
def refused() -> Iterator[None]:
    with contextlib.suppress(DispatchError):
        yield


def ride(steps: list[str]) -> Order:
    """An order taken through ``steps`` by a customer and three taxis (refused steps skipped)."""
    clock = ManualClock(T0)
    service = DispatchService(pricing=douala_config(), clock=clock)
    for i in range(3):
        service.driver_online(f"d{i}", "taxi_jaune", destination_point(AKWA, 120 * i, 0.2 * i))
    order = service.create_order("c", AKWA, DEIDO, "taxi_jaune", "CASH")
    for step in steps:
        order = service.orders.get(order.id)
        driver = order.driver_id or order.offered_to or "d0"
        with refused():
            if step == "wait":
                clock.advance(timedelta(seconds=40))
                service.expire_due()
            elif step in ("accept", "reject"):
                getattr(service, step)(driver, order.id)
            elif step == "arrive":
                service.update_position(driver, AKWA)
                service.arrived(driver, order.id)
            elif step == "start":
                service.start_trip(driver, order.id)
            elif step == "complete":
                clock.advance(timedelta(minutes=12))
                service.update_position(driver, DEIDO)
                service.complete_trip(driver, order.id)
            elif step == "rate":
                service.rate(Actor.customer("c"), order.id, 4, "merci")
                service.rate(Actor.driver(driver), order.id, 5)
            elif step == "cancel":
                service.cancel(Actor.customer("c"), order.id, "changed my mind")
    return service.orders.get(order.id)


ONWARD = ["accept", "arrive", "start", "complete", "rate"]
STEPS = st.tuples(
    # The ride taken some way, then anything: so that runs end in every state.
    st.integers(0, len(ONWARD)),
    st.lists(st.sampled_from([*ONWARD, "reject", "wait", "cancel"]), max_size=6),
).map(lambda parts: ONWARD[: parts[0]] + parts[1])


@settings(deadline=None, max_examples=40)
@given(STEPS, st.sampled_from(["d0", "d1", "d2"]))
def test_an_order_is_plain_json_true_to_its_schema_for_every_viewer(
    steps: list[str], driver: str
) -> None:
    order = ride(steps)
    event(f"state {order.state}")
    operator = order_json(order, Actor.operator("op"))
    plain_json(operator)
    conforms(operator, OperatorOrderView.model_json_schema(mode="serialization"))
    back = OperatorOrderView.model_validate_json(json.dumps(operator))
    assert back.model_dump(mode="json") == operator
    for viewer in (Actor.customer("c"), Actor.driver(driver)):
        data = order_json(order, viewer)
        plain_json(data)
        conforms(data, OrderView.model_json_schema(mode="serialization"))
        # What the parties see, the operator sees too, but for the offer and bids.
        assert {k: v for k, v in operator.items() if k in data and k not in ("offer", "bids")} == {
            k: v for k, v in data.items() if k not in ("offer", "bids")
        }
        if viewer.role == "driver":  # his own offer and bid only
            assert data["offer"] is None or data["offer"]["driver_id"] == driver
            assert {b["driver_id"] for b in data["bids"]} <= {driver}
        # The same form inside the websocket's first message.
        state = StateMessage(order=order_view(order, viewer))
        text = state.model_dump_json()
        conforms(json.loads(text), SCHEMAS["state"])
        assert json.loads(text)["order"] == data
        parse = parse_driver_outbound if viewer.role == "driver" else parse_customer_outbound
        assert parse(text) == state
