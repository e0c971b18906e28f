"""Invariants of lifecycles under random sequences of events fired by random roles."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import event as note_outcome
from hypothesis import given
from hypothesis import strategies as st
from places import T0

from vtc_dispatch.errors import Forbidden, InvalidTransition
from vtc_dispatch.fsm import DELIVERY, FREIGHT, RIDE, Lifecycle, StateMachine

PROOF = {"proof_of_delivery": "photo.jpg"}


def all_events(machine: StateMachine) -> list[str]:
    return sorted({t.event for t in machine.transitions})


def check_history(life: Lifecycle, accepted: int) -> None:
    machine = life.machine
    assert len(life.history) == accepted
    expected_source = machine.initial
    previous_at = life.created_at
    for entry in life.history:
        assert entry.source == expected_source
        assert entry.target in machine.states
        assert entry.at >= previous_at
        expected_source, previous_at = entry.target, entry.at
    assert life.state == expected_source


def check_terminal(life: Lifecycle) -> None:
    for event in all_events(life.machine):
        assert not life.can_fire(event, context=PROOF)
        for role in sorted(life.machine.roles):
            with pytest.raises(InvalidTransition):
                life.fire(event, actor=role, at=life.changed_at, context=PROOF)


@pytest.mark.parametrize("machine", [RIDE, FREIGHT, DELIVERY], ids=lambda m: m.name)
@given(data=st.data())
def test_random_fires_keep_every_invariant(machine: StateMachine, data: st.DataObject) -> None:
    events, roles = all_events(machine), sorted(machine.roles)
    life = machine.start("order-1", T0)
    last_entry = {machine.initial: T0}
    accepted = 0
    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        context = data.draw(st.sampled_from([None, PROOF]), label="context")
        moves = [
            (e, r)
            for e in machine.events(life.state)
            for r in roles
            if life.can_fire(e, r, context)
        ]
        # Mostly a move that keeps the order alive, so runs get deep into the machine;
        # otherwise anything at all, mostly refused.
        onward = [
            (e, r)
            for e, r in moves
            if machine.transition_for(life.state, e, r, context).target not in machine.terminal
        ]
        if onward and data.draw(st.integers(0, 3), label="onward") > 0:
            event, role = data.draw(st.sampled_from(onward), label="move")
        else:
            event = data.draw(st.sampled_from(events), label="event")
            role = data.draw(st.sampled_from(roles), label="role")
        step_s = data.draw(st.integers(-90, 3600), label="step_s")
        at = life.changed_at + timedelta(seconds=step_s)
        allowed = life.can_fire(event, role, context)
        snapshot = attrs.evolve(life)
        try:
            after = life.fire(event, actor=role, at=at, context=context)
        except (InvalidTransition, Forbidden):
            assert not allowed or step_s < 0
            assert life == snapshot
            assert life.history == snapshot.history
            assert dict(life.entered_at) == dict(snapshot.entered_at)
        else:
            assert allowed
            assert step_s >= 0
            assert not life.is_terminal
            assert after.history[:-1] == life.history
            assert after.history[-1].source == life.state
            life = after
            accepted += 1
            last_entry[life.state] = at
        assert life.state in machine.states
        assert dict(life.entered_at) == last_entry
        check_history(life, accepted)
    note_outcome(f"ended in {life.state}")
    if life.is_terminal:
        check_terminal(life)
