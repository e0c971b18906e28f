"""One database transaction per command: the unit of work, command log and quote book.

:class:`DjangoUnitOfWork` commits a command's
:class:`~vtc_dispatch.changes.ChangeSet` inside one ``transaction.atomic()``
over this app's tables: the order rows it moves are locked first (sorted
by id, then the drivers' rows, so that two commits never wait for each
other in a circle), every expectation is checked (order and progress
versions, new ids absent, drivers available to reserve, drivers a
presence write expects still heard from when it expects, a wallet covering
a hold), and the first one that fails raises
:class:`~vtc_dispatch.errors.ConcurrencyConflict` (a short wallet:
:class:`~vtc_dispatch.errors.PaymentRefused`) and rolls back every row the
commit wrote: orders, offers, ratings, drivers, progress, wallet moves and
their operation ids, statistics, rating totals and the command's record.
A deadlock or serialization failure the database reports also rolled
everything back: it is a conflict too, and the command decides again.

Messages go out once the transaction is committed:
:class:`OnCommitNotifier` hands each one to the real notifier in
``transaction.on_commit``, so a rolled-back transaction (this one, or a
host's transaction around the command) sends nothing.

Ports kept elsewhere (``VTC_DISPATCH['STORES']``: drivers, progress,
statistics, ratings or the wallet in Redis or in memory) are not in the
transaction.  Their writes follow the safe order of
:class:`~vtc_dispatch.unit_of_work.StoresUnitOfWork`: holds and driver
reservations before the transaction (given back when it fails), everything
else (drivers freed, driver updates, progress, captures, statistics,
ratings) after it committed.  So a driver is never freed before the order
version that frees him is committed, and a crash between the commit and
those writes leaves a driver held a little longer or a wallet order
``SETTLING`` (:meth:`~vtc_dispatch.service.DispatchService.settle_payment`
finishes it), never a driver on two orders.  The orders must be in the
database: their rows are the commit point.

>>> from vtc_dispatch_django.unit_of_work import DjangoUnitOfWork
>>> DjangoUnitOfWork(orders=object())
Traceback (most recent call last):
...
ValueError: DjangoUnitOfWork needs the orders in the database (a DjangoOrderRepository), got ...
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.cache import caches
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from pydantic import BaseModel

from vtc_dispatch.changes import (
    ChangeSet,
    Command,
    CommandRecord,
    Reservation,
    WalletCapture,
    WalletHold,
    WalletRelease,
    heard_expected,
)
from vtc_dispatch.codec import CodecError, order_from_data, order_to_data, quote_from_data
from vtc_dispatch.codec import quote_to_data as _quote_to_data
from vtc_dispatch.errors import (
    ConcurrencyConflict,
    DispatchError,
    NotFound,
    StorageUnavailable,
)
from vtc_dispatch.order import DriverStatus, Order
from vtc_dispatch.ports import (
    CommandLog,
    DriverRegistry,
    Notifier,
    ProgressStore,
    RatingStore,
    StatsStore,
    Wallet,
)
from vtc_dispatch.pricing.quote import FareQuote
from vtc_dispatch.unit_of_work import apply_driver_write, check_heard
from vtc_dispatch.wire import Recipient
from vtc_dispatch_django.models import (
    CommandLogEntry,
    DriverPresence,
    OrderRecord,
    ProgressRecord,
)
from vtc_dispatch_django.repositories import (
    DjangoDriverRegistry,
    DjangoOrderRepository,
    DjangoProgressStore,
    DjangoRatingStore,
    DjangoStatsStore,
    DjangoWallet,
    driver_status,
)

__all__ = [
    "DjangoCommandLog",
    "DjangoQuoteBook",
    "DjangoUnitOfWork",
    "OnCommitNotifier",
]

_log = logging.getLogger(__name__)

# PostgreSQL's deadlock_detected and serialization_failure: the transaction
# was rolled back whole, so deciding again is safe.
_RETRYABLE = frozenset({"40P01", "40001"})


@contextmanager
def _database(what: str) -> Iterator[None]:
    """Database failures as the core's errors (a deadlock is a conflict: nothing was written)."""
    try:
        yield
    except StorageUnavailable as exc:  # a repository's own translation of the same failure
        if _rolled_back(exc.__cause__):
            raise ConcurrencyConflict(f"{what}: the database rolled it back ({exc})") from exc
        raise
    except OperationalError as exc:
        if _rolled_back(exc):
            raise ConcurrencyConflict(f"{what}: the database rolled it back ({exc})") from exc
        raise StorageUnavailable(f"{what}: the database failed: {exc}") from exc
    except IntegrityError:
        raise
    except DatabaseError as exc:
        raise StorageUnavailable(f"{what}: the database failed: {exc}") from exc


