"""In-memory implementations of the ports: the embedded default and the test double.

Every class is thread-safe (one lock each).  Nothing here persists: use the
Redis or Django adapters when state must outlive the process or be shared
between processes.

>>> from datetime import datetime, timedelta, timezone
>>> clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc))
>>> clock.advance(timedelta(seconds=30)).isoformat()
'2026-11-21T08:00:30+00:00'
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections import OrderedDict, defaultdict, deque
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from pydantic import BaseModel

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import CommandRecord
from vtc_dispatch.errors import ConcurrencyConflict, NotFound, PaymentRefused, shown
from vtc_dispatch.geo.index import DriverIndex, check_count_cap
from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.order import DriverCard, DriverStatus, Order, Presence, RideProgress
from vtc_dispatch.pool.stats import StatsBook
from vtc_dispatch.ports import Clock, check_limit, check_page
from vtc_dispatch.pricing.quote import FareQuote
from vtc_dispatch.unit_of_work import StoresUnitOfWork
from vtc_dispatch.validation import check_instant
from vtc_dispatch.wallet_ops import (
    check_amount,
    check_op_id,
    check_same,
    describe_capture,
    describe_credit,
    describe_hold,
    describe_release,
    hold_id_for,
)
from vtc_dispatch.wire import Recipient

__all__ = [
    "InMemoryCommandLog",
    "InMemoryDriverProfiles",
    "InMemoryDriverRegistry",
    "InMemoryOrderRepository",
    "InMemoryProgressStore",
    "InMemoryQuoteBook",
    "InMemoryRatingStore",
    "InMemoryStores",
    "InMemoryWallet",
    "ManualClock",
    "NullNotifier",
    "RecordingNotifier",
    "SystemClock",
]


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current instant, aware, UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: for tests, examples and simulations.

    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    ValueError: a clock cannot go back: 2025-01-01 00:00:00+00:00 is before 2026-01-01 ...
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"the clock needs an aware datetime, got {shown(start)}")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current instant."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (>= 0) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot go back: advance by {delta}")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        """Move forward to ``moment``."""
        with self._lock:
            if moment < self._now:
                raise ValueError(f"a clock cannot go back: {moment} is before {self._now}")
            self._now = moment


class InMemoryOrderRepository:
    """Orders in a dictionary, with the optimistic versions of the port."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._by_party: dict[tuple[str, str], list[str]] = defaultdict(list)
        # The active orders, by their rank of creation (newest: highest).
        self._active: dict[str, int] = {}
        self._added = itertools.count()
        # Deadlines of the live offers (the truth), and a heap of them for
        # the earliest ones; a heap entry no longer in `_deadlines` is stale
        # and dropped when it comes up.
        self._deadlines: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()
        self.commit_lock = threading.RLock()
        """Held by the in-memory unit of work while it commits (shared by every service)."""

    def _track_deadline(self, order: Order) -> None:
        deadline = order.next_deadline
        if deadline is None:
            self._deadlines.pop(order.id, None)
        elif self._deadlines.get(order.id) != deadline:
            self._deadlines[order.id] = deadline
            heapq.heappush(self._heap, (deadline, order.id))

    def get(self, order_id: str) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        try:
            return self._orders[order_id]
        except KeyError:
            raise NotFound(f"no order {shown(order_id)}") from None

    def add(self, order: Order) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with self._lock:
            if order.id in self._orders:
                raise ConcurrencyConflict(f"order {shown(order.id)} already exists")
            stored = evolve(order, version=1)
            self._orders[order.id] = stored
            self._track_deadline(stored)
            if stored.is_active:
                self._active[order.id] = next(self._added)
            self._by_party["customer", order.customer_id].append(order.id)
            if order.driver_id is not None:
                self._by_party["driver", order.driver_id].append(order.id)
            return stored

    def save(self, order: Order, expected_version: int) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with self._lock:
            current = self._orders.get(order.id)
            if current is None:
                raise NotFound(f"no order {shown(order.id)}")
            if current.version != expected_version:
                raise ConcurrencyConflict(
                    f"order {shown(order.id)} is at version {current.version},"
                    f" not {expected_version}: reload and retry"
                )
            stored = evolve(order, version=expected_version + 1)
            self._orders[order.id] = stored
            self._track_deadline(stored)
            if not stored.is_active:
                self._active.pop(order.id, None)
            if order.driver_id is not None and order.driver_id != current.driver_id:
                self._by_party["driver", order.driver_id].append(order.id)
            return stored

    def find(
        self,
        role: str,
        party_id: str,
        *,
        active: bool | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        check_page(role, offset, limit)
        with self._lock:
            ids = list(self._by_party.get((role, party_id), ()))
        found = []
        for order_id in reversed(ids):
            order = self._orders[order_id]
            if role == "driver" and order.driver_id != party_id:
                continue  # the driver was assigned, then the order went back to searching
            if active is None or order.is_active == active:
                found.append(order)
                if len(found) == offset + limit:
                    break
        return found[offset : offset + limit]

    def count(self, role: str, party_id: str) -> int:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        check_page(role, 0, 0)
        with self._lock:
            ids = list(self._by_party.get((role, party_id), ()))
            if role == "customer":
                return len(ids)
            return sum(1 for i in ids if self._orders[i].driver_id == party_id)

    def active_orders(self, *, limit: int = 1000) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        check_limit(limit)
        with self._lock:
            newest = sorted(self._active.items(), key=lambda item: item[1], reverse=True)
            return [self._orders[order_id] for order_id, _ in newest[:limit]]

    def created_between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """See :class:`~vtc_dispatch.ports.OrderHistory` (a scan of every order: the
        in-memory store is for tests, simulations and small hosts)."""
        check_instant(start, "start")
        check_instant(end, "end")
        with self._lock:
            found = [o for o in self._orders.values() if start <= o.created_at < end]
        return iter(sorted(found, key=lambda o: (o.created_at, o.id)))

    def next_deadline(self) -> datetime | None:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with self._lock:
            heap = self._heap
            while heap and self._deadlines.get(heap[0][1]) != heap[0][0]:
                heapq.heappop(heap)
            return heap[0][0] if heap else None

    def with_live_offer(self, due_by: datetime) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with self._lock:
            heap = self._heap
            due: dict[str, tuple[datetime, str]] = {}
            while heap and heap[0][0] <= due_by:
                entry = heapq.heappop(heap)
                if self._deadlines.get(entry[1]) == entry[0]:
                    due[entry[1]] = entry
            for entry in due.values():  # still live until a save moves them
                heapq.heappush(heap, entry)
            return [self._orders[order_id] for order_id in due]


class InMemoryProgressStore:
    """Live ride progress in a dictionary, with optimistic versions."""

    def __init__(self) -> None:
        self._progress: dict[str, RideProgress] = {}
        self._lock = threading.Lock()

    def get(self, order_id: str) -> RideProgress:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        found = self._progress.get(order_id)
        return RideProgress(order_id) if found is None else found

    def save(self, progress: RideProgress, expected_version: int) -> RideProgress:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with self._lock:
            current = self._progress.get(progress.order_id)
            version = 0 if current is None else current.version
            if version != expected_version:
                raise ConcurrencyConflict(
                    f"progress of order {shown(progress.order_id)} is at version {version},"
                    f" not {expected_version}: reload and retry"
                )
            stored = (
                progress  # already at its next version (a fix builds it so)
                if progress.version == expected_version + 1
                else evolve(progress, version=expected_version + 1)
            )
            self._progress[progress.order_id] = stored
            return stored

    def discard(self, order_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with self._lock:
            self._progress.pop(order_id, None)


class _Heard:
    """Drivers in the order they were last heard from, the longest silent first.

    Commits come in the order of the clock, so a driver heard from goes to
    the end; a status heard from earlier than the newest one (a host
    putting statuses of its own) marks the order broken, and the next scan
    sorts it again.
    """

    __slots__ = ("drivers", "newest", "ordered")

    def __init__(self) -> None:
        self.drivers: OrderedDict[str, None] = OrderedDict()
        self.newest: datetime | None = None
        self.ordered = True

    def add(self, driver_id: str, seen_at: datetime) -> None:
        drivers = self.drivers
        if driver_id in drivers:
            drivers.move_to_end(driver_id)
        else:
            drivers[driver_id] = None
        newest = self.newest
        if newest is None or seen_at >= newest:
            self.newest = seen_at
        else:
            self.ordered = False

    def before(self, moment: datetime, statuses: dict[str, DriverStatus]) -> list[str]:
        """The drivers last heard from before ``moment``, the longest silent first."""
        if not self.ordered:
            by_time = sorted(self.drivers, key=lambda d: statuses[d].seen_at)
            self.drivers = OrderedDict.fromkeys(by_time)
            self.ordered = True
        found = []
        for driver_id in self.drivers:
            if statuses[driver_id].seen_at >= moment:
                break
            found.append(driver_id)
        return found


class InMemoryDriverRegistry:
    """Driver statuses in a dictionary; the available ones in a :class:`DriverIndex`.

    The online drivers are also kept in the order they were last heard
    from, present ones apart: those who went quiet are found from the
    oldest end, so a search leaves out the few not yet marked silent and
    :meth:`heard_before` costs what it finds.

    >>> from datetime import UTC, datetime, timedelta
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    >>> registry = InMemoryDriverRegistry()
    >>> registry.put(DriverStatus("amadou", "taxi_jaune", LatLng(4.05, 9.7), True, at))
    >>> registry.count_available(LatLng(4.05, 9.7), 1.0)
    {'taxi_jaune': 1}
    >>> registry.count_available(LatLng(4.05, 9.7), 1.0, seen_since=at + timedelta(seconds=60))
    {}
    """

    def __init__(self, *, index: DriverIndex | None = None) -> None:
        self._drivers: dict[str, DriverStatus] = {}
        self._index = DriverIndex() if index is None else index
        self._present = _Heard()
        self._absent = _Heard()
        self._lock = threading.Lock()

    def get(self, driver_id: str) -> DriverStatus:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        try:
            return self._drivers[driver_id]
        except KeyError:
            raise NotFound(f"no driver {shown(driver_id)}") from None

    def put(self, status: DriverStatus) -> None:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with self._lock:
            # The index checks the id, position and type: a refused status is stored nowhere.
            driver_id = status.driver_id
            online = status.online
            present = status.presence is Presence.PRESENT
            # status.available, spelled out: every fix comes here.
            if (
                online
                and present
                and status.order_id is None
                and not status.blocked
                and not status.suspended
            ):
                self._index.upsert(driver_id, status.position, status.vehicle_type)
            else:
                self._index.discard(driver_id)
            old = self._drivers.get(driver_id)
            self._drivers[driver_id] = status
            if old is None or old.online is not online or old.presence is not status.presence:
                self._heard(status)
            elif old.seen_at is not status.seen_at and online:
                # Still online and as present as he was: only his place in his list moves.
                (self._present if present else self._absent).add(driver_id, status.seen_at)

    def _heard(self, status: DriverStatus) -> None:
        driver_id = status.driver_id
        if not status.online:
            self._present.drivers.pop(driver_id, None)
            self._absent.drivers.pop(driver_id, None)
        elif status.presence is Presence.PRESENT:
            self._absent.drivers.pop(driver_id, None)
            self._present.add(driver_id, status.seen_at)
        else:
            self._present.drivers.pop(driver_id, None)
            self._absent.add(driver_id, status.seen_at)

    def online_drivers(self, *, limit: int = 10_000) -> list[DriverStatus]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        check_limit(limit)
        with self._lock:
            drivers = self._drivers
            heard = itertools.chain(self._present.drivers, self._absent.drivers)
            online = [drivers[d] for d in heard]
        online.sort(key=lambda status: status.seen_at, reverse=True)
        return online[:limit]

    def reserve(self, driver_id: str, order_id: str) -> bool:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with self._lock:
            status = self._drivers.get(driver_id)
            if status is None or not status.available:
                return False
            self._drivers[driver_id] = evolve(status, order_id=order_id)
            self._index.discard(driver_id)
            return True

    def release(self, driver_id: str, order_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with self._lock:
            status = self._drivers.get(driver_id)
            if status is None or status.order_id != order_id:
                return
            freed = evolve(status, order_id=None)
            self._drivers[driver_id] = freed
            if freed.available:
                self._index.upsert(driver_id, freed.position, freed.vehicle_type)

    def _quiet(self, seen_since: datetime | None) -> list[str]:
        """The indexed drivers last heard from before ``seen_since`` (not yet marked silent)."""
        if seen_since is None:
            return []
        check_instant(seen_since, "seen_since")
        index = self._index
        return [d for d in self._present.before(seen_since, self._drivers) if d in index]

    def nearest_available(
        self,
        point: LatLng,
        k: int,
        max_km: float,
        vehicle_types: Collection[str] | None = None,
        exclude: Collection[str] = (),
        *,
        seen_since: datetime | None = None,
    ) -> list[tuple[str, float]]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with self._lock:
            quiet = self._quiet(seen_since)
            if quiet and not isinstance(exclude, str):  # a text is refused by the index
                with contextlib.suppress(TypeError):  # unhashable ids: the index says so
                    exclude = frozenset(quiet).union(exclude)
            return self._index.nearest(point, k, max_km, vehicle_types, exclude)

    def count_available(
        self,
        point: LatLng,
        max_km: float,
        *,
        cap: int | None = None,
        seen_since: datetime | None = None,
    ) -> dict[str, int]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with self._lock:
            quiet = self._quiet(seen_since)
            if not quiet:
                return self._index.count_within(point, max_km, cap=cap)
            # Counted with the quiet ones (the cap raised by as many), who are then taken off.
            check_count_cap(cap)
            index = self._index
            counts = index.count_within(
                point, max_km, cap=None if cap is None else cap + len(quiet)
            )
            for driver_id in quiet:
                if haversine_km(point, index.position(driver_id)) <= max_km:
                    counts[index.vehicle_type(driver_id)] -= 1
            return {vt: n if cap is None else min(n, cap) for vt, n in counts.items() if n > 0}

    def heard_before(
        self, before: datetime, *, present: bool, limit: int = 500
    ) -> list[DriverStatus]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        check_instant(before, "before")
        with self._lock:
            drivers = self._drivers
            heard = self._present if present else self._absent
            found = [drivers[d] for d in heard.before(before, drivers)]
        if not present:
            found = [status for status in found if status.order_id is None]
        return found[:limit]


class InMemoryDriverProfiles:
    """Drivers' cards in a dictionary, as the host adds them.

    >>> profiles = InMemoryDriverProfiles()
    >>> profiles.add(DriverCard("amadou", name="Amadou B.", plate="LT 123 AB"))
    >>> profiles.card("amadou").plate, profiles.card("binta")
    ('LT 123 AB', None)
    """

    def __init__(self) -> None:
        self._cards: dict[str, DriverCard] = {}

    def add(self, card: DriverCard) -> None:
        """Keep (or replace) a driver's card."""
        self._cards[card.driver_id] = card

    def card(self, driver_id: str) -> DriverCard | None:
        """See :class:`~vtc_dispatch.ports.DriverProfiles`."""
        return self._cards.get(driver_id)


class InMemoryRatingStore:
    """Sums of stars per rated party, in a dictionary."""

    def __init__(self) -> None:
        self._totals: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def add(self, party_id: str, stars: int) -> None:
        """See :class:`~vtc_dispatch.ports.RatingStore`."""
        with self._lock:
            total, count = self._totals.get(party_id, (0, 0))
            self._totals[party_id] = (total + stars, count + 1)

    def totals(self, party_id: str) -> tuple[int, int]:
        """See :class:`~vtc_dispatch.ports.RatingStore`."""
        return self._totals.get(party_id, (0, 0))


class NullNotifier:
    """No transport at all: nothing is sent, and the service does not even build
    wire messages (a simulation or a batch job that follows the domain events
    through :meth:`~vtc_dispatch.service.DispatchService.subscribe`).

    >>> from datetime import datetime, timezone
    >>> from vtc_dispatch.pricing import douala_config
    >>> from vtc_dispatch.service import DispatchService
    >>> service = DispatchService(pricing=douala_config(), notifier=NullNotifier())
    >>> seen = []
    >>> service.subscribe(seen.append)
    >>> service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    >>> type(seen[0]).__name__
    'DriverWentOnline'
    """

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """Drop the message."""


class RecordingNotifier:
    """Keeps the messages sent, per recipient: the default when no transport is wired.

    Only the last ``keep`` messages are kept, so an embedded service that
    nobody reads from does not grow without bound.
    """

    def __init__(self, *, keep: int = 10_000) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.sent: deque[tuple[Recipient, BaseModel]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """Record the message."""
        with self._lock:
            self.sent.append((recipient, message))

    def messages_for(self, role: str, party_id: str) -> list[BaseModel]:
        """What one driver, customer or order's watchers received, in order."""
        with self._lock:
            return [m for r, m in self.sent if r.role == role and r.id == party_id]

    def clear(self) -> None:
        """Forget what was sent."""
        with self._lock:
            self.sent.clear()


@attrs.define
class _Hold:
    customer_id: str
    currency: str
    amount: Decimal
    reference: str


class InMemoryWallet:
    """Balances per customer and currency, with holds; operations keyed by op id done once.

    >>> wallet = InMemoryWallet()
    >>> wallet.credit("alice", Decimal(1000), "XAF", op_id="top-up-1")
    >>> wallet.credit("alice", Decimal(1000), "XAF", op_id="top-up-1")  # a replay: no money
    >>> hold = wallet.hold("alice", Decimal(300), "XAF", "ord-1", op_id="ord-1:hold")
    >>> wallet.balance("alice", "XAF"), hold == hold_id_for("ord-1:hold")
    (Decimal('700'), True)
    """

    def __init__(self) -> None:
        self._balances: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self._holds: dict[str, _Hold] = {}
        self._ids = itertools.count(1)
        # op id -> (what it did, its result): kept for the wallet's life.
        self._ops: dict[str, tuple[str, object]] = {}
        self._lock = threading.Lock()

    def _replayed(self, op_id: str | None, description: str) -> tuple[bool, object]:
        """(True, result) when ``op_id`` was done; IdempotencyConflict if for something else."""
        if check_op_id(op_id) is None or op_id not in self._ops:
            return False, None
        recorded, result = self._ops[op_id]
        check_same(op_id, recorded, description)
        return True, result

    def _done(self, op_id: str | None, description: str, result: object) -> None:
        if op_id is not None:
            self._ops[op_id] = (description, result)

    def credit(
        self, customer_id: str, amount: Decimal, currency: str, *, op_id: str | None = None
    ) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a credit", positive=True)
        description = describe_credit(customer_id, amount, currency)
        with self._lock:
            if self._replayed(op_id, description)[0]:
                return
            self._balances[customer_id, currency] += amount
            self._done(op_id, description, None)

    def balance(self, customer_id: str, currency: str) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        return self._balances.get((customer_id, currency), Decimal(0))

    def hold(
        self,
        customer_id: str,
        amount: Decimal,
        currency: str,
        reference: str,
        *,
        op_id: str | None = None,
    ) -> str:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a hold", positive=False)
        description = describe_hold(customer_id, amount, currency, reference)
        with self._lock:
            seen, result = self._replayed(op_id, description)
            if seen:
                return str(result)
            free = self._balances.get((customer_id, currency), Decimal(0))
            if free < amount:
                raise PaymentRefused(
                    f"wallet of {shown(customer_id)} holds {free} {currency}, {amount} needed"
                )
            self._balances[customer_id, currency] = free - amount
            hold_id = f"hold-{next(self._ids)}" if op_id is None else hold_id_for(op_id)
            self._holds[hold_id] = _Hold(customer_id, currency, amount, reference)
            self._done(op_id, description, hold_id)
            return hold_id

    def capture(self, hold_id: str, amount: Decimal, *, op_id: str | None = None) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a capture", positive=False)
        description = describe_capture(hold_id, amount)
        with self._lock:
            seen, result = self._replayed(op_id, description)
            if seen:
                return Decimal(str(result))
            hold = self._holds.pop(hold_id, None)
            if hold is None:
                raise NotFound(f"no wallet hold {shown(hold_id)}")
            key = (hold.customer_id, hold.currency)
            available = hold.amount + self._balances.get(key, Decimal(0))
            taken = min(amount, available)
            self._balances[key] = available - taken
            self._done(op_id, description, taken)
            return taken

    def release(self, hold_id: str, *, op_id: str | None = None) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        description = describe_release(hold_id)
        with self._lock:
            if self._replayed(op_id, description)[0]:
                return
            hold = self._holds.pop(hold_id, None)
            if hold is None:
                raise NotFound(f"no wallet hold {shown(hold_id)}")
            self._balances[hold.customer_id, hold.currency] += hold.amount
            self._done(op_id, description, None)


class InMemoryCommandLog:
    """The records of commands sent with a ``command_id``, the newest ``keep`` of them."""

    def __init__(self, *, keep: int = 100_000) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self._records: OrderedDict[str, CommandRecord] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def get(self, command_id: str) -> CommandRecord | None:
        """See :class:`~vtc_dispatch.ports.CommandLog`."""
        return self._records.get(command_id)

    def put(self, record: CommandRecord) -> None:
        """See :class:`~vtc_dispatch.ports.CommandLog`."""
        with self._lock:
            self._records[record.command_id] = record
            while len(self._records) > self._keep:
                self._records.popitem(last=False)


class InMemoryQuoteBook:
    """Quotes shown at search, the newest ``keep`` of them, each for its time to live."""

    def __init__(self, clock: Clock | None = None, *, keep: int = 4096) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self._clock: Clock = SystemClock() if clock is None else clock
        self._quotes: OrderedDict[str, tuple[FareQuote, datetime]] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def remember(self, key: str, quote: FareQuote, ttl_s: float) -> None:
        """See :class:`~vtc_dispatch.ports.QuoteBook`."""
        until = self._clock.now() + timedelta(seconds=ttl_s)
        with self._lock:
            self._quotes[key] = (quote, until)
            self._quotes.move_to_end(key)
            while len(self._quotes) > self._keep:
                self._quotes.popitem(last=False)

    def recall(self, key: str) -> FareQuote | None:
        """See :class:`~vtc_dispatch.ports.QuoteBook`."""
        found = self._quotes.get(key)
        if found is None or found[1] < self._clock.now():
            return None
        return found[0]


class InMemoryStores:
    """Every in-memory store of one dispatch state, and the one lock of its commits.

    Two services built on one ``InMemoryStores`` (``**stores.ports()``)
    share the lock (it lives with the orders): their commits are serialised
    like one process's, which makes the in-memory unit of work atomic; they
    share the command log too, so a command replayed on the other one is
    still answered from its record.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.orders = InMemoryOrderRepository()
        self.drivers = InMemoryDriverRegistry()
        self.progress = InMemoryProgressStore()
        self.wallet = InMemoryWallet()
        self.stats = StatsBook()
        self.ratings = InMemoryRatingStore()
        self.commands = InMemoryCommandLog()
        self.quotes = InMemoryQuoteBook(clock)

    def ports(self) -> dict[str, Any]:
        """The stores as ``DispatchService`` keyword arguments (``DispatchService(**ports)``)."""
        return {
            "orders": self.orders,
            "drivers": self.drivers,
            "progress": self.progress,
            "wallet": self.wallet,
            "stats": self.stats,
            "ratings": self.ratings,
            "commands": self.commands,
            "quotes": self.quotes,
        }

    def unit_of_work(self) -> StoresUnitOfWork:
        """The atomic unit of work over these stores."""
        return StoresUnitOfWork(
            orders=self.orders,
            drivers=self.drivers,
            progress=self.progress,
            wallet=self.wallet,
            stats=self.stats,
            ratings=self.ratings,
            commands=self.commands,
            lock=self.orders.commit_lock,
        )
