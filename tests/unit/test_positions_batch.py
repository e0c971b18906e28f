"""Fixes in bulk (issue 13): ``update_positions`` answers and stores what the same fixes
sent one by one would, in one write; a bad fix is refused alone, a batch too long whole."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from places import AKWA, DEIDO, T0

from vtc_dispatch.changes import ChangeSet, Command
from vtc_dispatch.errors import ConcurrencyConflict, InvalidArgument
from vtc_dispatch.events import DriverMoved
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import ManualClock, RecordingNotifier
from vtc_dispatch.order import Fix, Order, PositionAnswer
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings

DRIVERS = [f"d{i}" for i in range(6)]
"""d0-d2 are put on rides (accepted, arrived, in progress), d3 stays free, d4 goes offline;
d5 is never seen."""


class City:
    """A service with drivers in every situation a fix can find them in."""

    def __init__(self, **settings: object) -> None:
        self.clock = ManualClock(T0)
        self.notifier = RecordingNotifier()
        ids = (f"order-{i}" for i in itertools.count())
        self.service = DispatchService(
            pricing=douala_config(),
            settings=ServiceSettings(**settings),  # type: ignore[arg-type]
            clock=self.clock,
            notifier=self.notifier,
            new_order_id=lambda: next(ids),
        )
        self.moved: list[object] = []
        self.service.subscribe(self.moved.append)
        s = self.service
        for k, driver in enumerate(DRIVERS[:5]):
            s.driver_online(driver, "taxi_jaune", destination_point(AKWA, 60.0 * k, 0.3))
        for k, driver in enumerate(DRIVERS[:3]):
            order = self._ride(driver, f"cust-{k}")
            if k >= 1:
                s.update_position(driver, AKWA)
                s.arrived(driver, order.id)
            if k == 2:
                s.start_trip(driver, order.id)
        s.driver_offline("d4")
        self.clock.advance(timedelta(seconds=5))

    def _ride(self, driver: str, customer: str) -> Order:
        s = self.service
        order = s.create_order(customer, AKWA, DEIDO, "taxi_jaune", "CASH")
        # Sequential offers: refuse until ``driver`` holds it.
        for _ in DRIVERS:
            live = s.orders.get(order.id)
            if live.offered_to == driver:
                break
            assert live.offered_to is not None
            s.reject(live.offered_to, order.id)
        s.accept(driver, order.id)
        return order

    def seen(self) -> dict[str, object]:
        """Everything a fix may change."""
        s = self.service
        statuses = {d: s.drivers.get(d) for d in DRIVERS[:5]}
        progress = {o: s.progress.get(o) for o in ("order-0", "order-1", "order-2")}
        # Fixes of one driver keep their order, events and messages with them; those
        # of different drivers may come in another order than one by one.
        moved: dict[str, list[object]] = {}
        events: dict[str, list[object]] = {}
        sent: dict[str, list[object]] = {}
        for event in self.moved:
            key = str(getattr(event, "driver_id", None) or getattr(event, "order_id", ""))
            (moved if isinstance(event, DriverMoved) else events).setdefault(key, []).append(event)
        for recipient, message in self.notifier.sent:
            sent.setdefault(f"{recipient.role}:{recipient.id}", []).append(message)
        return {
            "statuses": statuses,
            "progress": progress,
            "sent": sent,
            "moved": moved,
            "events": events,
        }


def _one_by_one(city: City, fixes: list[Fix]) -> list[PositionAnswer]:
    answers = []
    for fix in fixes:
        try:
            answers.append(
                city.service.update_position(
                    fix.driver_id, fix.position, fix.at, accuracy_m=fix.accuracy_m
                )
            )
        except LookupError as exc:  # NotFound: a driver never seen
            answers.append(PositionAnswer(False, "unknown_driver", error=str(exc)))
    return answers


@st.composite
def fixes(draw: st.DrawFn) -> list[Fix]:
    out = []
    for _ in range(draw(st.integers(0, 14))):
        driver = draw(st.sampled_from(DRIVERS))
        bearing = draw(st.floats(0, 359))
        # Small moves, a jump now and then (refused on a ride, taken when free).
        km = draw(st.sampled_from([0.0, 0.02, 0.1, 0.3, 4.0]))
        position = destination_point(AKWA, bearing, km)
        at: datetime | None = draw(
            st.sampled_from([None, T0 + timedelta(seconds=5), T0 - timedelta(minutes=10)])
        )
        accuracy = draw(st.sampled_from([None, 5.0, 400.0]))
        out.append(Fix(driver, position, at, accuracy))
    return out


@settings(max_examples=60, deadline=None)
@given(fixes())
def test_a_batch_answers_and_stores_what_its_fixes_one_by_one_would(batch: list[Fix]) -> None:
    """Same answers, statuses, tracks, messages and listener events, in the same order
    (a driver's second fix of the batch applied after his first)."""
    alone, together = City(), City()
    expected = _one_by_one(alone, batch)
    assert together.service.update_positions(batch) == expected
    assert together.seen() == alone.seen()


def test_a_bad_fix_is_refused_alone_and_the_others_are_applied() -> None:
    city = City()
    near = destination_point(AKWA, 180.0, 0.3)
    answers = city.service.update_positions(
        [
            Fix("d3", near),
            "not a fix",  # type: ignore[list-item]
            Fix("d3", near, accuracy_m=-1.0),
            Fix("d5", near),
            Fix("", near),
        ]
    )
    assert answers[0] == PositionAnswer(True)
    assert [(a.accepted, a.reason) for a in answers[1:]] == [
        (False, "invalid"),
        (False, "invalid"),
        (False, "unknown_driver"),
        (False, "invalid"),
    ]
    assert "'not a fix'" in (answers[1].error or "")
    assert "-1.0" in (answers[2].error or "")
    assert "'d5'" in (answers[3].error or "")
    assert city.service.drivers.get("d3").position == near


def test_an_empty_batch_does_nothing_and_one_too_long_is_refused_whole() -> None:
    city = City(limits={"fixes_per_batch_max": 3})
    before = city.seen()
    assert city.service.update_positions([]) == []
    far = destination_point(AKWA, 0.0, 1.0)
    with pytest.raises(InvalidArgument, match=r"at most 3 fixes.*got 4") as refused:
        city.service.update_positions([Fix("d3", far)] * 4)
    assert refused.value.argument == "fixes"
    with pytest.raises(InvalidArgument, match="fixes"):
        city.service.update_positions("d3")  # type: ignore[arg-type]
    assert city.seen() == before


class _LosesRaces:
    """A unit of work whose next ``races`` commits of more than one driver write lose."""

    def __init__(self, inner: object, races: int) -> None:
        self.inner = inner
        self.commands = inner.commands  # type: ignore[attr-defined]
        self.races = races
        self.commits: list[int] = []

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        self.commits.append(len(changes.drivers))
        if self.races and len(changes.drivers) > 1:
            self.races -= 1
            raise ConcurrencyConflict("another worker moved a ride meanwhile")
        return self.inner.commit(changes, command=command)  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize(
    ("races", "commits"),
    [
        # The batch's one write, refused, then the batch read and decided again whole.
        (1, [4, 4]),
        # Refused twice: then one write per fix (d4 is offline: nothing to write).
        (2, [4, 4, 1, 1, 1, 1]),
    ],
)
def test_a_batch_that_loses_a_race_is_decided_again_then_each_fix_alone(
    races: int, commits: list[int]
) -> None:
    alone, together = City(), City()
    racing = _LosesRaces(together.service.uow, races)
    together.service._runner.uow = racing
    batch = [Fix(d, destination_point(AKWA, 90.0, 0.05)) for d in ("d0", "d1", "d2", "d3", "d4")]
    expected = _one_by_one(alone, batch)
    assert together.service.update_positions(batch) == expected
    assert together.seen() == alone.seen()
    assert racing.commits == commits


class _LosesNextCommits:
    """A unit of work whose next ``losses`` commits lose a race."""

    def __init__(self, inner: object, losses: int) -> None:
        self.inner = inner
        self.commands = inner.commands  # type: ignore[attr-defined]
        self.losses = losses
        self.commits = 0

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        self.commits += 1
        if self.losses:
            self.losses -= 1
            raise ConcurrencyConflict("another worker wrote meanwhile")
        return self.inner.commit(changes, command=command)  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("driver", ["d0", "d2", "d3", "d4"])
@pytest.mark.parametrize("command_id", [None, "fix-1"])
def test_a_fix_that_loses_races_is_decided_again_and_published_once(
    driver: str, command_id: str | None
) -> None:
    """On a ride, free or offline, with or without an id: two lost races, then the answer,
    the writes, the messages and the listeners' events of a fix that raced with nothing."""
    alone, racing = City(), City()
    lossy = _LosesNextCommits(racing.service.uow, losses=2)
    racing.service._runner.uow = lossy
    far = destination_point(AKWA, 90.0, 0.05)
    expected = alone.service.update_position(driver, far, command_id=command_id)
    assert racing.service.update_position(driver, far, command_id=command_id) == expected
    assert racing.seen() == alone.seen()
    assert lossy.commits == (0 if driver == "d4" and command_id is None else 3)
    if command_id is not None:  # replayed: answered duplicate, nothing written again
        before = racing.seen()
        assert racing.service.update_position(driver, far, command_id=command_id).reason == (
            "duplicate"
        )
        assert racing.seen() == before


def test_a_fix_that_keeps_losing_races_raises_and_publishes_nothing() -> None:
    city = City()
    lossy = _LosesNextCommits(city.service.uow, losses=100)
    city.service._runner.uow = lossy
    before = city.seen()
    with pytest.raises(ConcurrencyConflict):
        city.service.update_position("d0", destination_point(AKWA, 90.0, 0.05))
    assert lossy.commits == 8
    assert city.seen() == before
