"""RideReader: the driver, his order and its progress read together, as the ports read them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import pytest
import redis_support
from places import AKWA, DEIDO, T0

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.changes import ChangeSet, Command
from vtc_dispatch.errors import AlreadyDone, NotFound
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock
from vtc_dispatch.order import Actor, Fix, Order
from vtc_dispatch.ports import PortsRideReader, RideReader, UnitOfWork
from vtc_dispatch.pricing import douala_config
from vtc_dispatch_redis.roundtrips import count_round_trips


@pytest.fixture(params=["memory", "redis"])
def ports(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    if request.param == "memory":
        yield InMemoryStores().ports()
        return
    storage = redis_support.fresh_storage()
    yield storage.ports()
    storage.clear()


def _reader(ports: dict[str, Any]) -> RideReader:
    reader: RideReader = ports.get("rides") or PortsRideReader(
        ports["drivers"], ports["orders"], ports["progress"]
    )
    return reader


def test_a_ride_read_together_is_what_the_ports_read(ports: dict[str, Any]) -> None:
    clock = ManualClock(T0)
    service = build_service(douala_config(), ports, clock=clock)
    reader = _reader(ports)
    with pytest.raises(NotFound, match="no driver 'ghost'"):
        reader.ride_of("ghost")
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    status, order, progress = reader.ride_of("amadou")
    assert (status, order, progress) == (ports["drivers"].get("amadou"), None, None)

    offered = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    status, order, progress = reader.ride_of("amadou")
    assert (status.order_id, order, progress) == (offered.id, offered, None)  # offered: no ride

    service.accept("amadou", offered.id)
    clock.advance(timedelta(seconds=30))
    service.update_position("amadou", destination_point(AKWA, 0, 0.15))
    status, order, progress = reader.ride_of("amadou")
    assert order == ports["orders"].get(offered.id)
    assert progress == ports["progress"].get(offered.id)
    assert progress is not None
    assert len(progress.approach.points) == 1

    clock.advance(timedelta(seconds=30))
    service.update_position("amadou", AKWA)
    service.arrived("amadou", offered.id)
    service.start_trip("amadou", offered.id)
    clock.advance(timedelta(minutes=5))
    service.update_position("amadou", DEIDO)
    service.complete_trip("amadou", offered.id)
    assert reader.ride_of("amadou") == (ports["drivers"].get("amadou"), None, None)


@pytest.fixture(params=["memory", "redis"])
def two_workers(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The ports of two workers on the same data (two storages of one prefix on Redis)."""
    if request.param == "memory":
        stores = InMemoryStores()
        ports = {**stores.ports(), "unit_of_work": stores.unit_of_work()}
        yield ports, ports
        return
    first = redis_support.fresh_storage()
    second = redis_support.fresh_storage(prefix=first.settings.prefix)
    yield first.ports(), second.ports()
    first.clear()


class _CommitsAfter:
    """A unit of work that runs ``meanwhile`` once, between a decision and its commit."""

    def __init__(self, uow: UnitOfWork, meanwhile: Callable[[], object]) -> None:
        self.uow, self.commands = uow, uow.commands
        self._meanwhile: Callable[[], object] | None = meanwhile

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self.uow.commit(changes, command=command)


def _on_the_trip(ports: dict[str, Any], clock: ManualClock) -> tuple[Any, str]:
    service = build_service(douala_config(), ports, clock=clock)
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", order.id)
    clock.advance(timedelta(seconds=30))
    service.update_position("amadou", AKWA)
    service.arrived("amadou", order.id)
    service.start_trip("amadou", order.id)
    return service, order.id


