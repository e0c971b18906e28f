"""Every public command of DispatchService, driven with arbitrary bad values.

Each argument is either a valid value of a world with rides in every state
(:mod:`worlds`) or garbage: wrong types, empty and huge texts, lists,
naive datetimes, points outside every priced city, actors of the wrong
party.  Whatever happens, only :class:`~vtc_dispatch.errors.DispatchError`
subclasses may escape, and a refused call leaves orders, drivers,
positions, progress, wallets, statistics, ratings, the command log, the
quotes and the messages sent exactly as they were.
"""

from __future__ import annotations

import inspect
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from places import AKWA, DEIDO
from worlds import World, near_akwa

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import Actor, Fix, ProofOfDelivery
from vtc_dispatch.payments import PaymentOutcome
from vtc_dispatch.service import DispatchService

STATES = ("done", "in_progress", "accepted", "searching")
GARBAGE_IDS = st.sampled_from(["", "ghost", "x" * 129, 7])
PARTIES = (*STATES, "free")


@attrs.frozen
class Ref:
    """A valid value of the world, found when the call is made (order ids are random)."""

    kind: str
    key: str

    def resolve(self, world: World) -> object:
        if self.kind == "order":
            return world.orders[self.key]
        if self.kind == "driver":
            return world.drivers[self.key]
        if self.kind == "customer":
            return world.customers[self.key]
        if self.kind == "now":
            return world.clock.now() + timedelta(seconds=float(self.key))
        if self.kind == "outcome":
            state, _, paid = self.key.partition(":")
            order_id = world.orders[state]
            return PaymentOutcome(order_id, "ref-1", paid == "True", Decimal(1500), "XAF")
        role, _, party = self.key.partition(":")
        ids = world.drivers if role == "driver" else world.customers
        return Actor(role, ids.get(party, party))


@attrs.frozen
class FixesRef:
    """A batch of fixes of the world's drivers (some of them bad), built when the call is made."""

    items: tuple[tuple[object, object, object], ...]

    def resolve(self, world: World) -> object:
        return [
            Fix(_resolved(world, driver), point, None, accuracy)  # type: ignore[arg-type]
            for driver, point, accuracy in self.items
        ]


def _refs(kind: str, keys: tuple[str, ...]) -> st.SearchStrategy[object]:
    return st.sampled_from([Ref(kind, key) for key in keys])


actors = st.sampled_from(
    [Ref("actor", f"{role}:{party}") for role in ("customer", "driver") for party in PARTIES]
    + [Ref("actor", "operator:ops"), Ref("actor", "system:sys")]
)

VALID: dict[str, st.SearchStrategy[object]] = {
    "driver_id": _refs("driver", PARTIES),
    "customer_id": _refs("customer", STATES) | st.just("c-new"),
    "order_id": _refs("order", STATES),
    "operator_id": st.sampled_from([None, "ops"]),
    "vehicle_type": st.sampled_from(["taxi_jaune", "confort"]),
    "payment_method": st.sampled_from(["CASH", "WALLET"]),
    "point": st.sampled_from([AKWA, DEIDO, near_akwa(0.05), near_akwa(1.0, 45)]),
    "actor": actors,
    "reason": st.sampled_from(["changed my mind", "flat tyre"]),
    "stars": st.integers(1, 5),
    "comment": st.sampled_from([None, "kind", ""]),
    "page": st.integers(1, 3),
    "page_size": st.integers(1, 100),
    "supplements": st.sampled_from([(), ["luggage"]]),
    "at": st.just(None) | st.builds(lambda s: Ref("now", str(s)), st.integers(-30, 5)),
    "now": st.just(None) | st.builds(lambda s: Ref("now", str(s)), st.integers(-60, 60)),
    "amount": st.sampled_from([Decimal(1500), Decimal("2000.50")]),
    "command_id": st.sampled_from([None, "cmd-1", "cmd-2"]),
    "accuracy": st.sampled_from([None, 0, 5.0, 80.0]),
    "listener": st.just(lambda event: None),
    "method": st.sampled_from(["OM", "WAVE"]),
    "outcome": st.builds(
        lambda ref, paid: Ref("outcome", f"{ref.key}:{paid}"),
        _refs("order", STATES),
        st.booleans(),
    ),
}
VALID["proof"] = st.builds(
    lambda point, code: ProofOfDelivery(point, datetime(2026, 11, 21, 9, 0, tzinfo=UTC), code),
    VALID["point"],
    st.sampled_from([None, "123456"]),
)
VALID["merchant_id"] = st.sampled_from([None, "chez-mama"])
VALID["goods_amount"] = st.sampled_from([None, Decimal(4500)])
VALID["valid_for_s"] = st.sampled_from([None, 60.0, 900.0])
VALID["event"] = st.sampled_from(["confirm", "prepare", "mark_ready"])
VALID["radius"] = st.sampled_from([0.5, 3.0, 10.0])
VALID["period"] = st.sampled_from(
    ["today", "7d", "30d", (date(2026, 11, 1), date(2026, 11, 30)), (None, date(2026, 11, 21))]
)
VALID["vehicle_types"] = st.sampled_from([["taxi_jaune"], ["taxi_jaune", "confort"]])
VALID["limit"] = st.integers(1, 50)
VALID["flag"] = st.booleans()
VALID["note"] = st.sampled_from([None, "complaints"])
VALID["fixes"] = st.builds(
    FixesRef,
    st.lists(
        st.tuples(
            VALID["driver_id"] | GARBAGE_IDS,
            VALID["point"],
            VALID["accuracy"] | st.just(-1.0),
        ),
        max_size=5,
    ).map(tuple),
)