def _rolled_back(error: BaseException | None) -> bool:
    """Whether ``error`` is PostgreSQL's deadlock or serialization failure."""
    return (
        isinstance(error, OperationalError)
        and getattr(error.__cause__, "sqlstate", None) in _RETRYABLE
    )


class DjangoCommandLog:
    """Records of commands in :class:`~vtc_dispatch_django.models.CommandLogEntry` rows.

    :meth:`put` inside the command's transaction makes the record exactly
    as durable as the command's writes; a second record of one id is a
    :class:`~vtc_dispatch.errors.ConcurrencyConflict` (the same command ran
    on another connection meanwhile; its writes are rolled back with it).
    """

    def get(self, command_id: str) -> CommandRecord | None:
        """See :class:`~vtc_dispatch.ports.CommandLog`."""
        with _database(f"reading command {command_id!r}"):
            row = CommandLogEntry.objects.filter(command_id=command_id).first()
        if row is None:
            return None
        result = None
        if row.result is not None:
            try:
                result = order_from_data(row.result, version=row.result_version)
            except CodecError as exc:
                raise StorageUnavailable(
                    f"the record of command {command_id!r} cannot be read back: {exc}"
                ) from exc
        return CommandRecord(row.command_id, row.fingerprint, result)

    def put(self, record: CommandRecord) -> None:
        """See :class:`~vtc_dispatch.ports.CommandLog`."""
        result = record.result
        try:
            with _database(f"recording command {record.command_id!r}"), transaction.atomic():
                CommandLogEntry.objects.create(
                    command_id=record.command_id,
                    fingerprint=record.fingerprint,
                    result=None if result is None else order_to_data(result),
                    result_version=None if result is None else result.version,
                )
        except IntegrityError:
            raise ConcurrencyConflict(f"command {record.command_id!r} was already run") from None

    def forget(self, before: datetime) -> int:
        """Delete the records made before ``before`` (no client retries them any more).

        Returns how many went.  A host runs it now and then (a day is a safe age).
        """
        with _database("forgetting old commands"):
            deleted, _ = CommandLogEntry.objects.filter(created_at__lt=before).delete()
        return deleted


class DjangoQuoteBook:
    """Quotes shown at search in Django's cache framework (the ``alias`` cache).

    The cache, not a table: a quote lives two minutes and is written at
    every search, which a cache expires by itself and a table would have
    to purge; and the host already chose where shared short-lived data
    goes.  Shared by every worker when that cache is (Redis, Memcached,
    the database cache); Django's default ``LocMemCache`` keeps quotes
    per process, and an order placed on another process is then quoted
    again.  A cache that fails is not a failed search: the quote is not
    kept (logged), and the order is quoted again.
    """

    def __init__(self, *, alias: str = "default", prefix: str = "vtc-quote:") -> None:
        self._alias = alias
        self._prefix = prefix

    def _key(self, key: str) -> str:
        # Fixed-length keys that any backend takes (Memcached refuses spaces and long keys).
        return self._prefix + hashlib.sha256(key.encode()).hexdigest()[:40]

    def remember(self, key: str, quote: FareQuote, ttl_s: float) -> None:
        """See :class:`~vtc_dispatch.ports.QuoteBook`."""
        try:
            caches[self._alias].set(
                self._key(key), _quote_to_data(quote), timeout=max(1, math.ceil(ttl_s))
            )
        except Exception:  # a cache backend raises its own errors
            _log.warning("quote %r not kept: the cache %r failed", key, self._alias, exc_info=True)

    def recall(self, key: str) -> FareQuote | None:
        """See :class:`~vtc_dispatch.ports.QuoteBook`."""
        try:
            data = caches[self._alias].get(self._key(key))
        except Exception:  # a cache backend raises its own errors
            _log.warning("quote %r not read: the cache %r failed", key, self._alias, exc_info=True)
            return None
        if data is None:
            return None
        try:
            return quote_from_data(data)
        except CodecError:
            return None  # written by another version: quoting again is always right


