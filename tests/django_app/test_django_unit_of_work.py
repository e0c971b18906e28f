"""One database transaction per command: all or nothing, messages after the commit, races.

The service here is the Django runtime's (``DjangoUnitOfWork`` over every
store in PostgreSQL, or SQLite without it); the racing services each run
on their own thread, so on their own database connection.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import attrs
import pytest
from django.db import connection, transaction
from django_demo import AKWA, DEIDO, T0, Demo

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.changes import (
    ChangeSet,
    Command,
    CommandRecord,
    DriverOffline,
    DriverPositioned,
    OrderWrite,
    ProgressWrite,
    RatingIncrement,
    Reservation,
    RideRead,
    StatIncrement,
    WalletHold,
)
from vtc_dispatch.commands.dispatching import quote_key
from vtc_dispatch.errors import ConcurrencyConflict, PaymentRefused
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import InMemoryDriverRegistry, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, Order, RideProgress
from vtc_dispatch.service import DispatchService
from vtc_dispatch_django import models
from vtc_dispatch_django.repositories import DjangoOrderRepository, DjangoWallet
from vtc_dispatch_django.unit_of_work import DjangoCommandLog, DjangoQuoteBook, DjangoUnitOfWork

PICKUP = LatLng(AKWA["lat"], AKWA["lng"])
DESTINATION = LatLng(DEIDO["lat"], DEIDO["lng"])

# Every table of the dispatch state (the configuration tables are not written by commands).
STATE = (
    models.OrderRecord,
    models.OfferRecord,
    models.RatingRecord,
    models.ProgressRecord,
    models.DriverPresence,
    models.StatsRecord,
    models.DriverAnswer,
    models.RatingTotal,
    models.WalletAccount,
    models.WalletHold,
    models.WalletOperation,
    models.CommandLogEntry,
)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every state table (versions, JSON and all), in a stable order."""
    return {
        model.__name__: sorted(
            (tuple(map(repr, row)) for row in model.objects.values_list()), key=repr
        )
        for model in STATE
    }


@pytest.fixture
def recording(live_demo: Demo, settings: Any) -> tuple[DispatchService, RecordingNotifier]:
    """The runtime's service with the messages kept in memory (``NOTIFIER: "none"``)."""
    from vtc_dispatch_django.runtime import reset_service

    settings.VTC_DISPATCH = {**settings.VTC_DISPATCH, "NOTIFIER": "none"}
    reset_service()
    service = live_demo.service
    inner = service.notifier.inner  # type: ignore[attr-defined]
    assert isinstance(inner, RecordingNotifier)
    return service, inner


@pytest.fixture
def searching(demo: Demo) -> tuple[DispatchService, Order]:
    """amadou and brice online, chantal's WALLET order offered to amadou; carine online."""
    service = demo.service
    ids = demo.ids
    service.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    service.driver_online(ids["brice"], "taxi_jaune", LatLng(4.0600, 9.7100))
    service.driver_online(ids["carine"], "confort", LatLng(4.0540, 9.7060))
    DjangoWallet().credit(ids["chantal"], Decimal(20_000), "XAF")
    order = service.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "WALLET")
    assert order.offered_to == ids["amadou"]
    return service, order


def _many_writes(demo: Demo, order: Order) -> ChangeSet:
    """A change set writing every state table, each write valid on its own."""
    ids = demo.ids
    later = T0 + timedelta(minutes=1)
    other = attrs.evolve(order, id="o-new", wallet_hold="op-hold", version=0)
    return ChangeSet(
        new_orders=(other,),
        orders=(OrderWrite(attrs.evolve(order, offers=()), order.version),),
        reserve=(Reservation(ids["carine"], "o-new"),),
        release=(Reservation(ids["amadou"], order.id),),
        drivers=(
            DriverPositioned(ids["brice"], LatLng(4.06, 9.71), later),
            DriverOffline(ids["brice"], later),
        ),
        progress=(ProgressWrite(RideProgress(order.id), 0),),
        wallet=(WalletHold("op-hold", ids["didier"], Decimal(0), "XAF", "o-new"),),
        stats=(StatIncrement(ids["amadou"], "refused", later),),
        ratings=(RatingIncrement(ids["chantal"], 4),),
    )


