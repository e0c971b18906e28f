"""A unit of work over the storage ports: one change set stored in a safe order.

:class:`StoresUnitOfWork` commits a :class:`~vtc_dispatch.changes.ChangeSet`
through the ports the service already has.  With the in-memory stores it
holds their commit lock, checks every expectation first and then writes:
the commit is atomic.  Over stores without a unit of work of their own, it
writes in the order that keeps them consistent when another worker
interleaves: money held and drivers reserved first (given back if the order
cannot be stored), the orders next (the commit point), and only then the
drivers freed, positions, progress, captures, statistics and ratings.  A
process that dies after the commit point leaves a driver held a little
longer, never a driver on two orders.

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.changes import ChangeSet, DriverOnline, Reservation
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.memory import InMemoryStores
>>> stores = InMemoryStores()
>>> uow = stores.unit_of_work()
>>> at = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
>>> online = DriverOnline("amadou", "taxi_jaune", LatLng(4.05, 9.7), at)
>>> _ = uow.commit(ChangeSet(drivers=(online,)))
>>> stores.drivers.get("amadou").available
True
>>> uow.commit(ChangeSet(reserve=(Reservation("binta", "o-1"),)))
Traceback (most recent call last):
...
vtc_dispatch.errors.ConcurrencyConflict: driver 'binta' is not available for order 'o-1'
"""

from __future__ import annotations

import contextlib
import threading
from decimal import Decimal

from vtc_dispatch._records import evolve, slot_copier
from vtc_dispatch.changes import (
    ChangeSet,
    Command,
    CommandRecord,
    DriverAbsent,
    DriverOffline,
    DriverOnline,
    DriverPositioned,
    DriverSeen,
    DriverSuspension,
    DriverWrite,
    Reservation,
    WalletCapture,
    WalletHold,
    WalletRelease,
    heard_expected,
)
from vtc_dispatch.errors import ConcurrencyConflict, DispatchError, NotFound, shown
from vtc_dispatch.order import DriverStatus, Order, Presence
from vtc_dispatch.ports import (
    CommandLog,
    DriverRegistry,
    OrderRepository,
    ProgressStore,
    RatingStore,
    StatsStore,
    Wallet,
)

__all__ = ["StoresUnitOfWork", "apply_driver_write", "check_heard"]

_SETTLE_ATTEMPTS = 8