def test_a_fix_stored_while_the_trip_ends_is_on_the_final_track(
    two_workers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_b, order_id = _on_the_trip(ports_b, clock)
    clock.advance(timedelta(minutes=4))
    halfway = destination_point(AKWA, 56, 1.2)
    worker_a = build_service(
        douala_config(),
        {
            **ports_a,
            "unit_of_work": _CommitsAfter(
                ports_a["unit_of_work"], lambda: worker_b.update_position("amadou", halfway)
            ),
        },
        clock=clock,
    )
    done = worker_a.complete_trip("amadou", order_id)
    # Decided before the fix landed, the end was decided again with it.
    assert [p.position for p in done.trip.points] == [AKWA, halfway]
    assert done.final_fare is not None
    assert float(done.final_fare.distance_km) == pytest.approx(done.trip.distance_km, abs=0.01)


def _accepted_on_a(
    ports_a: dict[str, Any], ports_b: dict[str, Any], clock: ManualClock
) -> tuple[Any, Any, Order]:
    """Two workers; on A, amadou accepts chantal's ride."""
    worker_a = build_service(douala_config(), ports_a, clock=clock)
    worker_b = build_service(douala_config(), ports_b, clock=clock)
    worker_a.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    order = worker_a.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    worker_a.accept("amadou", order.id)
    return worker_a, worker_b, order


def test_a_worker_that_kept_a_ride_follows_what_another_worker_did_to_it(
    two_workers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_a, worker_b, order = _accepted_on_a(ports_a, ports_b, clock)
    clock.advance(timedelta(seconds=30))
    worker_a.update_position("amadou", destination_point(AKWA, 0, 0.05))  # kept by A
    worker_b.arrived("amadou", order.id)
    # A kept the order ACCEPTED: its refusal is decided again on a fresh read.
    started = worker_a.start_trip("amadou", order.id)
    assert started.state == "in_progress"
    clock.advance(timedelta(minutes=2))
    worker_b.update_position("amadou", destination_point(AKWA, 56, 0.6))
    clock.advance(timedelta(minutes=2))
    worker_a.update_position("amadou", destination_point(AKWA, 56, 1.2))  # A's copy is old
    progress = ports_b["progress"].get(order.id)
    assert len(progress.trip.points) == 3
    assert progress.trip.points[-1].position == destination_point(AKWA, 56, 1.2)


def test_a_fix_on_a_ride_the_worker_keeps_is_one_round_trip() -> None:
    storage = redis_support.fresh_storage()
    kept = redis_support.fresh_storage(prefix=storage.settings.prefix, ride_cache=0)
    clock = ManualClock(T0)
    service, order_id = _on_the_trip(storage.ports(), clock)
    without = build_service(douala_config(), kept.ports(), clock=clock)
    trips: list[int] = []
    for worker in (service, without):
        clock.advance(timedelta(seconds=20))
        with count_round_trips() as counter:
            worker.update_position("amadou", destination_point(AKWA, 56, 0.2 * (len(trips) + 1)))
        trips.append(counter.n)
    assert trips == [1, 2]  # the commit alone; a read and the commit
    assert len(storage.progress.get(order_id).trip.points) == 3


def test_the_first_fix_after_accepting_is_one_round_trip() -> None:
    storage = redis_support.fresh_storage()
    clock = ManualClock(T0)
    service = build_service(douala_config(), storage.ports(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", order.id)  # kept from the status it read, once committed
    clock.advance(timedelta(seconds=20))
    with count_round_trips() as counter:
        assert service.update_position("amadou", destination_point(AKWA, 0, 0.2)).accepted
    assert counter.n == 1
    assert storage.progress.get(order.id).version == 1


def test_a_ride_kept_at_accepting_follows_a_cancellation_by_another_worker(
    two_workers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    from vtc_dispatch.order import Actor

    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_a, worker_b, order = _accepted_on_a(ports_a, ports_b, clock)
    worker_b.cancel(Actor.customer("chantal"), order.id, "changed my mind")
    clock.advance(timedelta(seconds=20))
    # A kept the ride ACCEPTED: its commit is refused, the fix decided again off the ride.
    answer = worker_a.update_position("amadou", destination_point(AKWA, 0, 0.2))
    assert answer.accepted
    assert ports_b["orders"].get(order.id).state == "cancelled"
    assert ports_b["progress"].get(order.id).trip.points == ()
    assert ports_b["drivers"].get("amadou").position == destination_point(AKWA, 0, 0.2)


def test_the_ratings_of_a_ride_the_worker_ended_are_one_round_trip_each() -> None:
    clock = ManualClock(T0)
    trips: list[int] = []
    for storage in (redis_support.fresh_storage(), redis_support.fresh_storage(ride_cache=0)):
        service, order_id = _on_the_trip(storage.ports(), clock)
        service.complete_trip("amadou", order_id)
        for actor in (Actor.customer("chantal"), Actor.driver("amadou")):
            with count_round_trips() as counter:
                service.rate(actor, order_id, 5)
            trips.append(counter.n)
        assert len(storage.orders.get(order_id).ratings) == 2
        storage.clear()
    assert trips == [1, 1, 2, 2]  # the commit alone; a read of the order and the commit


def test_a_worker_that_kept_an_ended_ride_follows_the_ratings_another_worker_stored(
    two_workers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_a, order_id = _on_the_trip(ports_a, clock)
    worker_a.complete_trip("amadou", order_id)  # A keeps the order, DONE and not rated
    worker_b = build_service(douala_config(), ports_b, clock=clock)
    worker_b.rate(Actor.customer("chantal"), order_id, 4)
    # A decides on its copy, the commit refuses it, and A decides again on a fresh read.
    with pytest.raises(AlreadyDone):
        worker_a.rate(Actor.customer("chantal"), order_id, 1)
    worker_b.rate(Actor.driver("amadou"), order_id, 5)
    with pytest.raises(AlreadyDone):
        worker_a.rate(Actor.driver("amadou"), order_id, 2)
    stars = {r.by.role: r.stars for r in ports_b["orders"].get(order_id).ratings}
    assert stars == {"customer": 4, "driver": 5}


# -- fixes in bulk ----------------------------------------------------------------------


def test_many_rides_read_together_are_what_the_ports_read(ports: dict[str, Any]) -> None:
    clock = ManualClock(T0)
    service, order_id = _on_the_trip(ports, clock)
    service.driver_online("binta", "taxi_jaune", destination_point(AKWA, 90, 0.3))
    reader = _reader(ports)
    rides = reader.rides_of(["binta", "ghost", "amadou"])
    assert rides[0] == (ports["drivers"].get("binta"), None, None)
    assert isinstance(rides[1], NotFound)
    assert "'ghost'" in str(rides[1])
    assert rides[2] == (
        ports["drivers"].get("amadou"),
        ports["orders"].get(order_id),
        ports["progress"].get(order_id),
    )
    assert reader.rides_of([]) == []


def test_a_batch_of_fixes_is_two_round_trips_then_one_when_its_drivers_are_kept() -> None:
    """Read together (one script), stored together (one script); the rides and idle drivers
    a worker keeps need no read, so the next batch of the same drivers is one round trip."""
    storage = redis_support.fresh_storage()
    clock = ManualClock(T0)
    service, order_id = _on_the_trip(storage.ports(), clock)
    idle = [f"idle-{i}" for i in range(50)]
    for k, driver in enumerate(idle):
        service.driver_online(driver, "taxi_jaune", destination_point(DEIDO, k * 7.0, 1.0))
    trips = []
    for step in range(1, 3):
        clock.advance(timedelta(seconds=20))
        batch = [
            Fix(d, destination_point(DEIDO, k * 7.0, 1.0 + step / 100)) for k, d in enumerate(idle)
        ]
        batch.append(Fix("amadou", destination_point(AKWA, 56, 0.2 * step)))
        with count_round_trips() as counter:
            answers = service.update_positions(batch)
        trips.append(counter.n)
        assert all(a.accepted for a in answers), answers
    assert trips == [2, 1]
    for k, driver in enumerate(idle):
        assert storage.drivers.get(driver).position == destination_point(DEIDO, k * 7.0, 1.02)
    assert len(storage.progress.get(order_id).trip.points) == 3
    # The kept ride alone: nothing to read.
    clock.advance(timedelta(seconds=20))
    with count_round_trips() as counter:
        service.update_positions([Fix("amadou", destination_point(AKWA, 56, 0.6))])
    assert counter.n == 1
    storage.clear()


def test_a_batch_with_a_ride_another_worker_moved_is_decided_again_on_fresh_reads(
    two_workers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Worker A keeps the ride; B ends it; A's next batch is refused by the commit and
    decided again on fresh reads: the driver is answered as a free driver, and the other
    fixes of the batch are stored."""
    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_a, order_id = _on_the_trip(ports_a, clock)
    worker_b = build_service(douala_config(), ports_b, clock=clock)
    worker_a.driver_online("binta", "taxi_jaune", destination_point(DEIDO, 0, 1.0))
    clock.advance(timedelta(minutes=3))
    worker_a.update_position("amadou", destination_point(AKWA, 56, 0.6))  # kept by A
    clock.advance(timedelta(minutes=3))
    worker_b.update_position("amadou", DEIDO)
    done = worker_b.complete_trip("amadou", order_id)
    clock.advance(timedelta(seconds=20))
    near = destination_point(DEIDO, 90, 0.05)
    answers = worker_a.update_positions(
        [Fix("binta", destination_point(DEIDO, 0, 1.05)), Fix("amadou", near)]
    )
    assert [a.accepted for a in answers] == [True, True]
    assert ports_b["drivers"].get("amadou").position == near
    assert ports_b["drivers"].get("binta").position == destination_point(DEIDO, 0, 1.05)
    # The ended ride's track is as B ended it: A's fix did not land on it.
    assert ports_b["orders"].get(order_id).trip == done.trip


def test_a_batch_keeps_times_outside_utc_as_they_are(ports: dict[str, Any]) -> None:
    """A clock in another zone: each fix's time is stored as it was, zone included, and
    his presence is reckoned from it."""
    west_africa = timezone(timedelta(hours=1))
    clock = ManualClock(datetime(2026, 11, 21, 10, 0, tzinfo=west_africa))
    service = build_service(douala_config(), ports, clock=clock)
    drivers = ["binta", "chris"]
    for k, driver in enumerate(drivers):
        service.driver_online(driver, "taxi_jaune", destination_point(AKWA, 90.0 * k, 0.3))
    clock.advance(timedelta(seconds=7))
    moved = [destination_point(AKWA, 90.0 * k, 0.31) for k in range(len(drivers))]
    service.update_positions([Fix(d, p) for d, p in zip(drivers, moved, strict=True)])
    now = clock.now()
    for driver, place in zip(drivers, moved, strict=True):
        status = ports["drivers"].get(driver)
        assert (status.position, status.updated_at, status.seen_at) == (place, now, now)
        assert status.updated_at.utcoffset() == timedelta(hours=1)
    heard = ports["drivers"].heard_before(now + timedelta(microseconds=1), present=True)
    assert sorted(s.driver_id for s in heard) == drivers
    assert ports["drivers"].heard_before(now, present=True) == []


def test_a_kept_idle_driver_given_a_ride_by_another_worker_has_his_fix_on_its_track(
    two_workers: tuple[dict[str, Any], dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    """A keeps binta idle after a batch; B gives her a ride; A's next batch is refused by
    its commit (she is no longer free), read again whole: her fix lands on the ride's
    approach, and the other fixes of the batch are stored (on Redis in three round trips:
    the refused commit, the read, the commit)."""
    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_a = build_service(douala_config(), ports_a, clock=clock)
    worker_b = build_service(douala_config(), ports_b, clock=clock)
    worker_a.driver_online("binta", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    worker_a.driver_online("chris", "taxi_jaune", destination_point(DEIDO, 0, 3.0))
    clock.advance(timedelta(seconds=5))
    worker_a.update_positions(
        [
            Fix("binta", destination_point(AKWA, 0, 0.29)),
            Fix("chris", destination_point(DEIDO, 0, 2.99)),
        ]
    )
    order = worker_b.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "binta"
    worker_b.accept("binta", order.id)
    clock.advance(timedelta(seconds=5))
    coming = destination_point(AKWA, 0, 0.28)
    with count_round_trips() as counter:
        answers = worker_a.update_positions(
            [Fix("binta", coming), Fix("chris", destination_point(DEIDO, 0, 2.98))]
        )
    assert [(a.accepted, a.reason) for a in answers] == [(True, None), (True, None)]
    assert counter.n == (3 if request.node.callspec.params["two_workers"] == "redis" else 0)
    approach = ports_b["progress"].get(order.id).approach
    assert [p.position for p in approach.points] == [coming]
    assert ports_b["drivers"].get("binta").position == coming
    assert ports_b["drivers"].get("chris").position == destination_point(DEIDO, 0, 2.98)


def test_a_kept_idle_driver_put_offline_by_another_worker_is_answered_offline(
    two_workers: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    clock = ManualClock(T0)
    ports_a, ports_b = two_workers
    worker_a = build_service(douala_config(), ports_a, clock=clock)
    worker_b = build_service(douala_config(), ports_b, clock=clock)
    start = destination_point(AKWA, 0, 0.3)
    worker_a.driver_online("binta", "taxi_jaune", start)
    worker_a.driver_online("chris", "taxi_jaune", DEIDO)
    worker_a.update_positions([Fix("binta", start), Fix("chris", DEIDO)])
    worker_b.driver_offline("binta")
    clock.advance(timedelta(seconds=5))
    moved = destination_point(DEIDO, 90, 0.01)
    answers = worker_a.update_positions(
        [Fix("binta", destination_point(AKWA, 0, 0.2)), Fix("chris", moved)]
    )
    assert [(a.accepted, a.reason) for a in answers] == [(False, "offline"), (True, None)]
    binta = ports_b["drivers"].get("binta")
    assert (binta.online, binta.position) == (False, start)
    assert ports_b["drivers"].get("chris").position == moved
    assert [line.count for line in worker_b.search(AKWA, DEIDO)] == [1]


# -- the customer's order ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranking", "trips"),
    # His active orders, the quote his search remembered, the nearest drivers, the commit;
    # an ETA ranker also reads each candidate's position (the three drivers within reach).
    [("distance", 4), ("eta", 7)],
)
def test_an_order_costs_four_round_trips_unless_its_ranker_reads_positions(
    ranking: Literal["distance", "eta"], trips: int
) -> None:
    from vtc_dispatch.pool import PoolConfig, PoolSettings

    storage = redis_support.fresh_storage()
    service = build_service(douala_config(), storage.ports(), clock=ManualClock(T0))
    service.pool = PoolConfig(default=PoolSettings(ranking=ranking))
    for i, km in enumerate((0.3, 0.6, 0.9)):
        service.driver_online(f"d{i}", "taxi_jaune", destination_point(AKWA, 90 * i, km))
    assert [line.count for line in service.search(AKWA, DEIDO)] == [3]
    with count_round_trips() as counter:
        order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "d0"
    assert counter.n == trips