GARBAGE: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -0.0]),
    st.text(max_size=4),
    st.sampled_from(["", " ", "\n", "x" * 129, "y" * 501, "z" * 1_000_000]),
    st.lists(st.text(max_size=3), max_size=2),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.binary(max_size=4),
    st.decimals(),
    st.datetimes(),
    st.sampled_from([datetime(9999, 1, 1).astimezone(), datetime(1, 1, 2).astimezone()]),
    st.sampled_from([LatLng(-90, 0), LatLng(48.85, 2.35), LatLng(0.0, 9.69)]),
    st.sampled_from(["hacker", "customer", "Customer", "ops", "c-done", "d-done"]),
    st.sampled_from([(), [], {}, set(), frozenset({"a"}), object()]),
    actors,
    _refs("order", STATES),
)

# Each public method of the service and the kind of each argument.
COMMANDS: dict[str, dict[str, str]] = {
    "subscribe": {"listener": "listener"},
    "driver_online": {
        "driver_id": "driver_id",
        "vehicle_type": "vehicle_type",
        "position": "point",
        "command_id": "command_id",
    },
    "driver_offline": {"driver_id": "driver_id", "command_id": "command_id"},
    "suspend_driver": {
        "actor": "actor",
        "driver_id": "driver_id",
        "suspended": "flag",
        "reason": "note",
        "command_id": "command_id",
    },
    "update_position": {
        "driver_id": "driver_id",
        "position": "point",
        "at": "at",
        "accuracy_m": "accuracy",
        "command_id": "command_id",
    },
    "ping": {"driver_id": "driver_id"},
    "driver_unreachable": {"driver_id": "driver_id", "heard_until": "at"},
    "driver_state": {"driver_id": "driver_id"},
    "driver_card": {"driver_id": "driver_id"},
    "ride_progress": {"actor": "actor", "order_id": "order_id"},
    "search": {"pickup": "point", "dropoff": "point"},
    "payment_methods": {"at": "point"},
    "count_available": {"at": "point"},
    "create_order": {
        "customer_id": "customer_id",
        "pickup": "point",
        "dropoff": "point",
        "vehicle_type": "vehicle_type",
        "payment_method": "payment_method",
        "supplements": "supplements",
        "merchant_id": "merchant_id",
        "goods_amount": "goods_amount",
        "command_id": "command_id",
    },
    "search_again": {
        "customer_id": "customer_id",
        "order_id": "order_id",
        "command_id": "command_id",
    },
    "accept": {"driver_id": "driver_id", "order_id": "order_id", "command_id": "command_id"},
    "reject": {"driver_id": "driver_id", "order_id": "order_id", "command_id": "command_id"},
    "submit_bid": {
        "driver_id": "driver_id",
        "order_id": "order_id",
        "amount": "amount",
        "valid_for_s": "valid_for_s",
        "command_id": "command_id",
    },
    "accept_bid": {
        "customer_id": "customer_id",
        "order_id": "order_id",
        "driver_id": "driver_id",
        "command_id": "command_id",
    },
    "expire_due": {"now": "now", "command_id": "command_id"},
    "arrived": {
        "driver_id": "driver_id",
        "order_id": "order_id",
        "operator_id": "operator_id",
        "command_id": "command_id",
    },
    "start_trip": {"driver_id": "driver_id", "order_id": "order_id", "command_id": "command_id"},
    "complete_trip": {
        "driver_id": "driver_id",
        "order_id": "order_id",
        "supplements": "supplements",
        "command_id": "command_id",
    },
    "settle_payment": {"order_id": "order_id", "command_id": "command_id"},
    "confirm_cash": {"driver_id": "driver_id", "order_id": "order_id", "command_id": "command_id"},
    "mark_paid": {"actor": "actor", "order_id": "order_id", "command_id": "command_id"},
    "payment_started": {
        "customer_id": "customer_id",
        "order_id": "order_id",
        "command_id": "command_id",
    },
    "payment_result": {"method": "method", "outcome": "outcome", "command_id": "command_id"},
    "cancel": {
        "actor": "actor",
        "order_id": "order_id",
        "reason": "reason",
        "command_id": "command_id",
    },
    "rate": {
        "actor": "actor",
        "order_id": "order_id",
        "stars": "stars",
        "comment": "comment",
        "command_id": "command_id",
    },
    "customer_rating": {"customer_id": "customer_id"},
    "get_order": {"actor": "actor", "order_id": "order_id"},
    "current_order": {"actor": "actor"},
    "history": {"actor": "actor", "page": "page", "page_size": "page_size"},
    "dashboard": {"actor": "actor", "period": "period"},
    "update_positions": {"fixes": "fixes"},
    # Freight and deliveries (the world's orders are rides: these are refused as
    # commands of another kind, or for their bad values).
    "post_load": {"actor": "actor", "order_id": "order_id", "command_id": "command_id"},
    "depart": {"driver_id": "driver_id", "order_id": "order_id", "command_id": "command_id"},
    "deliver": {
        "driver_id": "driver_id",
        "order_id": "order_id",
        "proof": "proof",
        "command_id": "command_id",
    },
    "confirm_delivery": {"actor": "actor", "order_id": "order_id", "command_id": "command_id"},
    "dispute": {
        "actor": "actor",
        "order_id": "order_id",
        "reason": "reason",
        "command_id": "command_id",
    },
    "resolve_dispute": {
        "operator_id": "operator_id",
        "order_id": "order_id",
        "reason": "reason",
        "command_id": "command_id",
    },
    "merchant_update": {
        "actor": "actor",
        "order_id": "order_id",
        "event": "event",
        "command_id": "command_id",
    },
    "route": {"actor": "actor", "order_id": "order_id"},
    "pings": {"actor": "actor", "order_id": "order_id"},
    "drivers_near": {
        "at": "point",
        "radius_km": "radius",
        "vehicle_types": "vehicle_types",
        "limit": "limit",
    },
}


