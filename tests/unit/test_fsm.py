"""The generic state machine: definition checks, fire/can_fire, guards, roles, history, time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import attrs
import pytest
from places import T0

from vtc_dispatch.errors import DispatchError, Forbidden, InvalidDefinition, InvalidTransition
from vtc_dispatch.fsm import Lifecycle, StateMachine, Transition


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def build(
    *,
    states: Iterable[str] = ("new", "open", "shut", "gone"),
    initial: str = "new",
    terminal: Iterable[str] = ("gone",),
    transitions: Iterable[Transition] | None = None,
) -> StateMachine:
    if transitions is None:
        transitions = [
            Transition("open", ["new", "shut"], "open", ["user"]),
            Transition("shut", ["open"], "shut", ["user", "admin"]),
            Transition("remove", ["new", "open", "shut"], "gone", ["admin"]),
        ]
    return StateMachine(
        "door", states=states, initial=initial, terminal=terminal, transitions=transitions
    )


DOOR = build()


# -- definition -------------------------------------------------------------------------


def test_a_valid_definition_exposes_what_it_was_built_from() -> None:
    assert DOOR.name == "door"
    assert DOOR.states == frozenset({"new", "open", "shut", "gone"})
    assert DOOR.initial == "new"
    assert DOOR.terminal == frozenset({"gone"})
    assert DOOR.roles == frozenset({"user", "admin"})
    assert [t.event for t in DOOR.transitions] == ["open", "shut", "remove"]


def test_transition_converts_its_collections_and_takes_a_bare_string_as_one_name() -> None:
    t = Transition("go", "from_here", "there", ("driver", "driver"))
    assert t.sources == frozenset({"from_here"})
    assert t.actors == frozenset({"driver"})


def test_transition_names_its_guard_after_the_function_unless_told_otherwise() -> None:
    def is_paid(context: object) -> bool:
        return context == "paid"

    assert Transition("go", ["a"], "b", ["x"], guard=is_paid).guard_name == "is_paid"
    named = Transition("go", ["a"], "b", ["x"], guard=is_paid, guard_name="payment received")
    assert named.guard_name == "payment received"
    assert Transition("go", ["a"], "b", ["x"]).guard_name == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"initial": ""}, "no initial state", id="no-initial"),
        pytest.param(
            {"initial": "ajar"},
            "initial state 'ajar' is not among the states 'gone', 'new', 'open', 'shut'",
            id="initial-not-a-state",
        ),
        pytest.param({"states": ()}, "it has no states", id="no-states"),
        pytest.param(
            {"states": ("new", "open", "shut", "gone", "")},
            "state names must be non-empty strings, got ''",
            id="empty-state-name",
        ),
        pytest.param(
            {"terminal": ("gone", "melted")},
            "terminal state(s) 'melted' not among the states",
            id="unknown-terminal",
        ),
        pytest.param(
            {"states": ("new", "open", "shut", "gone", "attic")},
            "state(s) 'attic' cannot be reached from 'new'",
            id="unreachable-state",
        ),
        pytest.param(
            {
                "transitions": [
                    Transition("open", ["new"], "open", ["user"]),
                    Transition("shut", ["open"], "shut", ["user"]),
                    Transition("remove", ["shut"], "gone", ["admin"]),
                    Transition("restore", ["gone"], "new", ["admin"]),
                ]
            },
            "transition 'restore' leaves terminal state(s) 'gone'",
            id="out-of-terminal",
        ),
        pytest.param(
            {"transitions": [*DOOR.transitions, Transition("melt", ["open"], "puddle", ["sun"])]},
            "transition 'melt' goes to unknown target state 'puddle'",
            id="unknown-target",
        ),
        pytest.param(
            {"transitions": [*DOOR.transitions, Transition("melt", ["ice"], "gone", ["sun"])]},
            "transition 'melt' leaves unknown state(s) 'ice'",
            id="unknown-source",
        ),
        pytest.param(
            {"transitions": [*DOOR.transitions, Transition("melt", [], "gone", ["sun"])]},
            "transition 'melt' has no source state",
            id="no-source",
        ),
        pytest.param(
            {"transitions": [*DOOR.transitions, Transition("melt", ["open"], "gone", [])]},
            "transition 'melt' has no actor",
            id="no-actor",
        ),
        pytest.param(
            {"transitions": [*DOOR.transitions, Transition("melt", ["open"], "gone", [""])]},
            "transition 'melt': role names must be non-empty strings, got ''",
            id="empty-actor",
        ),
        pytest.param(
            {"transitions": [*DOOR.transitions, Transition("", ["open"], "gone", ["sun"])]},
            "event names must be non-empty strings, got ''",
            id="empty-event",
        ),
        pytest.param(
            {
                "transitions": [
                    *DOOR.transitions,
                    Transition("shut", ["open"], "gone", ["admin"]),
                ]
            },
            "'shut' from 'open' is ambiguous: 2 transitions, and the one to 'shut' has no guard",
            id="ambiguous-unguarded-duplicates",
        ),
    ],
)
def test_an_inconsistent_definition_is_refused_naming_the_problem(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        build(**kwargs)
    assert message in str(caught.value)
    assert "machine 'door'" in str(caught.value)


def test_an_unguarded_transition_placed_after_guarded_ones_is_a_valid_fallback() -> None:
    machine = build(
        transitions=[
            Transition("open", ["new"], "open", ["user"], guard=bool),
            Transition("open", ["new"], "shut", ["user"]),
            Transition("open", ["shut"], "open", ["user"]),
            Transition("remove", ["open", "shut"], "gone", ["admin"]),
        ]
    )
    assert machine.events("new") == ["open"]


def test_an_empty_machine_name_is_refused() -> None:
    with pytest.raises(InvalidDefinition, match="machine name must be a non-empty string"):
        StateMachine("", states=["a"], initial="a", terminal=[], transitions=[])


def test_a_single_state_machine_is_valid() -> None:
    machine = StateMachine(
        "one", states=["only"], initial="only", terminal=["only"], transitions=[]
    )
    assert machine.start("s", T0).is_terminal


def test_events_are_sorted_and_empty_from_a_terminal_state() -> None:
    assert DOOR.events("new") == ["open", "remove"]
    assert DOOR.events("open") == ["remove", "shut"]
    assert DOOR.events("gone") == []
    with pytest.raises(ValueError, match="machine 'door' has no state 'attic'"):
        DOOR.events("attic")


# -- start ------------------------------------------------------------------------------


def test_start_puts_the_subject_in_the_initial_state() -> None:
    door = DOOR.start("d-1", T0)
    assert door.machine is DOOR
    assert (door.subject_id, door.state, door.history, door.created_at) == ("d-1", "new", (), T0)
    assert dict(door.entered_at) == {"new": T0}
    assert door.changed_at == T0
    assert not door.is_terminal


def test_start_refuses_a_naive_time_and_an_empty_id() -> None:
    with pytest.raises(TypeError, match="has no time zone"):
        DOOR.start("d-1", datetime(2026, 5, 1, 8, 0))
    with pytest.raises(ValueError, match="subject id must be a non-empty string"):
        DOOR.start("", T0)


# -- fire and history -------------------------------------------------------------------


def test_fire_returns_a_new_lifecycle_and_leaves_the_old_one_alone() -> None:
    before = DOOR.start("d-1", T0)
    after = before.fire("open", actor="user", at=later(5), reason="fresh air")
    assert after.state == "open"
    assert before.state == "new"
    assert before.history == ()
    assert after.history[-1].event == "open"
    assert after.history[-1].source == "new"
    assert after.history[-1].target == "open"
    assert after.history[-1].actor == "user"
    assert after.history[-1].at == later(5)
    assert after.history[-1].reason == "fresh air"
    assert after.subject_id == before.subject_id
    assert after.created_at == T0
    assert after.machine is DOOR


def test_entered_at_keeps_the_last_entry_into_each_state() -> None:
    door = DOOR.start("d-1", T0)
    door = door.fire("open", actor="user", at=later(10))
    door = door.fire("shut", actor="user", at=later(20))
    door = door.fire("open", actor="user", at=later(30))
    assert dict(door.entered_at) == {"new": T0, "open": later(30), "shut": later(20)}
    assert door.time_in("open") == later(30)
    assert door.time_in("gone") is None
    assert [(e.source, e.target) for e in door.history] == [
        ("new", "open"),
        ("open", "shut"),
        ("shut", "open"),
    ]
    assert door.changed_at == later(30)


def test_entered_at_cannot_be_written_through() -> None:
    door = DOOR.start("d-1", T0)
    with pytest.raises(TypeError):
        door.entered_at["new"] = later(1)  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        door.state = "open"  # type: ignore[misc]


def test_lifecycles_compare_by_value_and_hash() -> None:
    a = DOOR.start("d-1", T0).fire("open", actor="user", at=later(1))
    b = DOOR.start("d-1", T0).fire("open", actor="user", at=later(1))
    c = DOOR.start("d-1", T0).fire("open", actor="user", at=later(2))
    assert a == b
    assert hash(a) == hash(b)
    assert a != c


def test_a_terminal_state_fires_nothing() -> None:
    gone = DOOR.start("d-1", T0).fire("remove", actor="admin", at=later(1))
    assert gone.is_terminal
    assert not any(gone.can_fire(t.event) for t in DOOR.transitions)
    with pytest.raises(InvalidTransition, match="the state is terminal"):
        gone.fire("open", actor="user", at=later(2))


def test_a_lifecycle_read_back_from_storage_is_checked_against_its_machine() -> None:
    restored = Lifecycle(
        machine=DOOR,
        subject_id="d-9",
        state="shut",
        history=[],
        entered_at={"shut": T0},
        created_at=T0,
    )
    assert restored.fire("open", actor="user", at=later(1)).state == "open"
    with pytest.raises(ValueError, match="machine 'door' has no state 'ajar'"):
        Lifecycle(
            machine=DOOR, subject_id="d-9", state="ajar", history=(), entered_at={}, created_at=T0
        )


class Door(StrEnum):
    NEW = "new"
    OPEN = "open"


def test_enum_members_are_stored_as_their_plain_values() -> None:
    door = DOOR.start("d-1", T0).fire(Door.OPEN, actor="user", at=later(1))
    assert type(door.state) is str
    assert type(door.history[0].event) is str
    assert door.state == Door.OPEN


# -- can_fire ---------------------------------------------------------------------------


def test_can_fire_answers_for_a_role_or_for_any_role() -> None:
    door = DOOR.start("d-1", T0)
    assert door.can_fire("open", "user")
    assert not door.can_fire("open", "admin")
    assert door.can_fire("open")
    assert door.can_fire("remove")
    assert not door.can_fire("shut")
    assert not door.can_fire("fly")
    assert not door.can_fire("open", "nobody")
    assert door.allowed_events() == ["open", "remove"]
    assert door.allowed_events("user") == ["open"]


# -- errors -----------------------------------------------------------------------------


def test_an_event_not_defined_here_raises_invalid_transition_with_its_fields() -> None:
    door = DOOR.start("d-1", T0)
    with pytest.raises(InvalidTransition) as caught:
        door.fire("shut", actor="user", at=later(1))
    error = caught.value
    assert isinstance(error, DispatchError)
    assert (error.order_id, error.event, error.state) == ("d-1", "shut", "new")
    assert "events from this state: open, remove" in error.detail
    assert str(error).startswith("order 'd-1': cannot 'shut' in state 'new'")
    assert door == DOOR.start("d-1", T0)


def test_the_wrong_role_is_forbidden_with_a_message_naming_everything() -> None:
    door = DOOR.start("d-1", T0)
    with pytest.raises(Forbidden) as caught:
        door.fire("remove", actor="user", at=later(1))
    message = str(caught.value)
    for part in ("'d-1'", "'remove'", "'new'", "'user'", "allowed roles: admin"):
        assert part in message
    assert isinstance(caught.value, PermissionError)
    assert door.state == "new"
    assert door.history == ()


def test_forbidden_lists_every_role_allowed_over_several_transitions() -> None:
    machine = build(
        transitions=[
            Transition("open", ["new"], "open", ["user"], guard=bool),
            Transition("open", ["new"], "shut", ["admin"]),
            Transition("open", ["shut"], "open", ["user"]),
            Transition("remove", ["open", "shut"], "gone", ["admin"]),
        ]
    )
    with pytest.raises(Forbidden, match=r"allowed roles: admin, user"):
        machine.start("d-1", T0).fire("open", actor="guest", at=later(1))


def test_time_cannot_go_backwards() -> None:
    door = DOOR.start("d-1", T0).fire("open", actor="user", at=later(60))
    with pytest.raises(InvalidTransition, match="is before the last change") as caught:
        door.fire("shut", actor="user", at=later(59))
    assert caught.value.state == "open"
    assert door.fire("shut", actor="user", at=later(60)).state == "shut"
    with pytest.raises(InvalidTransition, match="is before the last change"):
        DOOR.start("d-1", T0).fire("open", actor="user", at=later(-1))


def test_a_naive_time_is_refused_by_fire() -> None:
    door = DOOR.start("d-1", T0)
    with pytest.raises(InvalidTransition, match="has no time zone"):
        door.fire("open", actor="user", at=datetime(2026, 5, 1, 9, 0))


def test_another_time_zone_is_compared_as_the_same_instant() -> None:
    door = DOOR.start("d-1", T0).fire("open", actor="user", at=later(60))
    same_instant_in_douala = later(60).astimezone(timezone(timedelta(hours=1)))
    assert door.fire("shut", actor="user", at=same_instant_in_douala).state == "shut"
    with pytest.raises(InvalidTransition, match="is before the last change"):
        door.fire("shut", actor="user", at=later(59).astimezone(timezone(timedelta(hours=1))))


# -- guards -----------------------------------------------------------------------------


@attrs.frozen
class Parcel:
    weight_kg: float


def heavy(context: object) -> bool:
    return isinstance(context, Parcel) and context.weight_kg >= 100


def light(context: object) -> bool:
    return isinstance(context, Parcel) and context.weight_kg < 5


SORTING = StateMachine(
    "sorting",
    states=["received", "truck", "bike", "van", "delivered"],
    initial="received",
    terminal=["delivered"],
    transitions=[
        Transition("route", ["received"], "truck", ["hub"], guard=heavy),
        Transition("route", ["received"], "bike", ["hub"], guard=light),
        Transition("route", ["received"], "van", ["hub"]),
        Transition("drop", ["truck", "bike", "van"], "delivered", ["courier"]),
    ],
)


@pytest.mark.parametrize(
    ("weight_kg", "target"), [(250.0, "truck"), (100.0, "truck"), (2.0, "bike"), (30.0, "van")]
)
def test_the_first_transition_whose_guard_passes_wins(weight_kg: float, target: str) -> None:
    parcel = SORTING.start("p-1", T0)
    routed = parcel.fire("route", actor="hub", at=later(1), context=Parcel(weight_kg))
    assert routed.state == target


def test_guards_see_the_context_and_can_fire_changes_nothing() -> None:
    calls: list[object] = []

    def recording(context: object) -> bool:
        calls.append(context)
        return context == "ok"

    machine = build(
        transitions=[
            Transition("open", ["new", "shut"], "open", ["user"], guard=recording),
            Transition("shut", ["open"], "shut", ["user"]),
            Transition("remove", ["new", "open", "shut"], "gone", ["admin"]),
        ]
    )
    door = machine.start("d-1", T0)
    assert not door.can_fire("open", "user", context="nope")
    assert door.can_fire("open", "user", context="ok")
    assert calls == ["nope", "ok"]
    assert door == machine.start("d-1", T0)


def test_a_failing_guard_is_named_and_the_lifecycle_is_unchanged() -> None:
    def has_key(context: object) -> bool:
        return context == "key"

    machine = build(
        transitions=[
            Transition("open", ["new", "shut"], "open", ["user"], guard=has_key),
            Transition("shut", ["open"], "shut", ["user"]),
            Transition("remove", ["new", "open", "shut"], "gone", ["admin"]),
        ]
    )
    door = machine.start("d-1", T0)
    with pytest.raises(InvalidTransition) as caught:
        door.fire("open", actor="user", at=later(1))
    assert caught.value.detail == "guard has_key failed"
    assert (caught.value.order_id, caught.value.event, caught.value.state) == ("d-1", "open", "new")
    assert door == machine.start("d-1", T0)
    assert door.fire("open", actor="user", at=later(1), context="key").state == "open"


def test_when_every_guard_fails_all_of_them_are_named() -> None:
    machine = StateMachine(
        "sorting",
        states=["received", "truck", "bike"],
        initial="received",
        terminal=[],
        transitions=[
            Transition("route", ["received"], "truck", ["hub"], guard=heavy),
            Transition("route", ["received"], "bike", ["hub"], guard=light, guard_name="small"),
        ],
    )
    with pytest.raises(InvalidTransition, match=r"\(guard heavy, small failed\)"):
        machine.start("p-1", T0).fire("route", actor="hub", at=later(1), context=Parcel(50))


def test_only_the_transitions_open_to_the_role_are_tried() -> None:
    machine = StateMachine(
        "approval",
        states=["asked", "fast", "slow"],
        initial="asked",
        terminal=["fast", "slow"],
        transitions=[
            Transition("approve", ["asked"], "fast", ["manager"], guard=bool),
            Transition("approve", ["asked"], "slow", ["clerk", "manager"]),
        ],
    )
    asked = machine.start("a-1", T0)
    assert asked.fire("approve", actor="manager", at=T0, context=True).state == "fast"
    assert asked.fire("approve", actor="manager", at=T0, context=False).state == "slow"
    assert asked.fire("approve", actor="clerk", at=T0, context=True).state == "slow"


def test_transition_for_can_be_asked_directly() -> None:
    assert SORTING.transition_for("received", "route", "hub", Parcel(1)).target == "bike"
    with pytest.raises(InvalidTransition) as caught:
        SORTING.transition_for("limbo", "route", "hub")
    assert caught.value.order_id == ""
    assert "has no state 'limbo'" in caught.value.detail
