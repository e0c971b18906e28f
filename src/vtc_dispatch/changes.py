"""A command's change set: everything one command writes, committed at once.

A command reads what it needs, decides in pure code, and returns one
:class:`ChangeSet`: the orders it creates or moves to their next version,
the drivers it reserves, frees or updates, the ride progress it writes, the
wallet operations, the statistics and rating increments, and the domain
events to publish once the change set is stored.  A
:class:`~vtc_dispatch.ports.UnitOfWork` commits it whole or not at all, so a
driver is freed only with the order version that frees him, and money moves
only with the order that moves it.

Every write states what it expects: an order or progress version, a driver
who is still available (to reserve) or still held by the order (to free), a
wallet that still covers a capture.  A decision taken on a ride it only
read (a GPS fix, an arrival) states the versions it read
(:class:`RideRead`), so that a reader may answer from what it saw last.
A commit whose expectation no longer holds raises
:class:`~vtc_dispatch.errors.ConcurrencyConflict` and writes nothing; the
command then reads again and decides again.

>>> changes = ChangeSet(reserve=(Reservation("amadou", "o-1"),))
>>> changes.merge(ChangeSet(release=(Reservation("binta", "o-1"),))).release
(Reservation(driver_id='binta', order_id='o-1'),)
>>> ChangeSet().is_empty, changes.is_empty
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

import attrs

from vtc_dispatch._records import slot_copier
from vtc_dispatch.geo.sphere import LatLng

if TYPE_CHECKING:
    from vtc_dispatch.events import Event
    from vtc_dispatch.order import Order, Presence, RideProgress
    from vtc_dispatch.pool.stats import Outcome

__all__ = [
    "ChangeSet",
    "Command",
    "CommandRecord",
    "DriverAbsent",
    "DriverOffline",
    "DriverOnline",
    "DriverPositioned",
    "DriverRated",
    "DriverSeen",
    "DriverSuspension",
    "DriverWrite",
    "OrderWrite",
    "ProgressWrite",
    "RatingIncrement",
    "Reservation",
    "RideRead",
    "StatIncrement",
    "WalletCapture",
    "WalletHold",
    "WalletOp",
    "WalletRelease",
    "heard_expected",
]


@attrs.frozen
class OrderWrite:
    """An order stored as the next version of ``expected_version`` (0: a new order)."""

    order: Order
    expected_version: int


@attrs.frozen
class ProgressWrite:
    """A ride's progress stored as the next version of ``expected_version``."""

    progress: RideProgress
    expected_version: int


@attrs.frozen
class RideRead:
    """The ride a decision was taken on: its order and progress must still be at these versions.

    Nothing is written; the commit is refused (ConcurrencyConflict) when
    either moved.  ``progress_version`` is 0 when the ride had no progress.
    """

    order_id: str
    order_version: int
    progress_version: int


@attrs.frozen
class Reservation:
    """A driver taken for an order (he must be available) or freed from it (if it holds him)."""

    driver_id: str
    order_id: str


@attrs.frozen
class DriverOnline:
    """The driver goes ON with this vehicle type at this position (known or new)."""

    driver_id: str
    vehicle_type: str
    position: LatLng
    at: datetime


@attrs.frozen
class DriverOffline:
    """The driver goes OFF (an order holding him frees him with its own version).

    ``reason`` says why when the service puts him there (``"silent"``).  With
    ``seen_at``, only a driver still online and last heard from at that instant
    goes off (see :class:`DriverAbsent`).
    """

    driver_id: str
    at: datetime
    reason: str | None = None
    seen_at: datetime | None = None


@attrs.frozen
class DriverPositioned:
    """The driver's current position, received at ``at``: he is heard from (present).

    Applied to whatever the registry holds now.
    """

    driver_id: str
    position: LatLng
    at: datetime


@attrs.frozen
class DriverSeen:
    """The driver's phone was heard from at ``at`` without moving him (a ping, a
    connection, a refused fix): he is present."""

    driver_id: str
    at: datetime


@attrs.frozen
class DriverAbsent:
    """The driver is no longer heard from: ``presence`` silent or unreachable.

    Only a driver still online and last heard from at ``seen_at`` changes: a
    commit finding him heard from since (or offline) is a
    :class:`~vtc_dispatch.errors.ConcurrencyConflict` and writes nothing.
    """

    driver_id: str
    presence: Presence
    seen_at: datetime


@attrs.frozen
class DriverRated:
    """A customer's stars added to the driver's totals; under the threshold he is blocked."""

    driver_id: str
    stars: int
    min_count: int
    threshold: float


@attrs.frozen
class DriverSuspension:
    """An operator suspends the driver (no more offers) or lifts the suspension.

    Only :attr:`~vtc_dispatch.order.DriverStatus.suspended` changes: an order
    he holds frees him itself, and a ride he drives goes on.
    """

    driver_id: str
    suspended: bool


DriverWrite: TypeAlias = (
    DriverOnline
    | DriverOffline
    | DriverPositioned
    | DriverSeen
    | DriverAbsent
    | DriverRated
    | DriverSuspension
)