class OnCommitNotifier:
    """Sends each message through ``inner`` once the current transaction commits.

    Outside a transaction it sends at once; in one, at its commit; never
    when it rolls back.
    """

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """See :class:`~vtc_dispatch.ports.Notifier`."""
        transaction.on_commit(lambda: self.inner.send(recipient, message))


class _Undo:
    """Writes done outside the database before the transaction, given back if it fails."""

    def __init__(self, drivers: DriverRegistry, wallet: Wallet) -> None:
        self.drivers = drivers
        self.wallet = wallet
        self.reservations: list[Reservation] = []
        self.holds: list[str] = []

    def run(self) -> None:
        for reservation in self.reservations:
            self.drivers.release(reservation.driver_id, reservation.order_id)
        for hold_id in self.holds:
            self.wallet.release(hold_id)


class DjangoUnitOfWork:
    """Commits change sets in one database transaction (see the module's documentation)."""

    def __init__(
        self,
        *,
        orders: Any = None,
        drivers: DriverRegistry | None = None,
        progress: ProgressStore | None = None,
        wallet: Wallet | None = None,
        stats: StatsStore | None = None,
        ratings: RatingStore | None = None,
        commands: CommandLog | None = None,
    ) -> None:
        if orders is None:
            orders = DjangoOrderRepository()
        if not isinstance(orders, DjangoOrderRepository):
            raise ValueError(
                "DjangoUnitOfWork needs the orders in the database (a DjangoOrderRepository),"
                f" got {orders!r}"
            )
        self.orders = orders
        self.drivers: DriverRegistry = DjangoDriverRegistry() if drivers is None else drivers
        self.progress: ProgressStore = DjangoProgressStore() if progress is None else progress
        self.wallet: Wallet = DjangoWallet() if wallet is None else wallet
        self.stats: StatsStore = DjangoStatsStore() if stats is None else stats
        self.ratings: RatingStore = DjangoRatingStore() if ratings is None else ratings
        self.commands: CommandLog = DjangoCommandLog() if commands is None else commands
        self._db_drivers = isinstance(self.drivers, DjangoDriverRegistry)
        self._db_progress = isinstance(self.progress, DjangoProgressStore)
        self._db_wallet = isinstance(self.wallet, DjangoWallet)
        self._db_stats = isinstance(self.stats, DjangoStatsStore)
        self._db_ratings = isinstance(self.ratings, DjangoRatingStore)
        self._db_commands = isinstance(self.commands, DjangoCommandLog)

    @property
    def atomic(self) -> bool:
        """Whether every store is in the database (the whole commit is one transaction)."""
        return all(
            (
                self._db_drivers,
                self._db_progress,
                self._db_wallet,
                self._db_stats,
                self._db_ratings,
                self._db_commands,
            )
        )

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        """See :class:`~vtc_dispatch.ports.UnitOfWork`."""
        undo = _Undo(self.drivers, self.wallet)
        try:
            with _database("committing a command"), transaction.atomic():
                stored = self._in_transaction(changes, command, undo)
                after = self._after_commit(changes, command, stored)
                if after is not None:
                    transaction.on_commit(after)
        except BaseException:
            undo.run()
            raise
        return stored

    # -- inside the transaction ------------------------------------------------

    def _in_transaction(
        self, changes: ChangeSet, command: Command | None, undo: _Undo
    ) -> dict[str, Order]:
        self._lock(changes)
        self._holds(changes, undo)
        for wanted in changes.reserve:
            if not self.drivers.reserve(wanted.driver_id, wanted.order_id):
                raise _not_available(wanted)
            if not self._db_drivers:
                undo.reservations.append(wanted)
        stored: dict[str, Order] = {}
        command_id = None if command is None else command.command_id
        for new in changes.new_orders:
            stored[new.id] = self.orders.add(new, command_id=command_id)
        for write in changes.orders:
            stored[write.order.id] = self.orders.save(
                write.order, write.expected_version, command_id=command_id
            )
        if self._db_drivers:
            self._free_and_update_drivers(changes)
        if self._db_progress:
            self._write_progress(changes)
        if self._db_wallet:
            self._settle_wallet(changes, stored)
        if self._db_stats:
            self._count_stats(changes)
        if self._db_ratings:
            self._count_ratings(changes)
        if command is not None and self._db_commands:
            self.commands.put(self._record(command, stored))
        return stored

    def _lock(self, changes: ChangeSet) -> None:
        """Lock the order rows, then the drivers' rows, each sorted; check what they hold."""
        new_ids = [new.id for new in changes.new_orders]
        expected: dict[str, int] = {}
        for write in changes.orders:
            if write.order.id not in new_ids:
                expected.setdefault(write.order.id, write.expected_version)
        for read in changes.reads:
            if expected.setdefault(read.order_id, read.order_version) != read.order_version:
                raise ConcurrencyConflict(
                    f"order {read.order_id!r} was read at version {read.order_version}"
                    f" and written from version {expected[read.order_id]}"
                )
        settling = {op.order_id for op in changes.wallet if not isinstance(op, WalletHold)}
        wanted = sorted(set(expected) | settling)
        if wanted:
            versions = dict(
                OrderRecord.objects.select_for_update()
                .filter(order_id__in=wanted)
                .order_by("order_id")
                .values_list("order_id", "version")
            )
            for order_id, version in expected.items():
                if order_id not in versions:
                    raise NotFound(f"no order {order_id!r}")
                if versions[order_id] != version:
                    raise ConcurrencyConflict(
                        f"order {order_id!r} is at version {versions[order_id]},"
                        f" not {version}: reload and retry"
                    )
        for read in changes.reads:
            current = self._progress_version(read.order_id)
            if current != read.progress_version:
                raise ConcurrencyConflict(
                    f"progress of order {read.order_id!r} is at version {current},"
                    f" not {read.progress_version}: reload and retry"
                )
        if new_ids and OrderRecord.objects.filter(order_id__in=new_ids).exists():
            raise ConcurrencyConflict(f"one of the orders {new_ids!r} already exists")
        expecting = [w for w in changes.drivers if heard_expected(w) is not None]
        if not self._db_drivers:
            for presence in expecting:  # another store: checked as it stands, not locked
                check_heard(self._status(presence.driver_id), presence)
            return
        touched = sorted(
            {r.driver_id for r in (*changes.reserve, *changes.release)}
            | {w.driver_id for w in expecting}
        )
        if not touched:
            return
        rows = {
            row.driver_id: row
            for row in DriverPresence.objects.select_for_update()
            .filter(driver_id__in=touched)
            .order_by("driver_id")
        }
        for reservation in changes.reserve:
            row = rows.get(reservation.driver_id)
            if row is None or not row.available:
                raise _not_available(reservation)
        for presence in expecting:
            row = rows.get(presence.driver_id)
            check_heard(None if row is None else driver_status(row), presence)

    def _progress_version(self, order_id: str) -> int:
        if not self._db_progress:
            return self.progress.get(order_id).version  # best effort: another store
        # Locked, so that no fix lands between this check and the commit.
        version = (
            ProgressRecord.objects.select_for_update()
            .filter(order_id=order_id)
            .values_list("version", flat=True)
            .first()
        )
        return 0 if version is None else version

    def _holds(self, changes: ChangeSet, undo: _Undo) -> None:
        """Money held for new orders (each hold's id is ``hold_id_for`` its op id)."""
        for op in changes.wallet:
            if isinstance(op, WalletHold):
                hold_id = self.wallet.hold(
                    op.customer_id, op.amount, op.currency, op.reference, op_id=op.op_id
                )
                if not self._db_wallet:
                    undo.holds.append(hold_id)

    def _status(self, driver_id: str) -> DriverStatus | None:
        try:
            return self.drivers.get(driver_id)
        except NotFound:
            return None

    def _free_and_update_drivers(self, changes: ChangeSet) -> None:
        for freed in changes.release:
            self.drivers.release(freed.driver_id, freed.order_id)
        for write in changes.drivers:
            status = apply_driver_write(self._status(write.driver_id), write)
            if status is not None:
                self.drivers.put(status)

    def _write_progress(self, changes: ChangeSet) -> None:
        for progress in changes.progress:
            self.progress.save(progress.progress, progress.expected_version)
        for order_id in changes.discard_progress:
            self.progress.discard(order_id)

    def _settle_wallet(self, changes: ChangeSet, stored: dict[str, Order]) -> None:
        """Captures and releases of ended orders, each order then stored as settled."""
        for op in changes.wallet:
            if isinstance(op, WalletCapture):
                paid: Decimal | None = self.wallet.capture(op.hold_id, op.amount, op_id=op.op_id)
            elif isinstance(op, WalletRelease):
                self.wallet.release(op.hold_id, op_id=op.op_id)
                paid = None
            else:
                continue
            order = self.orders.get(op.order_id)
            stored[op.order_id] = self.orders.save(order.settled(paid), order.version)

    def _count_stats(self, changes: ChangeSet) -> None:
        for stat in changes.stats:
            self.stats.record(stat.driver_id, stat.outcome, stat.at)

    def _count_ratings(self, changes: ChangeSet) -> None:
        for rating in changes.ratings:
            self.ratings.add(rating.party_id, rating.stars)

    def _record(self, command: Command, stored: dict[str, Order]) -> CommandRecord:
        result = None
        if command.result_id is not None:
            result = stored.get(command.result_id) or self.orders.get(command.result_id)
        return CommandRecord(command.command_id, command.fingerprint, result)

    # -- after the commit: the stores outside the database -----------------------

    def _after_commit(
        self, changes: ChangeSet, command: Command | None, stored: dict[str, Order]
    ) -> Callable[[], None] | None:
        """What the stores outside the database do once the orders are committed."""
        steps: list[Callable[[], None]] = []
        if not self._db_drivers and (changes.release or changes.drivers):
            steps.append(lambda: self._free_and_update_drivers(changes))
        if not self._db_progress and (changes.progress or changes.discard_progress):
            steps.append(lambda: self._write_progress(changes))
        if not self._db_wallet and any(not isinstance(op, WalletHold) for op in changes.wallet):
            steps.append(lambda: self._settle_outside(changes))
        if not self._db_stats and changes.stats:
            steps.append(lambda: self._count_stats(changes))
        if not self._db_ratings and changes.ratings:
            steps.append(lambda: self._count_ratings(changes))
        if command is not None and not self._db_commands:
            record = self._record(command, stored)
            steps.append(lambda: self.commands.put(record))
        if not steps:
            return None

        def run() -> None:
            try:
                for step in steps:
                    step()
            except DispatchError as exc:
                # The orders are committed: deciding again would do the command twice.
                raise StorageUnavailable(
                    f"the command is committed, but a store outside the database failed"
                    f" after it: {exc}"
                ) from exc

        return run

    def _settle_outside(self, changes: ChangeSet) -> None:
        for op in changes.wallet:
            if isinstance(op, WalletCapture):
                paid: Decimal | None = self.wallet.capture(op.hold_id, op.amount, op_id=op.op_id)
            elif isinstance(op, WalletRelease):
                self.wallet.release(op.hold_id, op_id=op.op_id)
                paid = None
            else:
                continue
            with _database(f"settling order {op.order_id!r}"), transaction.atomic():
                OrderRecord.objects.select_for_update().filter(order_id=op.order_id).first()
                order = self.orders.get(op.order_id)
                self.orders.save(order.settled(paid), order.version)


def _not_available(wanted: Reservation) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        f"driver {wanted.driver_id!r} is not available for order {wanted.order_id!r}"
    )
