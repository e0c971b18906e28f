"""A small declared state machine: a validated definition and immutable lifecycles over it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from vtc_dispatch._records import evolve
from vtc_dispatch.errors import Forbidden, InvalidDefinition, InvalidTransition, shown

__all__ = ["Guard", "HistoryEntry", "Lifecycle", "StateMachine", "Transition"]

Guard = Callable[[Any], bool]
"""A pure predicate on the context passed to a fire: no side effect, no I/O, no clock.

:class:`Transition` shows one in use (``guard=``).
"""


def _name(value: str) -> str:
    # A StrEnum member becomes its plain value, so states read and serialise the same
    # whichever way they were spelled; anything else is left for validation to refuse.
    return str(value) if isinstance(value, str) else value


def _names(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        # A bare string is one name, never the set of its letters.
        return frozenset({str(values)})
    return frozenset(_name(v) for v in values)


def _guard_name(transition: Transition) -> str:
    if transition.guard is None:
        return ""
    return getattr(transition.guard, "__name__", "") or "guard"


@attrs.frozen
class Transition:
    """One line of a machine's table: ``event`` takes any of ``sources`` to ``target``.

    Only the roles in ``actors`` may fire it; when ``guard`` is given it must
    also hold for the context of the fire. ``guard_name`` names the guard in
    error messages and defaults to the function's ``__name__``.

    >>> t = Transition("accept", ["searching"], "accepted", ["driver"])
    >>> t.sources, t.actors
    (frozenset({'searching'}), frozenset({'driver'}))
    >>> def paid(context: object) -> bool:
    ...     return bool(context)
    >>> Transition("close", {"delivered"}, "closed", {"system"}, guard=paid).guard_name
    'paid'
    """

    event: str = attrs.field(converter=_name)
    sources: frozenset[str] = attrs.field(converter=_names)
    target: str = attrs.field(converter=_name)
    actors: frozenset[str] = attrs.field(converter=_names)
    guard: Guard | None = attrs.field(default=None, eq=False)
    guard_name: str = attrs.field(
        default=attrs.Factory(_guard_name, takes_self=True), converter=str
    )


@attrs.frozen
class HistoryEntry:
    """One accepted fire: which ``event`` took the subject from ``source`` to ``target``.

    ``actor`` is the role that fired it, ``actor_id`` who in that role (the
    driver's, customer's, merchant's or operator's id; ``None`` for the
    system, or an entry stored before ids were kept): the order's history is
    its audit trail.

    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> e = HistoryEntry("accept", "searching", "accepted", "driver", at, actor_id="amadou")
    >>> e.reason is None, e.target, e.actor_id
    (True, 'accepted', 'amadou')
    """

    event: str
    source: str
    target: str
    actor: str
    at: datetime
    reason: str | None = None
    actor_id: str | None = None


def _is_name(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _sorted(values: Iterable[object]) -> str:
    return ", ".join(repr(v) for v in sorted(values, key=repr))


class StateMachine:
    """A validated definition: states, initial, terminal states, transitions, roles.

    The definition is checked when it is built and :class:`InvalidDefinition`
    names the first problem found. Several transitions may share a source and
    an event only when all of them but the last have a guard: they are tried
    in definition order and the first whose guard passes wins.

    >>> door = StateMachine(
    ...     "door",
    ...     states=["closed", "open", "bricked"],
    ...     initial="closed",
    ...     terminal=["bricked"],
    ...     transitions=[
    ...         Transition("open", ["closed"], "open", ["guest"]),
    ...         Transition("close", ["open"], "closed", ["guest"]),
    ...         Transition("brick", ["closed"], "bricked", ["mason"]),
    ...     ],
    ... )
    >>> door.events("closed"), sorted(door.roles)
    (['brick', 'open'], ['guest', 'mason'])
    >>> StateMachine("bad", states=["a"], initial="b", terminal=[], transitions=[])
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidDefinition: machine 'bad': initial state 'b' is not among ...
    """

    __slots__ = ("_by_source", "initial", "name", "roles", "states", "terminal", "transitions")

    name: str
    states: frozenset[str]
    initial: str
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]
    """Every line of the table, in definition order."""
    roles: frozenset[str]
    """Every role that may fire at least one transition."""

    def __init__(
        self,
        name: str,
        *,
        states: Iterable[str],
        initial: str,
        terminal: Iterable[str],
        transitions: Iterable[Transition],
    ) -> None:
        if not _is_name(name):
            raise InvalidDefinition(f"a machine name must be a non-empty string, got {shown(name)}")
        self.name = name
        self.states = _names(states)
        self.initial = _name(initial)
        self.terminal = _names(terminal)
        self.transitions = tuple(transitions)
        self.roles = frozenset(role for t in self.transitions for role in t.actors)
        self._by_source: dict[tuple[str, str], tuple[Transition, ...]] = {}
        for t in self.transitions:
            for source in t.sources:
                key = (source, t.event)
                self._by_source[key] = (*self._by_source.get(key, ()), t)
        self._validate()

    def _fail(self, problem: str) -> InvalidDefinition:
        return InvalidDefinition(f"machine {shown(self.name)}: {problem}")

    def _validate(self) -> None:
        if not self.states:
            raise self._fail("it has no states")
        for state in sorted(self.states, key=repr):
            if not _is_name(state):
                raise self._fail(f"state names must be non-empty strings, got {shown(state)}")
        if not _is_name(self.initial):
            raise self._fail(f"no initial state (got {shown(self.initial)})")
        if self.initial not in self.states:
            raise self._fail(
                f"initial state {shown(self.initial)} is not among the states"
                f" {_sorted(self.states)}"
            )
        if unknown := self.terminal - self.states:
            raise self._fail(
                f"terminal state(s) {_sorted(unknown)} not among the states {_sorted(self.states)}"
            )
        for t in self.transitions:
            self._validate_transition(t)
        self._validate_reachable()
        self._validate_unambiguous()

    def _validate_transition(self, t: Transition) -> None:
        if not _is_name(t.event):
            raise self._fail(f"event names must be non-empty strings, got {shown(t.event)}")
        where = f"transition {shown(t.event)}"
        if not t.sources:
            raise self._fail(f"{where} has no source state")
        if unknown := {s for s in t.sources if s not in self.states}:
            raise self._fail(f"{where} leaves unknown state(s) {_sorted(unknown)}")
        if t.target not in self.states:
            raise self._fail(f"{where} goes to unknown target state {shown(t.target)}")
        if leaving := t.sources & self.terminal:
            raise self._fail(f"{where} leaves terminal state(s) {_sorted(leaving)}")
        if not t.actors:
            raise self._fail(f"{where} has no actor: name at least one role that may fire it")
        for actor in t.actors:
            if not _is_name(actor):
                raise self._fail(
                    f"{where}: role names must be non-empty strings, got {shown(actor)}"
                )
        if t.guard is not None and not callable(t.guard):
            raise self._fail(f"{where}: guard {shown(t.guard)} is not callable")

    def _validate_reachable(self) -> None:
        seen = {self.initial}
        todo = deque([self.initial])
        while todo:
            state = todo.popleft()
            for t in self.transitions:
                if state in t.sources and t.target not in seen:
                    seen.add(t.target)
                    todo.append(t.target)
        if unreachable := self.states - seen:
            raise self._fail(
                f"state(s) {_sorted(unreachable)} cannot be reached from {shown(self.initial)}"
            )

    def _validate_unambiguous(self) -> None:
        for (source, event), candidates in sorted(self._by_source.items()):
            for t in candidates[:-1]:
                if t.guard is None:
                    raise self._fail(
                        f"{shown(event)} from {shown(source)} is ambiguous:"
                        f" {len(candidates)} transitions, and the one to {shown(t.target)}"
                        " has no guard although it is not the last"
                    )

    def __repr__(self) -> str:
        return (
            f"StateMachine({self.name!r}, {len(self.states)} states,"
            f" {len(self.transitions)} transitions)"
        )

    def events(self, state: str) -> list[str]:
        """The events defined from ``state`` for any role, sorted; ``[]`` from a terminal state.

        Raises :class:`ValueError` for a state the machine does not have.

        >>> from vtc_dispatch.fsm import RIDE
        >>> RIDE.events("arrived")
        ['cancel', 'start']
        """
        if state not in self.states:
            raise ValueError(f"machine {shown(self.name)} has no state {shown(state)}")
        return sorted({event for (source, event) in self._by_source if source == state})

    def transition_for(
        self,
        state: str,
        event: str,
        actor: str,
        context: object = None,
        *,
        subject_id: str = "",
    ) -> Transition:
        """The transition that ``actor`` fires with ``event`` from ``state``, given ``context``.

        Of the transitions for ``(state, event)`` that the role may fire, in
        definition order, the first whose guard passes wins.

        Raises :class:`InvalidTransition` (carrying ``subject_id`` as its
        ``order_id``) when the event is not defined from ``state`` or every
        guard failed, and :class:`Forbidden` when the event is defined there
        but not for this role.

        >>> from vtc_dispatch.fsm import RIDE
        >>> RIDE.transition_for("searching", "accept", "driver").target
        'accepted'
        >>> RIDE.transition_for("searching", "accept", "customer", subject_id="o-1")
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.Forbidden: order 'o-1': role 'customer' may not 'accept' in state ...
        """
        state, event, actor = _name(state), _name(event), _name(actor)
        candidates = self._by_source.get((state, event), ())
        if not candidates:
            if state not in self.states:
                detail = f"machine {shown(self.name)} has no state {shown(state)}"
            elif state in self.terminal:
                detail = "the state is terminal"
            else:
                detail = f"events from this state: {', '.join(self.events(state))}"
            raise InvalidTransition(subject_id, event, state, detail)
        allowed = [t for t in candidates if actor in t.actors]
        if not allowed:
            roles = sorted({role for t in candidates for role in t.actors})
            raise Forbidden(
                f"order {shown(subject_id)}: role {shown(actor)} may not {shown(event)}"
                f" in state {shown(state)} (allowed roles: {', '.join(roles)})"
            )
        for t in allowed:
            if t.guard is None or t.guard(context):
                return t
        failed = ", ".join(t.guard_name or "guard" for t in allowed)
        raise InvalidTransition(subject_id, event, state, f"guard {failed} failed")

    def start(self, subject_id: str, at: datetime) -> Lifecycle:
        """A new lifecycle for ``subject_id`` in the initial state, created ``at``.

        ``at`` must carry a time zone (:class:`TypeError` otherwise) and the
        id must not be empty (:class:`ValueError`): both are caller bugs, not
        states of an order.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> RIDE.start("o-1", datetime(2026, 1, 1, 8, 0, tzinfo=UTC)).state
        'draft'
        """
        if not _is_name(subject_id):
            raise ValueError(f"a subject id must be a non-empty string, got {shown(subject_id)}")
        if at.tzinfo is None or at.utcoffset() is None:
            raise TypeError(f"at {at.isoformat()} has no time zone; pass an aware datetime")
        return Lifecycle(
            machine=self,
            subject_id=subject_id,
            state=self.initial,
            history=(),
            entered_at={self.initial: at},
            created_at=at,
        )


def _entries(values: Iterable[HistoryEntry]) -> tuple[HistoryEntry, ...]:
    return tuple(values)


def _frozen_mapping(value: Mapping[str, datetime]) -> Mapping[str, datetime]:
    return MappingProxyType({str(k): v for k, v in value.items()})


def _known_state(instance: Lifecycle, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in instance.machine.states:
        raise ValueError(f"machine {shown(instance.machine.name)} has no state {shown(value)}")


@attrs.frozen
class Lifecycle:
    """Where one subject (an order) is in a :class:`StateMachine`; :meth:`fire` returns a new one.

    ``entered_at`` holds the last time each state was entered (the initial
    state: when the lifecycle was created). A lifecycle read back from
    storage can be built directly with these fields; two lifecycles are
    equal when every field but the machine is equal.

    >>> from datetime import UTC, datetime, timedelta
    >>> from vtc_dispatch.fsm import RIDE
    >>> t0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    >>> ride = RIDE.start("o-1", t0).fire("search", actor="customer", at=t0)
    >>> ride = ride.fire("accept", actor="driver", at=t0 + timedelta(seconds=20))
    >>> ride.state, len(ride.history), ride.time_in("accepted") - t0
    ('accepted', 2, datetime.timedelta(seconds=20))
    >>> ride.fire("complete", actor="driver", at=t0 + timedelta(minutes=1))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidTransition: order 'o-1': cannot 'complete' in state 'accepted' (...)
    """

    machine: StateMachine = attrs.field(eq=False, repr=False)
    subject_id: str
    state: str = attrs.field(converter=_name, validator=_known_state)
    history: tuple[HistoryEntry, ...] = attrs.field(converter=_entries)
    entered_at: Mapping[str, datetime] = attrs.field(converter=_frozen_mapping, hash=False)
    created_at: datetime

    @property
    def is_terminal(self) -> bool:
        """Whether nothing can happen any more.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> ride = RIDE.start("o-1", datetime(2026, 1, 1, tzinfo=UTC))
        >>> ride.is_terminal, ride.fire("cancel", actor="customer", at=ride.created_at).is_terminal
        (False, True)
        """
        return self.state in self.machine.terminal

    @property
    def changed_at(self) -> datetime:
        """When the state last changed: the last history entry, else the creation.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> RIDE.start("o-1", datetime(2026, 1, 1, tzinfo=UTC)).changed_at.year
        2026
        """
        return self.history[-1].at if self.history else self.created_at

    def time_in(self, state: str) -> datetime | None:
        """When ``state`` was last entered, or ``None`` if it never was.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> ride = RIDE.start("o-1", datetime(2026, 1, 1, tzinfo=UTC))
        >>> ride.time_in("draft") == ride.created_at, ride.time_in("done")
        (True, None)
        """
        return self.entered_at.get(state)

    def can_fire(self, event: str, actor: str | None = None, context: object = None) -> bool:
        """Whether :meth:`fire` would accept ``event`` now (any role when ``actor`` is ``None``).

        Never raises for a refused event; the time of the fire is not
        considered.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> ride = RIDE.start("o-1", datetime(2026, 1, 1, tzinfo=UTC))
        >>> ride.can_fire("search"), ride.can_fire("search", "driver"), ride.can_fire("fly")
        (True, False, False)
        """
        actors = sorted(self.machine.roles) if actor is None else [actor]
        for role in actors:
            try:
                self.machine.transition_for(self.state, event, role, context)
            except (InvalidTransition, Forbidden):
                continue
            return True
        return False

    def allowed_events(self, actor: str | None = None, context: object = None) -> list[str]:
        """The events :meth:`can_fire` accepts now for ``actor`` (any role when ``None``), sorted.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> RIDE.start("o-1", datetime(2026, 1, 1, tzinfo=UTC)).allowed_events("customer")
        ['cancel', 'search']
        """
        return [e for e in self.machine.events(self.state) if self.can_fire(e, actor, context)]

    def fire(
        self,
        event: str,
        *,
        actor: str,
        at: datetime,
        reason: str | None = None,
        context: object = None,
        actor_id: str | None = None,
    ) -> Lifecycle:
        """The lifecycle after ``actor`` fires ``event`` ``at`` a time; ``self`` is never changed.

        ``actor_id`` says who in the role fired it (kept in the history entry).

        Raises :class:`InvalidTransition` when the event is not defined from
        the current state, when its guards fail (the detail names them), or
        when ``at`` has no time zone or is before the last change; raises
        :class:`Forbidden` when the role may not fire it here.

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.fsm import RIDE
        >>> ride = RIDE.start("o-1", datetime(2026, 1, 1, tzinfo=UTC))
        >>> done = ride.fire("cancel", actor="customer", at=ride.created_at, reason="too slow")
        >>> done.history[-1]
        HistoryEntry(event='cancel', source='draft', target='cancelled', actor='customer', ...)
        >>> ride.state
        'draft'
        """
        event, actor = _name(event), _name(actor)
        transition = self.machine.transition_for(
            self.state, event, actor, context, subject_id=self.subject_id
        )
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidTransition(
                self.subject_id, event, self.state, f"at {at.isoformat()} has no time zone"
            )
        if at < self.changed_at:
            raise InvalidTransition(
                self.subject_id,
                event,
                self.state,
                f"at {at.isoformat()} is before the last change at {self.changed_at.isoformat()}",
            )
        entry = HistoryEntry(event, self.state, transition.target, actor, at, reason, actor_id)
        return evolve(
            self,
            state=transition.target,
            history=(*self.history, entry),
            entered_at={**self.entered_at, transition.target: at},
        )