def heard_expected(write: DriverWrite) -> datetime | None:
    """When the driver must have been last heard from for ``write`` to apply (``None``: any time).

    Such a write also needs the driver online; the unit of work checks both
    before it writes anything.

    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    >>> heard_expected(DriverOffline("amadou", at)) is None
    True
    >>> heard_expected(DriverOffline("amadou", at, "silent", seen_at=at)) == at
    True
    """
    if isinstance(write, DriverAbsent | DriverOffline):
        return write.seen_at
    return None


@attrs.frozen
class WalletHold:
    """Hold ``amount`` on the customer's wallet for ``reference`` (refused when short)."""

    op_id: str
    customer_id: str
    amount: Decimal
    currency: str
    reference: str


@attrs.frozen
class WalletCapture:
    """Take ``amount`` from the hold of an ended order (and the free balance beyond it).

    The unit of work then stores the order's payment as what was taken
    (:meth:`~vtc_dispatch.order.Order.settled`).
    """

    op_id: str
    hold_id: str
    order_id: str
    amount: Decimal


@attrs.frozen
class WalletRelease:
    """Give the hold of an ended order back to the free balance (nothing is due)."""

    op_id: str
    hold_id: str
    order_id: str


WalletOp: TypeAlias = WalletHold | WalletCapture | WalletRelease


@attrs.frozen
class StatIncrement:
    """One outcome of an offer, counted in the driver's statistics."""

    driver_id: str
    outcome: Outcome
    at: datetime


@attrs.frozen
class RatingIncrement:
    """One rating of ``stars`` added to a customer's totals."""

    party_id: str
    stars: int


@attrs.frozen
class Command:
    """A command sent with a ``command_id``: recorded with its change set."""

    command_id: str
    fingerprint: str
    """The command's name and arguments: the same id with others is refused."""
    result_id: str | None
    """The order the command answers with (its version as stored by the commit)."""


@attrs.frozen
class CommandRecord:
    """What a command with a ``command_id`` did: its replay returns ``result`` unchanged."""

    command_id: str
    fingerprint: str
    """The command's name and arguments: the same id with others is refused."""
    result: Order | None


@attrs.frozen
class ChangeSet:
    """Everything one command writes; see the module's documentation."""

    new_orders: tuple[Order, ...] = ()
    orders: tuple[OrderWrite, ...] = ()
    reserve: tuple[Reservation, ...] = ()
    release: tuple[Reservation, ...] = ()
    drivers: tuple[DriverWrite, ...] = ()
    progress: tuple[ProgressWrite, ...] = ()
    discard_progress: tuple[str, ...] = ()
    wallet: tuple[WalletOp, ...] = ()
    stats: tuple[StatIncrement, ...] = ()
    ratings: tuple[RatingIncrement, ...] = ()
    events: tuple[Event, ...] = ()
    """Published once the change set is stored, in this order."""
    reads: tuple[RideRead, ...] = ()
    """Checked, never written: see :class:`RideRead`."""

    @classmethod
    def of_drivers(cls, writes: tuple[DriverWrite, ...]) -> ChangeSet:
        """``ChangeSet(drivers=writes)``, built at a third of the cost: every fix makes one.

        >>> from datetime import UTC, datetime
        >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
        >>> seen = (DriverSeen("amadou", at),)
        >>> ChangeSet.of_drivers(seen) == ChangeSet(drivers=seen)
        True
        """
        return _with_drivers(_EMPTY, writes)

    @property
    def is_empty(self) -> bool:
        """Whether the command writes nothing (its events included)."""
        return not (self.drivers or self.events or self._writes_beyond_drivers())

    @property
    def drivers_only(self) -> bool:
        """Whether the command writes driver statuses, checks nothing and writes nothing else
        (events aside)."""
        return not (self.reads or self._writes_beyond_drivers())

    def _writes_beyond_drivers(self) -> bool:
        return bool(
            self.new_orders
            or self.orders
            or self.reserve
            or self.release
            or self.progress
            or self.discard_progress
            or self.wallet
            or self.stats
            or self.ratings
        )

    @classmethod
    def combine(cls, sets: Sequence[ChangeSet]) -> ChangeSet:
        """The change sets one after another, as one (a batch of commands stored at once).

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.geo import LatLng
        >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
        >>> a = ChangeSet(drivers=(DriverSeen("amadou", at),))
        >>> b = ChangeSet(drivers=(DriverPositioned("binta", LatLng(4.05, 9.7), at),))
        >>> [w.driver_id for w in ChangeSet.combine([a, b]).drivers]
        ['amadou', 'binta']
        """
        if len(sets) == 1:
            return sets[0]
        return cls(
            *(
                tuple(item for changes in sets for item in getattr(changes, name))
                for name in _FIELDS
            )
        )

    def merge(self, other: ChangeSet) -> ChangeSet:
        """This change set followed by ``other`` (its later order versions included)."""
        return ChangeSet(
            *(
                a + b
                for a, b in zip(
                    attrs.astuple(self, recurse=False),
                    attrs.astuple(other, recurse=False),
                    strict=True,
                )
            )
        )


_FIELDS = tuple(field.name for field in attrs.fields(ChangeSet))
_EMPTY = ChangeSet()
_with_drivers = slot_copier(ChangeSet, "drivers")