def _resolved(world: World, value: object) -> object:
    return value.resolve(world) if isinstance(value, Ref | FixesRef) else value


def test_every_public_command_is_driven() -> None:
    public = {
        name
        for name, member in inspect.getmembers(DispatchService)
        if not name.startswith("_") and inspect.isfunction(member)
    }
    assert public == set(COMMANDS)
    for name, kinds in COMMANDS.items():
        parameters = inspect.signature(getattr(DispatchService, name)).parameters
        assert set(kinds) == set(parameters) - {"self"}, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
@given(data=st.data())
def test_bad_values_raise_dispatch_errors_and_change_nothing(name: str, data: Any) -> None:
    world = World()
    kinds = COMMANDS[name]
    for _ in range(data.draw(st.integers(1, 4), label="calls")):
        bad = data.draw(st.sets(st.sampled_from(sorted(kinds)), max_size=len(kinds)), label="bad")
        arguments = {
            argument: data.draw(GARBAGE if argument in bad else VALID[kind], label=argument)
            for argument, kind in kinds.items()
        }
        before = world.snapshot()
        message = _refusal(world, name, arguments)
        if message is not None:
            assert len(message) < 1000  # values are quoted cut, never whole
            assert world.snapshot() == before


def _refusal(world: World, name: str, arguments: dict[str, object]) -> str | None:
    """The message of the DispatchError the call raised, ``None`` if it was done."""
    try:
        getattr(world.service, name)(
            **{argument: _resolved(world, value) for argument, value in arguments.items()}
        )
    except DispatchError as error:
        return str(error)
    return None
