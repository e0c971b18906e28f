"""The presets: the ride table checked cell by cell, and the freight and delivery lifecycles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest
from places import T0

from vtc_dispatch.errors import Forbidden, InvalidTransition
from vtc_dispatch.fsm import (
    DELIVERY,
    FREIGHT,
    RIDE,
    DeliveryEvent,
    DeliveryState,
    FreightEvent,
    FreightState,
    Lifecycle,
    RideEvent,
    RideState,
    Role,
    StateMachine,
)
from vtc_dispatch.fsm import presets as preset_module

S, E, R = RideState, RideEvent, Role

# Written out by hand so that any change to the preset shows up here:
# (state, event) -> (target, roles that may fire it).
RIDE_TABLE: dict[tuple[str, str], tuple[str, set[str]]] = {
    (S.DRAFT, E.SEARCH): (S.SEARCHING, {R.CUSTOMER, R.SYSTEM}),
    (S.DRAFT, E.CANCEL): (S.CANCELLED, {R.CUSTOMER, R.OPERATOR, R.SYSTEM}),
    (S.SEARCHING, E.ACCEPT): (S.ACCEPTED, {R.DRIVER}),
    (S.SEARCHING, E.NO_DRIVER): (S.NO_DRIVER, {R.SYSTEM}),
    (S.SEARCHING, E.CANCEL): (S.CANCELLED, {R.CUSTOMER, R.OPERATOR, R.SYSTEM}),
    (S.NO_DRIVER, E.SEARCH_AGAIN): (S.SEARCHING, {R.CUSTOMER}),
    (S.NO_DRIVER, E.CANCEL): (S.CANCELLED, {R.CUSTOMER, R.OPERATOR, R.SYSTEM}),
    (S.ACCEPTED, E.REQUEUE): (S.SEARCHING, {R.SYSTEM}),
    (S.ACCEPTED, E.ARRIVE): (S.ARRIVED, {R.DRIVER, R.OPERATOR}),
    (S.ACCEPTED, E.CANCEL): (S.CANCELLED, {R.CUSTOMER, R.DRIVER, R.OPERATOR}),
    (S.ARRIVED, E.START): (S.IN_PROGRESS, {R.DRIVER}),
    (S.ARRIVED, E.CANCEL): (S.CANCELLED, {R.CUSTOMER, R.DRIVER, R.OPERATOR}),
    (S.IN_PROGRESS, E.COMPLETE): (S.DONE, {R.DRIVER, R.OPERATOR}),
    (S.IN_PROGRESS, E.CANCEL): (S.CANCELLED, {R.OPERATOR}),
}
RIDE_ROLES = [R.CUSTOMER, R.DRIVER, R.OPERATOR, R.SYSTEM]


def at_state(machine: StateMachine, state: str) -> Lifecycle:
    """A lifecycle as read back from storage, sitting in ``state``."""
    return Lifecycle(
        machine=machine,
        subject_id="o-1",
        state=state,
        history=(),
        entered_at={state: T0},
        created_at=T0,
    )


def run(machine: StateMachine, steps: Sequence[tuple[str, str]], **context: object) -> Lifecycle:
    life = machine.start("o-1", T0)
    for minute, (event, actor) in enumerate(steps, start=1):
        life = life.fire(
            event, actor=actor, at=T0 + timedelta(minutes=minute), context=context or None
        )
    return life


# -- ride -------------------------------------------------------------------------------


def test_the_ride_has_the_states_of_the_design() -> None:
    assert RIDE.states == {s.value for s in RideState}
    assert RIDE.initial == "draft"
    assert RIDE.terminal == {"done", "cancelled"}
    assert set(RIDE.roles) == set(RIDE_ROLES)
    assert {e.value for e in RideEvent} == {t.event for t in RIDE.transitions}


@pytest.mark.parametrize("state", list(RideState))
def test_every_state_event_and_role_of_the_ride_matches_the_table(state: RideState) -> None:
    life = at_state(RIDE, state)
    for event in RideEvent:
        target, roles = RIDE_TABLE.get((state, event), ("", set()))
        for role in RIDE_ROLES:
            assert life.can_fire(event, role) is (role in roles), (state, event, role)
            if role in roles:
                assert life.fire(event, actor=role, at=T0).state == target
        assert life.can_fire(event) is bool(roles), (state, event)


def test_the_ride_happy_path() -> None:
    ride = run(
        RIDE,
        [
            (E.SEARCH, R.CUSTOMER),
            (E.ACCEPT, R.DRIVER),
            (E.ARRIVE, R.DRIVER),
            (E.START, R.DRIVER),
            (E.COMPLETE, R.DRIVER),
        ],
    )
    assert ride.state == S.DONE
    assert ride.is_terminal
    assert [(h.source, h.target) for h in ride.history] == [
        ("draft", "searching"),
        ("searching", "accepted"),
        ("accepted", "arrived"),
        ("arrived", "in_progress"),
        ("in_progress", "done"),
    ]
    assert ride.time_in(S.IN_PROGRESS) == T0 + timedelta(minutes=4)
    assert ride.time_in(S.NO_DRIVER) is None


REACH = {
    S.DRAFT: [],
    S.SEARCHING: [(E.SEARCH, R.SYSTEM)],
    S.NO_DRIVER: [(E.SEARCH, R.SYSTEM), (E.NO_DRIVER, R.SYSTEM)],
    S.ACCEPTED: [(E.SEARCH, R.SYSTEM), (E.ACCEPT, R.DRIVER)],
    S.ARRIVED: [(E.SEARCH, R.SYSTEM), (E.ACCEPT, R.DRIVER), (E.ARRIVE, R.OPERATOR)],
    S.IN_PROGRESS: [
        (E.SEARCH, R.SYSTEM),
        (E.ACCEPT, R.DRIVER),
        (E.ARRIVE, R.DRIVER),
        (E.START, R.DRIVER),
    ],
}
CANCEL_PATHS = [(state, role) for state in REACH for role in RIDE_ROLES]


@pytest.mark.parametrize(("state", "role"), CANCEL_PATHS)
def test_every_cancel_path_of_the_ride(state: RideState, role: Role) -> None:
    ride = run(RIDE, REACH[state])
    assert ride.state == state
    allowed = role in RIDE_TABLE[(state, E.CANCEL)][1]
    if allowed:
        cancelled = ride.fire(E.CANCEL, actor=role, at=T0 + timedelta(hours=1), reason="changed")
        assert cancelled.state == S.CANCELLED
        assert cancelled.history[-1].source == state
        assert cancelled.history[-1].reason == "changed"
        assert cancelled.allowed_events() == []
    else:
        with pytest.raises(Forbidden, match=f"role '{role}' may not 'cancel'"):
            ride.fire(E.CANCEL, actor=role, at=T0 + timedelta(hours=1))


def test_a_cancelled_or_done_ride_cannot_be_cancelled() -> None:
    for state in (S.DONE, S.CANCELLED):
        with pytest.raises(InvalidTransition, match="the state is terminal"):
            at_state(RIDE, state).fire(E.CANCEL, actor=R.OPERATOR, at=T0)


def test_no_driver_then_the_customer_searches_again() -> None:
    ride = run(
        RIDE,
        [
            (E.SEARCH, R.CUSTOMER),
            (E.NO_DRIVER, R.SYSTEM),
            (E.SEARCH_AGAIN, R.CUSTOMER),
            (E.ACCEPT, R.DRIVER),
        ],
    )
    assert ride.state == S.ACCEPTED
    assert ride.time_in(S.SEARCHING) == T0 + timedelta(minutes=3)
    assert ride.time_in(S.NO_DRIVER) == T0 + timedelta(minutes=2)


def test_a_driver_withdrawing_sends_the_ride_back_to_the_pool() -> None:
    ride = run(RIDE, [(E.SEARCH, R.CUSTOMER), (E.ACCEPT, R.DRIVER), (E.REQUEUE, R.SYSTEM)])
    assert ride.state == S.SEARCHING
    assert ride.fire(E.ACCEPT, actor=R.DRIVER, at=T0 + timedelta(hours=1)).state == S.ACCEPTED


def _documented_table(machine_name: str) -> set[tuple[str, frozenset[str], str, frozenset[str]]]:
    doc = preset_module.__doc__ or ""
    block = doc.split(f"\n{machine_name},", 1)[1].split("::\n\n", 1)[1].split("\n\n", 1)[0]
    table = set()
    for row in block.splitlines()[2:]:
        event, sources, target, roles = (cell.strip() for cell in row.split("|"))
        table.add(
            (
                event,
                frozenset(re.split(r",\s*", sources)),
                target,
                frozenset(re.split(r",\s*", roles)),
            )
        )
    return table


@pytest.mark.parametrize(
    ("name", "machine"), [("RIDE", RIDE), ("FREIGHT", FREIGHT), ("DELIVERY", DELIVERY)]
)
def test_the_documented_table_is_the_definition(name: str, machine: StateMachine) -> None:
    defined = {(t.event, t.sources, t.target, t.actors) for t in machine.transitions}
    assert _documented_table(name) == defined
    assert len(_documented_table(name)) == len(machine.transitions)


# -- freight ----------------------------------------------------------------------------

FS, FE = FreightState, FreightEvent
BIDDING = [(FE.POST, R.CUSTOMER), (FE.SEARCH, R.SYSTEM)]
ASSIGNED = [*BIDDING, (FE.ACCEPT, R.DRIVER)]
IN_TRANSIT = [*ASSIGNED, (FE.ARRIVE, R.DRIVER), (FE.START, R.DRIVER), (FE.DEPART, R.DRIVER)]


@attrs.frozen
class Delivery:
    proof_of_delivery: str | None


def test_freight_from_draft_to_completed() -> None:
    load = run(FREIGHT, IN_TRANSIT)
    assert load.state == FS.IN_TRANSIT
    load = load.fire(
        FE.DELIVER, actor=R.DRIVER, at=T0 + timedelta(hours=5), context=Delivery("sig.png")
    )
    assert load.state == FS.DELIVERED
    assert not load.is_terminal
    load = load.fire(FE.CONFIRM, actor=R.CUSTOMER, at=T0 + timedelta(hours=6))
    assert load.state == FS.COMPLETED
    assert load.is_terminal
    assert [h.target for h in load.history] == [
        "posted",
        "bidding",
        "assigned",
        "pickup_pending",
        "picked_up",
        "in_transit",
        "delivered",
        "completed",
    ]


def test_only_the_pool_assigns_a_carrier() -> None:
    load = run(FREIGHT, BIDDING)
    with pytest.raises(Forbidden, match="allowed roles: driver"):
        load.fire(FE.ACCEPT, actor=R.CUSTOMER, at=T0 + timedelta(hours=1))


@pytest.mark.parametrize(
    "context",
    [None, {}, {"proof_of_delivery": ""}, Delivery(None), object()],
)
def test_freight_delivery_needs_a_proof(context: object) -> None:
    load = run(FREIGHT, IN_TRANSIT)
    with pytest.raises(InvalidTransition, match="guard has_proof_of_delivery failed"):
        load.fire(FE.DELIVER, actor=R.DRIVER, at=T0 + timedelta(hours=5), context=context)


def test_a_load_nobody_bid_on_stays_posted_and_is_searched_again() -> None:
    load = run(FREIGHT, [*BIDDING, (FE.NO_DRIVER, R.SYSTEM)])
    assert load.state == FS.POSTED
    again = load.fire(FE.SEARCH_AGAIN, actor=R.CUSTOMER, at=T0 + timedelta(days=1))
    assert again.state == FS.BIDDING
    assert again.time_in(FS.BIDDING) == T0 + timedelta(days=1)


def test_a_carrier_withdrawing_sends_the_load_back_to_bidding() -> None:
    load = run(FREIGHT, [*ASSIGNED, (FE.REQUEUE, R.SYSTEM)])
    assert load.state == FS.BIDDING


def test_freight_cancellation_depends_on_how_far_the_load_got() -> None:
    assert run(FREIGHT, [*ASSIGNED, (FE.CANCEL, R.DRIVER)]).state == FS.CANCELLED
    assert run(FREIGHT, [(FE.CANCEL, R.CUSTOMER)]).state == FS.CANCELLED
    with pytest.raises(Forbidden):
        run(FREIGHT, [*BIDDING, (FE.CANCEL, R.DRIVER)])
    with pytest.raises(Forbidden, match="allowed roles: operator"):
        run(FREIGHT, [*IN_TRANSIT, (FE.CANCEL, R.CUSTOMER)])
    assert run(FREIGHT, [*IN_TRANSIT, (FE.CANCEL, R.OPERATOR)]).is_terminal


def test_a_dispute_only_after_delivery_and_only_an_operator_resolves_it() -> None:
    with pytest.raises(InvalidTransition):
        run(FREIGHT, [*IN_TRANSIT, (FE.DISPUTE, R.CUSTOMER)])
    steps = [*IN_TRANSIT, (FE.DELIVER, R.DRIVER), (FE.DISPUTE, R.CUSTOMER)]
    disputed = run(FREIGHT, steps, proof_of_delivery="photo.jpg")
    assert disputed.state == FS.DISPUTED
    with pytest.raises(Forbidden, match="allowed roles: operator"):
        disputed.fire(FE.RESOLVE, actor=R.CUSTOMER, at=T0 + timedelta(days=1))
    assert disputed.allowed_events() == ["resolve"]
    resolved = disputed.fire(FE.RESOLVE, actor=R.OPERATOR, at=T0 + timedelta(days=1))
    assert resolved.state == FS.RESOLVED
    assert resolved.is_terminal


# -- delivery ---------------------------------------------------------------------------

DS, DE = DeliveryState, DeliveryEvent
READY = [(DE.CONFIRM, R.SYSTEM), (DE.PREPARE, R.MERCHANT), (DE.MARK_READY, R.MERCHANT)]
PICKED_UP = [
    *READY,
    (DE.SEARCH, R.SYSTEM),
    (DE.ACCEPT, R.DRIVER),
    (DE.ARRIVE, R.DRIVER),
    (DE.START, R.DRIVER),
]
ON_THE_WAY = [*PICKED_UP, (DE.DEPART, R.DRIVER)]


def test_delivery_happy_path() -> None:
    parcel = run(DELIVERY, [*ON_THE_WAY, (DE.DELIVER, R.DRIVER)], proof_of_delivery="code 4711")
    assert parcel.state == DS.DELIVERED
    assert parcel.is_terminal
    assert [h.target for h in parcel.history] == [
        "confirmed",
        "preparing",
        "ready",
        "offered",
        "accepted",
        "at_pickup",
        "picked_up",
        "on_the_way",
        "delivered",
    ]


def test_no_rider_then_searched_again() -> None:
    parcel = run(DELIVERY, [*READY, (DE.SEARCH, R.SYSTEM), (DE.NO_DRIVER, R.SYSTEM)])
    assert parcel.state == DS.NO_DRIVER
    again = parcel.fire(DE.SEARCH_AGAIN, actor=R.MERCHANT, at=T0 + timedelta(hours=1))
    assert again.state == DS.OFFERED


def test_a_delivery_needs_a_proof() -> None:
    with pytest.raises(InvalidTransition, match="guard has_proof_of_delivery failed"):
        run(DELIVERY, [*ON_THE_WAY, (DE.DELIVER, R.DRIVER)])


def test_delivery_cancels_by_who_the_state_allows() -> None:
    assert run(DELIVERY, [(DE.CANCEL, R.CUSTOMER)]).state == DS.CANCELLED
    assert run(DELIVERY, [(DE.CONFIRM, R.MERCHANT), (DE.CANCEL, R.CUSTOMER)]).is_terminal
    preparing = [(DE.CONFIRM, R.MERCHANT), (DE.PREPARE, R.MERCHANT)]
    assert run(DELIVERY, [*preparing, (DE.CANCEL, R.MERCHANT)]).state == DS.CANCELLED
    with pytest.raises(Forbidden, match="allowed roles: merchant, operator, system"):
        run(DELIVERY, [*preparing, (DE.CANCEL, R.CUSTOMER)])
    with pytest.raises(Forbidden, match="allowed roles: operator"):
        run(DELIVERY, [*PICKED_UP, (DE.CANCEL, R.MERCHANT)])


def test_each_preset_lists_its_own_roles() -> None:
    assert FREIGHT.roles == {"customer", "driver", "operator", "system"}
    assert DELIVERY.roles == {"customer", "driver", "merchant", "operator", "system"}
    assert {r.value for r in Role} == RIDE.roles | FREIGHT.roles | DELIVERY.roles