class StoresUnitOfWork:
    """Commits change sets through the storage ports (see the module's documentation).

    ``lock``, when given, is held for the whole commit: every writer of the
    stores must take it (the in-memory stores share one), and then every
    expectation is checked before the first write.
    """

    def __init__(
        self,
        *,
        orders: OrderRepository,
        drivers: DriverRegistry,
        progress: ProgressStore,
        wallet: Wallet,
        stats: StatsStore,
        ratings: RatingStore,
        commands: CommandLog,
        lock: threading.RLock | None = None,
    ) -> None:
        self.orders = orders
        self.drivers = drivers
        self.progress = progress
        self.wallet = wallet
        self.stats = stats
        self.ratings = ratings
        self.commands = commands
        self._lock = lock
        self._guard: contextlib.AbstractContextManager[object] = (
            contextlib.nullcontext() if lock is None else lock
        )

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        """See :class:`~vtc_dispatch.ports.UnitOfWork`."""
        with self._guard:
            if command is not None and self.commands.get(command.command_id) is not None:
                raise ConcurrencyConflict(f"command {shown(command.command_id)} was already run")
            self._check_heard(changes)
            if changes.drivers_only:
                # Positions and ON/OFF: nothing else to check, nothing to give back.
                stored: dict[str, Order] = {}
                for write in changes.drivers:
                    self._write_driver(write)
            else:
                self._check_reads(changes)
                if self._lock is not None:
                    self._check(changes)
                stored = self._write_until_orders(changes)
                self._write_after_orders(changes, stored)
            if command is not None:
                result = None
                if command.result_id is not None:
                    result = stored.get(command.result_id) or self.orders.get(command.result_id)
                self.commands.put(CommandRecord(command.command_id, command.fingerprint, result))
        return stored

    def _check(self, changes: ChangeSet) -> None:
        """The expectations that the writes after the orders would find broken.

        Holds, reservations and orders check their own expectations as they
        are written, and are given back when one fails; the progress is
        written after the orders, so its version is checked before them.
        Only exact under the lock.
        """
        for progress in changes.progress:
            self._expect_progress(progress.progress.order_id, progress.expected_version)

    def _check_heard(self, changes: ChangeSet) -> None:
        """The presence writes' drivers are as they were read (exact under the lock)."""
        for write in changes.drivers:
            if type(write) not in _NOTHING_HEARD and heard_expected(write) is not None:
                check_heard(self._status(write.driver_id), write)

    def _check_reads(self, changes: ChangeSet) -> None:
        """The rides the decision read are still as it read them (exact under the lock).

        A version the change set also writes from is checked by that write.
        """
        if not changes.reads:
            return
        orders = {w.order.id: w.expected_version for w in changes.orders}
        progress = {p.progress.order_id: p.expected_version for p in changes.progress}
        for read in changes.reads:
            order_id = read.order_id
            if orders.get(order_id) != read.order_version:
                order = self.orders.get(order_id)
                if order.version != read.order_version:
                    raise ConcurrencyConflict(
                        f"order {shown(order_id)} is at version {order.version},"
                        f" not {read.order_version}: reload and retry"
                    )
            if progress.get(order_id) != read.progress_version:
                self._expect_progress(order_id, read.progress_version)

    def _expect_progress(self, order_id: str, expected: int) -> None:
        current = self.progress.get(order_id).version
        if current != expected:
            raise ConcurrencyConflict(
                f"progress of order {shown(order_id)} is at version {current},"
                f" not {expected}: reload and retry"
            )

    def _status(self, driver_id: str) -> DriverStatus | None:
        try:
            return self.drivers.get(driver_id)
        except NotFound:
            return None

    def _write_until_orders(self, changes: ChangeSet) -> dict[str, Order]:
        """Holds, reservations and orders: all given back when one of them fails."""
        holds: list[str] = []
        taken: list[Reservation] = []
        try:
            for op in changes.wallet:
                if isinstance(op, WalletHold):
                    hold_id = self.wallet.hold(
                        op.customer_id, op.amount, op.currency, op.reference, op_id=op.op_id
                    )
                    holds.append(hold_id)  # given back if what follows fails
            for wanted in changes.reserve:
                if not self.drivers.reserve(wanted.driver_id, wanted.order_id):
                    raise _not_available(wanted)
                taken.append(wanted)
            stored: dict[str, Order] = {}
            for new in changes.new_orders:
                stored[new.id] = self.orders.add(new)
            for write in changes.orders:
                stored[write.order.id] = self.orders.save(write.order, write.expected_version)
        except DispatchError:
            for reservation in taken:
                self.drivers.release(reservation.driver_id, reservation.order_id)
            for hold_id in holds:
                self.wallet.release(hold_id, op_id=f"undo-{hold_id}")
            raise
        return stored

    def _write_driver(self, write: DriverWrite) -> None:
        status = apply_driver_write(self._status(write.driver_id), write)
        if status is not None:
            self.drivers.put(status)

    def _settle(self, order_id: str, paid: Decimal | None, stored: dict[str, Order]) -> None:
        """The ended order's payment, once the wallet moved (SETTLING until then).

        A rating stored in between is kept: the payment goes on top of it.
        An order that keeps changing is left SETTLING: the wallet operation
        is recorded under its op id, so ``settle_payment`` finishes it
        without moving money again.
        """
        for _ in range(_SETTLE_ATTEMPTS):
            order = self.orders.get(order_id)
            try:
                stored[order_id] = self.orders.save(order.settled(paid), order.version)
            except ConcurrencyConflict:
                continue
            return

    def _write_after_orders(self, changes: ChangeSet, stored: dict[str, Order]) -> None:
        for freed in changes.release:
            self.drivers.release(freed.driver_id, freed.order_id)
        for write in changes.drivers:
            self._write_driver(write)
        for progress in changes.progress:
            self.progress.save(progress.progress, progress.expected_version)
        for order_id in changes.discard_progress:
            self.progress.discard(order_id)
        for op in changes.wallet:
            if isinstance(op, WalletCapture):
                paid = self.wallet.capture(op.hold_id, op.amount, op_id=op.op_id)
                self._settle(op.order_id, paid, stored)
            elif isinstance(op, WalletRelease):
                self.wallet.release(op.hold_id, op_id=op.op_id)
                self._settle(op.order_id, None, stored)
        for stat in changes.stats:
            self.stats.record(stat.driver_id, stat.outcome, stat.at)
        for rating in changes.ratings:
            self.ratings.add(rating.party_id, rating.stars)