def _stale_order(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    return attrs.evolve(changes, orders=(OrderWrite(order, order.version - 1),))


def _taken_driver(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    return attrs.evolve(changes, reserve=(Reservation(demo.ids["amadou"], "o-new"),))


def _stale_progress(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    # Checked by the progress write itself, after the orders and drivers are written.
    return attrs.evolve(changes, progress=(ProgressWrite(RideProgress(order.id), 3),))


def _ride_read_at_an_older_order(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    return attrs.evolve(changes, reads=(RideRead(order.id, order.version - 1, 0),))


def _ride_read_at_another_progress(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    return attrs.evolve(changes, reads=(RideRead(order.id, order.version, 7),))


def _short_wallet(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    hold = WalletHold("op-hold", demo.ids["didier"], Decimal(500), "XAF", "o-new")
    return attrs.evolve(changes, wallet=(hold,))


def _existing_order(demo: Demo, order: Order, changes: ChangeSet) -> ChangeSet:
    return attrs.evolve(changes, new_orders=(attrs.evolve(order, version=0),))


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        (_stale_order, ConcurrencyConflict),
        (_taken_driver, ConcurrencyConflict),
        (_stale_progress, ConcurrencyConflict),
        (_ride_read_at_an_older_order, ConcurrencyConflict),
        (_ride_read_at_another_progress, ConcurrencyConflict),
        (_short_wallet, PaymentRefused),
        (_existing_order, ConcurrencyConflict),
    ],
)
def test_a_commit_whose_one_expectation_fails_leaves_every_table_as_it_was(
    demo: Demo,
    searching: tuple[DispatchService, Order],
    spoil: Callable[[Demo, Order, ChangeSet], ChangeSet],
    error: type[Exception],
) -> None:
    service, order = searching
    uow = service.uow
    assert isinstance(uow, DjangoUnitOfWork)
    assert uow.atomic
    valid = _many_writes(demo, order)
    before = snapshot()
    with pytest.raises(error):
        uow.commit(spoil(demo, order, valid), command=Command("cmd-1", "test()", order.id))
    assert snapshot() == before
    # The same change set without the spoiled expectation writes every table.
    stored = uow.commit(valid, command=Command("cmd-1", "test()", order.id))
    after = snapshot()
    changed = {name for name, rows in after.items() if rows != before[name]}
    assert changed >= {
        "OrderRecord",
        "OfferRecord",
        "ProgressRecord",
        "DriverPresence",
        "StatsRecord",
        "DriverAnswer",
        "RatingTotal",
        "WalletHold",
        "WalletOperation",
        "CommandLogEntry",
    }
    assert stored[order.id].version == order.version + 1
    assert uow.commands.get("cmd-1") == CommandRecord("cmd-1", "test()", stored[order.id])


def test_a_command_recorded_by_another_commit_writes_nothing(
    demo: Demo, searching: tuple[DispatchService, Order]
) -> None:
    """The command's record is the last row written: its conflict undoes every other one."""
    service, order = searching
    DjangoCommandLog().put(CommandRecord("cmd-2", "test()", None))
    before = snapshot()
    with pytest.raises(ConcurrencyConflict, match="'cmd-2' was already run"):
        service.uow.commit(_many_writes(demo, order), command=Command("cmd-2", "test()", None))
    assert snapshot() == before


def test_a_rolled_back_transaction_sends_no_message(
    live_demo: Demo, recording: tuple[DispatchService, RecordingNotifier]
) -> None:
    service, sent = recording
    ids = live_demo.ids
    service.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    sent.clear()

    def view_failing_after_the_command() -> None:
        with transaction.atomic():
            order = service.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "CASH")
            assert models.OrderRecord.objects.filter(order_id=order.id).exists()
            assert list(sent.sent) == []  # not yet: the host's transaction is still open
            raise RuntimeError("the host's view failed after the command")

    with pytest.raises(RuntimeError):
        view_failing_after_the_command()
    assert list(sent.sent) == []
    assert not models.OrderRecord.objects.exists()
    assert service.drivers.get(ids["amadou"]).available
    order = service.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert [m.type for m in sent.messages_for("driver", ids["amadou"])] == ["offer"]  # type: ignore[attr-defined]
    assert order.offered_to == ids["amadou"]


def test_a_commit_refused_by_the_wallet_sends_no_message(
    live_demo: Demo, recording: tuple[DispatchService, RecordingNotifier]
) -> None:
    """The hold is the commit's: refused, the offer it made is neither stored nor sent."""
    service, sent = recording
    ids = live_demo.ids
    service.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    sent.clear()
    before = snapshot()
    with pytest.raises(PaymentRefused, match="holds 0 XAF"):
        service.create_order(ids["didier"], PICKUP, DESTINATION, "taxi_jaune", "WALLET")
    assert list(sent.sent) == []
    assert snapshot() == before


# -- two services, two connections ----------------------------------------------------


def _service(demo: Demo, orders: DjangoOrderRepository | None = None) -> DispatchService:
    from vtc_dispatch_django.config import load_from_db
    from vtc_dispatch_django.runtime import default_stores, with_unit_of_work

    stores = default_stores()
    if orders is not None:
        stores["orders"] = orders
    clock = ManualClock(demo.clock.now())
    return build_service(load_from_db(), with_unit_of_work(stores), clock=clock)


class _PausingOrders(DjangoOrderRepository):
    """Runs ``meanwhile`` once, right after the first read of an order: another worker's turn."""

    def __init__(self) -> None:
        self.meanwhile: Callable[[], None] | None = None

    def get(self, order_id: str) -> Order:
        order = super().get(order_id)
        run, self.meanwhile = self.meanwhile, None
        if run is not None:
            run()
        return order

    def with_live_offer(self, due_by: Any) -> list[Order]:
        found = super().with_live_offer(due_by)
        run, self.meanwhile = self.meanwhile, None
        if run is not None:
            run()
        return found


def on_its_own_connection(work: Callable[[], Any]) -> Any:
    """``work()`` on another thread, so on another database connection; its answer or error."""
    answer: list[Any] = []

    def target() -> None:
        try:
            answer.append(work())
        except Exception as exc:  # handed back to the test
            answer.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    assert answer, "the other worker did not finish"
    if isinstance(answer[0], Exception):
        raise answer[0]
    return answer[0]


def consistent(demo: Demo) -> None:
    """No order on a driver the registry says is free, and no driver held by two orders."""
    holders: dict[str, str] = {}
    for record in models.OrderRecord.objects.filter(active=True):
        if record.state in ("accepted", "arrived", "in_progress"):
            presence = models.DriverPresence.objects.get(driver_id=record.driver_id)
            assert presence.order_id == record.order_id, (record.order_id, record.state)
            assert not presence.available
        for offer in models.OfferRecord.objects.filter(order_id=record.pk):
            assert holders.setdefault(offer.driver_id, record.order_id) == record.order_id
    for presence in models.DriverPresence.objects.exclude(order_id=None):
        record = models.OrderRecord.objects.get(order_id=presence.order_id)
        assert record.active, f"driver {presence.driver_id} held by ended {record.order_id}"


@pytest.fixture
def race(live_demo: Demo) -> tuple[DispatchService, _PausingOrders, Order]:
    ids = live_demo.ids
    orders = _PausingOrders()
    worker_a = _service(live_demo, orders)
    worker_a.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    worker_a.driver_online(ids["brice"], "taxi_jaune", LatLng(4.0600, 9.7100))
    order = worker_a.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert order.offered_to == ids["amadou"]
    return worker_a, orders, order


def test_an_accept_on_another_connection_during_an_expiry_ends_accepted_and_held(
    live_demo: Demo, race: tuple[DispatchService, _PausingOrders, Order]
) -> None:
    worker_a, orders, order = race
    amadou = live_demo.ids["amadou"]
    offer = order.offer_to(amadou)
    assert offer is not None
    worker_a.clock.advance(offer.expires_at - worker_a.clock.now())  # type: ignore[attr-defined]

    def worker_b_accepts() -> None:
        worker_b = _service(live_demo)
        worker_b.clock.set(offer.expires_at - timedelta(seconds=1))  # type: ignore[attr-defined]
        accepted = on_its_own_connection(lambda: worker_b.accept(amadou, order.id))
        assert accepted.state == "accepted"

    orders.meanwhile = worker_b_accepts
    worker_a.expire_due()
    final = worker_a.orders.get(order.id)
    assert (final.state, final.driver_id) == ("accepted", amadou)
    assert worker_a.drivers.get(amadou).order_id == order.id
    consistent(live_demo)


def test_an_accept_on_another_connection_during_a_cancel_ends_consistent(
    live_demo: Demo, race: tuple[DispatchService, _PausingOrders, Order]
) -> None:
    worker_a, orders, order = race
    amadou, chantal = live_demo.ids["amadou"], live_demo.ids["chantal"]

    def worker_b_accepts() -> None:
        worker_b = _service(live_demo)
        on_its_own_connection(lambda: worker_b.accept(amadou, order.id))

    orders.meanwhile = worker_b_accepts
    cancelled = worker_a.cancel(Actor.customer(chantal), order.id, "changed my mind")
    assert cancelled.state == "cancelled"
    assert worker_a.drivers.get(amadou).available  # freed with the cancelled version
    consistent(live_demo)


_LOSING = ("OfferExpired", "OfferWithdrawn", "InvalidTransition", "ConcurrencyConflict")


def _let_loose(demo: Demo, works: list[tuple[Callable[[DispatchService], Any], Any]]) -> None:
    """Each ``work(service)`` at its time on its own thread and connection, started at once.

    A loser's error (the order moved on, or every retry lost) is allowed;
    any other error fails the test.
    """
    start = threading.Barrier(len(works))
    errors: list[BaseException] = []

    def run(work: Callable[[DispatchService], Any], at: Any) -> None:
        service = _service(demo)
        service.clock.set(at)  # type: ignore[attr-defined]
        try:
            start.wait()
            work(service)
        except Exception as exc:
            if type(exc).__name__ not in _LOSING:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=work) for work in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []


def test_accepts_expiries_and_cancels_racing_on_three_connections_stay_consistent(
    live_demo: Demo,
) -> None:
    """Rounds of a driver's accept, an expiry and a cancel let loose at once on three threads."""
    ids = live_demo.ids
    base = _service(live_demo)
    base.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    base.driver_online(ids["brice"], "taxi_jaune", LatLng(4.0600, 9.7100))
    outcomes = set()
    for round_ in range(6):
        customer = Actor.customer(ids["chantal"] if round_ % 2 else ids["didier"])
        order = base.create_order(customer.id, PICKUP, DESTINATION, "taxi_jaune", "CASH")
        driver = order.offered_to
        offer = None if driver is None else order.offer_to(driver)
        assert driver is not None
        assert offer is not None
        _let_loose(
            live_demo,
            [
                (partial(DispatchService.accept, driver_id=driver, order_id=order.id),
                 offer.expires_at - timedelta(seconds=1)),
                (DispatchService.expire_due, offer.expires_at),
                (partial(DispatchService.cancel, actor=customer, order_id=order.id, reason="race"),
                 offer.expires_at),
            ],
        )  # fmt: skip
        consistent(live_demo)
        final = base.orders.get(order.id)
        outcomes.add(final.state)
        if final.is_active:
            base.clock.set(offer.expires_at)  # type: ignore[attr-defined]
            base.cancel(customer, order.id, "next round")
        consistent(live_demo)
    assert "cancelled" in outcomes


# -- the command log and the quote book ------------------------------------------------


def test_the_command_log_keeps_the_order_as_the_codec_stores_it(
    demo: Demo, searching: tuple[DispatchService, Order]
) -> None:
    _, order = searching
    log = DjangoCommandLog()
    log.put(CommandRecord("c-1", "create_order(...)", order))
    log.put(CommandRecord("c-2", "driver_online(...)", None))
    assert log.get("c-1") == CommandRecord("c-1", "create_order(...)", order)
    assert log.get("c-2") == CommandRecord("c-2", "driver_online(...)", None)
    assert log.get("c-3") is None
    with pytest.raises(ConcurrencyConflict, match="'c-1'"):
        log.put(CommandRecord("c-1", "other(...)", None))
    assert log.forget(T0) == 0  # rows are stamped with the real time of their writing
    assert log.forget(T0 + timedelta(days=3650)) == 2
    assert log.get("c-1") is None


def test_a_quote_shown_by_one_worker_is_the_price_of_an_order_placed_on_another(
    demo: Demo,
) -> None:
    ids = demo.ids
    one, other = _service(demo), _service(demo)
    assert isinstance(one._ctx.quotes, DjangoQuoteBook)
    one.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    [line] = one.search(PICKUP, DESTINATION)
    order = other.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert order.quote == line.quote
    # What the other worker took is the book's quote, not one it worked out again.
    shown = attrs.evolve(line.quote, estimate=line.quote.estimate + 25)
    DjangoQuoteBook().remember(
        quote_key(PICKUP, DESTINATION, "taxi_jaune"), shown, one.settings.quote_valid_s
    )
    other.cancel(Actor.customer(ids["chantal"]), order.id, "again")
    again = other.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert again.quote == shown


def test_drivers_kept_outside_the_database_are_taken_before_and_freed_after_the_commit(
    demo: Demo, django_capture_on_commit_callbacks: Any
) -> None:
    from vtc_dispatch_django.config import load_from_db
    from vtc_dispatch_django.runtime import default_stores, with_unit_of_work

    ids = demo.ids
    drivers = InMemoryDriverRegistry()
    stores = with_unit_of_work({**default_stores(), "drivers": drivers})
    uow = stores["unit_of_work"]
    assert isinstance(uow, DjangoUnitOfWork)
    assert not uow.atomic
    service = build_service(load_from_db(), stores, clock=demo.clock)
    # The test's transaction stands for the host's: outside writes wait for its commit.
    with django_capture_on_commit_callbacks(execute=True):
        service.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
        service.driver_online(ids["brice"], "taxi_jaune", LatLng(4.0600, 9.7100))
    order = service.create_order(ids["chantal"], PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert drivers.get(ids["amadou"]).order_id == order.id
    # A reservation taken before a transaction that fails is given back.
    spoiled = ChangeSet(
        reserve=(Reservation(ids["brice"], order.id),),
        orders=(OrderWrite(order, order.version - 1),),
    )
    with pytest.raises(ConcurrencyConflict):
        uow.commit(spoiled)
    assert drivers.get(ids["brice"]).available
    # A driver is freed once the order version that frees him is committed, not before.
    with django_capture_on_commit_callbacks() as after_commit:
        cancelled = service.cancel(Actor.customer(ids["chantal"]), order.id, "plans changed")
        assert cancelled.state == "cancelled"
        assert drivers.get(ids["amadou"]).order_id == order.id
    for callback in after_commit:
        callback()
    assert drivers.get(ids["amadou"]).available


def test_dispatch_worker_forgets_command_records_older_than_a_day(demo: Demo) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    log = DjangoCommandLog()
    log.put(CommandRecord("old", "driver_online(...)", None))
    log.put(CommandRecord("new", "driver_online(...)", None))
    models.CommandLogEntry.objects.filter(command_id="old").update(
        created_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    call_command("dispatch_worker", "--once", stdout=io.StringIO())
    assert log.get("old") is None
    assert log.get("new") is not None


class _Deadlock(Exception):
    sqlstate = "40P01"


@pytest.mark.parametrize("through_a_repository", [False, True])
def test_a_deadlock_the_database_rolled_back_is_a_conflict(through_a_repository: bool) -> None:
    """Nothing was written: the command may decide again (any other failure is a 503)."""
    from django.db import OperationalError

    from vtc_dispatch.errors import StorageUnavailable
    from vtc_dispatch_django.unit_of_work import _database

    def fail(state: str) -> None:
        cause = _Deadlock("deadlock detected")
        cause.sqlstate = state
        error = OperationalError("deadlock detected")
        error.__cause__ = cause
        if not through_a_repository:
            raise error
        raise StorageUnavailable("saving order 'o-1': the database failed") from error

    with pytest.raises(ConcurrencyConflict, match="rolled it back"), _database("committing"):
        fail("40P01")
    with pytest.raises(StorageUnavailable), _database("committing"):
        fail("08006")