_moved = slot_copier(DriverStatus, "position", "updated_at", "seen_at", "presence")
"""Every fix comes here: a copy that skips attrs' ``__init__`` and its keyword defaults."""

_NOTHING_HEARD = frozenset({DriverPositioned, DriverSeen, DriverOnline})
"""Driver writes that expect nothing of when he was last heard from (the hot ones)."""


def apply_driver_write(status: DriverStatus | None, write: DriverWrite) -> DriverStatus | None:
    """The driver's status after ``write`` (``None``: nothing to store).

    >>> from datetime import datetime, timezone
    >>> from vtc_dispatch.changes import DriverRated
    >>> from vtc_dispatch.geo import LatLng
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
    >>> on = apply_driver_write(None, DriverOnline("amadou", "confort", LatLng(4.05, 9.7), at))
    >>> on.online, on.vehicle_type
    (True, 'confort')
    >>> rated = apply_driver_write(on, DriverRated("amadou", 1, min_count=1, threshold=3.0))
    >>> rated.rating_count, rated.blocked
    (1, True)
    """
    if isinstance(write, DriverPositioned):
        if status is None:
            return None
        at = write.at
        return _moved(status, write.position, at, at, Presence.PRESENT)
    if isinstance(write, DriverOnline):
        if status is None:
            return DriverStatus(write.driver_id, write.vehicle_type, write.position, True, write.at)
        return evolve(
            status,
            vehicle_type=write.vehicle_type,
            position=write.position,
            online=True,
            updated_at=write.at,
            seen_at=write.at,
            presence=Presence.PRESENT,
            offline_reason=None,
        )
    if status is None:
        return None
    if isinstance(write, DriverSeen):
        return evolve(status, seen_at=write.at, presence=Presence.PRESENT)
    if isinstance(write, DriverAbsent):
        return evolve(status, presence=write.presence)
    if isinstance(write, DriverOffline):
        # An order that holds him frees him itself (in the same change set, or at its end).
        return evolve(status, online=False, updated_at=write.at, offline_reason=write.reason)
    if isinstance(write, DriverSuspension):
        return evolve(status, suspended=write.suspended)
    total, count = status.rating_sum + write.stars, status.rating_count + 1
    blocked = count >= write.min_count and total / count < write.threshold
    return evolve(status, rating_sum=total, rating_count=count, blocked=blocked)


def check_heard(status: DriverStatus | None, write: DriverWrite) -> None:
    """ConcurrencyConflict unless the driver is online and last heard from when ``write``
    expects (:func:`~vtc_dispatch.changes.heard_expected`): he was heard from since it
    was decided, or went offline.

    >>> from datetime import datetime, timedelta, timezone
    >>> from vtc_dispatch.changes import DriverAbsent
    >>> from vtc_dispatch.geo import LatLng
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
    >>> status = DriverStatus("amadou", "taxi_jaune", LatLng(4.05, 9.7), True, at)
    >>> check_heard(status, DriverAbsent("amadou", Presence.SILENT, at))
    >>> check_heard(status, DriverAbsent("amadou", Presence.SILENT, at - timedelta(seconds=1)))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.ConcurrencyConflict: driver 'amadou' was heard from at ...
    """
    expected = heard_expected(write)
    if expected is None:
        return
    if status is None or not status.online:
        raise ConcurrencyConflict(f"driver {shown(write.driver_id)} is no longer online")
    if status.seen_at != expected:
        raise ConcurrencyConflict(
            f"driver {shown(write.driver_id)} was heard from at {status.seen_at.isoformat()},"
            f" not {expected.isoformat()}: reload and retry"
        )


def _not_available(wanted: Reservation) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        f"driver {shown(wanted.driver_id)} is not available for order {shown(wanted.order_id)}"
    )
