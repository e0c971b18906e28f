"""The ports on the Django ORM: orders, ride progress, drivers, offer statistics,
rating totals, wallets.

Every write that must be atomic is one conditional ``UPDATE`` (the
optimistic version of an order, the reservation of a driver, a wallet
debit), an ``UPDATE`` with F() expressions (a count raised by one, a sum
of stars) or a short transaction, so that several worker processes sharing
the database never both win and never lose a count.  Database errors surface as
:class:`~vtc_dispatch.errors.StorageUnavailable`.

The nearest-driver query asks the database for the available drivers in
the bounding box of the search circle (an indexed range on latitude), and
exact great-circle distances decide, as the in-memory index does.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Min

from vtc_dispatch.codec import (
    CodecError,
    order_from_data,
    order_to_data,
    progress_from_data,
    progress_to_data,
)
from vtc_dispatch.errors import (
    ConcurrencyConflict,
    InvalidRating,
    NotFound,
    PaymentRefused,
    StorageUnavailable,
)
from vtc_dispatch.geo.index import check_count_cap, check_k, check_radius
from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.order import (
    ACTIVE_STATES,
    DriverCard,
    DriverStatus,
    Order,
    Presence,
    RideProgress,
)
from vtc_dispatch.pool.stats import (
    ACTIVITY_KEPT,
    COUNTED,
    PRESENCE,
    DriverStats,
    Outcome,
    check_outcome,
)
from vtc_dispatch.ports import check_limit, check_page
from vtc_dispatch.validation import check_instant
from vtc_dispatch.wallet_ops import (
    amount_text,
    check_amount,
    check_op_id,
    check_same,
    describe_capture,
    describe_credit,
    describe_hold,
    describe_release,
    hold_id_for,
)
from vtc_dispatch_django.models import (
    DriverActivity,
    DriverAnswer,
    DriverPresence,
    DriverProfile,
    OfferRecord,
    OrderRecord,
    OrderTransition,
    ProgressRecord,
    RatingRecord,
    RatingTotal,
    StatsRecord,
    WalletAccount,
    WalletHold,
    WalletOperation,
)

__all__ = [
    "DjangoDriverProfiles",
    "DjangoDriverRegistry",
    "DjangoOrderRepository",
    "DjangoProgressStore",
    "DjangoRatingStore",
    "DjangoStatsStore",
    "DjangoWallet",
    "driver_status",
    "transition_rows",
]

_T = TypeVar("_T")
_KM_PER_DEG_LAT = 111.19
_CHUNK = 500
"""Orders read per round trip when a report iterates over many."""


@contextmanager
def _storage(what: str) -> Iterator[None]:
    """Database errors (other than the ones a method handles itself) as StorageUnavailable."""
    try:
        yield
    except IntegrityError:
        raise
    except DatabaseError as exc:
        raise StorageUnavailable(f"{what}: the database failed: {exc}") from exc


def user_key(party_id: str | None) -> Any:
    """The host user's key that ``party_id`` spells (``str(user.pk)``), ``None`` when it is
    none (an id of another kind: the order keeps its text id alone)."""
    if party_id is None:
        return None
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    field = get_user_model()._meta.pk
    try:
        key = field.to_python(party_id)
    except (ValidationError, ValueError, TypeError):
        return None
    return key if str(key) == party_id else None


def _columns(order: Order) -> dict[str, Any]:
    fare = order.final_fare
    return {
        "customer_id": order.customer_id,
        "driver_id": order.driver_id,
        "customer_user_id": user_key(order.customer_id),
        "driver_user_id": user_key(order.driver_id),
        "vehicle_type": order.vehicle_type,
        "kind": str(order.kind),
        "state": order.state,
        "active": order.is_active,
        "payment_method": order.payment_method,
        "payment_status": str(order.payment_status),
        "currency": order.quote.currency,
        "estimate": order.quote.estimate,
        "final_amount": None if fare is None else fare.amount,
        "next_deadline": order.next_deadline,
        "created_at": order.created_at,
        "data": order_to_data(order),
    }


def _children(record_pk: int, order: Order, command_id: str | None) -> None:
    """The order's live offers, ratings and new state changes as rows (inside the order's
    transaction); the state changes carry ``command_id``."""
    OfferRecord.objects.filter(order_id=record_pk).delete()
    OfferRecord.objects.bulk_create(
        OfferRecord(
            order_id=record_pk,
            driver_id=o.driver_id,
            distance_km=o.distance_km,
            sent_at=o.sent_at,
            expires_at=o.expires_at,
            shown=o.shown,
        )
        for o in order.offers
    )
    if order.ratings:
        stored = RatingRecord.objects.filter(order_id=record_pk).count()
        RatingRecord.objects.bulk_create(
            RatingRecord(
                order_id=record_pk,
                by_role=r.by.role,
                by_id=r.by.id,
                about_id=r.about_id,
                stars=r.stars,
                comment=r.comment,
                at=r.at,
            )
            for r in order.ratings[stored:]
        )
    if order.lifecycle.history:
        stored = OrderTransition.objects.filter(order_id=order.id).count()
        OrderTransition.objects.bulk_create(
            transition_rows(OrderTransition, order, stored, command_id)
        )


def transition_rows(model: Any, order: Order, start: int, command_id: str | None) -> list[Any]:
    """The :class:`~vtc_dispatch_django.models.OrderTransition` rows (``model``: the class, or
    a migration's historical one) of the order's history entries from ``start``."""
    return [
        model(
            order_id=order.id,
            event=h.event,
            source=h.source,
            target=h.target,
            actor_role=h.actor,
            actor_id=h.actor_id,
            at=h.at,
            reason=h.reason,
            command_id=command_id,
        )
        for h in order.lifecycle.history[start:]
    ]


def _order(record: OrderRecord) -> Order:
    with _unreadable():
        return order_from_data(record.data, version=record.version)


def _progress(data: Any, version: int) -> RideProgress:
    with _unreadable():
        return progress_from_data(data, version=version)


@contextmanager
def _unreadable() -> Iterator[None]:
    """A row the core's codec cannot read back as StorageUnavailable (the server's fault, 503)."""
    try:
        yield
    except CodecError as exc:
        raise StorageUnavailable(f"a stored row cannot be read back: {exc}") from exc


class DjangoOrderRepository:
    """Orders in :class:`~vtc_dispatch_django.models.OrderRecord` rows, optimistic versions.

    Each state change an order's history gains is written as an
    :class:`~vtc_dispatch_django.models.OrderTransition` row with it (the
    audit); :meth:`add` and :meth:`save` take the ``command_id`` it carries
    (the unit of work passes its command's).
    """

    def get(self, order_id: str) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with _storage(f"reading order {order_id!r}"):
            record = OrderRecord.objects.filter(order_id=order_id).first()
        if record is None:
            raise NotFound(f"no order {order_id!r}")
        return _order(record)

    def add(self, order: Order, *, command_id: str | None = None) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        try:
            with _storage(f"adding order {order.id!r}"), transaction.atomic():
                record = OrderRecord.objects.create(order_id=order.id, version=1, **_columns(order))
                _children(record.pk, order, command_id)
        except IntegrityError:
            raise ConcurrencyConflict(f"order {order.id!r} already exists") from None
        return self.get(order.id)

    def save(self, order: Order, expected_version: int, *, command_id: str | None = None) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with _storage(f"saving order {order.id!r}"):
            with transaction.atomic():
                rows = OrderRecord.objects.filter(order_id=order.id, version=expected_version)
                if rows.update(version=expected_version + 1, **_columns(order)):
                    pk = OrderRecord.objects.values_list("pk", flat=True).get(order_id=order.id)
                    _children(pk, order, command_id)
                    return attrs.evolve(order, version=expected_version + 1)
            current = OrderRecord.objects.filter(order_id=order.id).values("version").first()
        if current is None:
            raise NotFound(f"no order {order.id!r}")
        raise ConcurrencyConflict(
            f"order {order.id!r} is at version {current['version']},"
            f" not {expected_version}: reload and retry"
        )

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
        if limit == 0:
            return []
        rows = OrderRecord.objects.filter(**{f"{role}_id": party_id})
        if active is not None:
            rows = rows.filter(active=active)
        with _storage(f"finding the orders of {role} {party_id!r}"):
            return [_order(r) for r in rows.order_by("-seq")[offset : offset + limit]]

    def count(self, role: str, party_id: str) -> int:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        check_page(role, 0, 0)
        with _storage(f"counting the orders of {role} {party_id!r}"):
            count: int = OrderRecord.objects.filter(**{f"{role}_id": party_id}).count()
            return count

    def with_live_offer(self, due_by: datetime) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with _storage("finding orders with a due offer"):
            rows = OrderRecord.objects.filter(next_deadline__lte=due_by).order_by("next_deadline")
            return [_order(r) for r in rows]

    def active_orders(self, *, limit: int = 1000) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository` (the indexed ``state`` column)."""
        rows = OrderRecord.objects.filter(state__in=sorted(ACTIVE_STATES)).order_by("-seq")
        with _storage("listing the active orders"):
            return [_order(r) for r in rows[: check_limit(limit)]]

    def created_between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """See :class:`~vtc_dispatch.ports.OrderHistory`: rows by ``created_at`` (indexed),
        read in chunks as they are iterated."""
        check_instant(start, "start")
        check_instant(end, "end")
        rows = (
            OrderRecord.objects.filter(created_at__gte=start, created_at__lt=end)
            .order_by("created_at", "seq")
            .only("data", "version")
        )
        return self._read(rows, f"reading the orders created from {start} to {end}")

    @staticmethod
    def _read(rows: Any, what: str) -> Iterator[Order]:
        with _storage(what):
            for record in rows.iterator(chunk_size=_CHUNK):
                yield _order(record)

    def next_deadline(self) -> datetime | None:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with _storage("reading the next deadline"):
            found: datetime | None = OrderRecord.objects.aggregate(d=Min("next_deadline"))["d"]
        return found


class DjangoProgressStore:
    """Ride progress in :class:`~vtc_dispatch_django.models.ProgressRecord` rows."""

    def get(self, order_id: str) -> RideProgress:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with _storage(f"reading the progress of order {order_id!r}"):
            record = ProgressRecord.objects.filter(order_id=order_id).first()
        if record is None:
            return RideProgress(order_id)
        return _progress(record.data, record.version)

    def save(self, progress: RideProgress, expected_version: int) -> RideProgress:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        order_id = progress.order_id
        data = progress_to_data(progress)
        with _storage(f"saving the progress of order {order_id!r}"):
            if expected_version == 0:
                try:
                    with transaction.atomic():
                        ProgressRecord.objects.create(order_id=order_id, version=1, data=data)
                except IntegrityError:
                    pass
                else:
                    return attrs.evolve(progress, version=1)
            elif ProgressRecord.objects.filter(order_id=order_id, version=expected_version).update(
                version=expected_version + 1, data=data
            ):
                return attrs.evolve(progress, version=expected_version + 1)
            current = ProgressRecord.objects.filter(order_id=order_id).values("version").first()
        version = 0 if current is None else current["version"]
        raise ConcurrencyConflict(
            f"progress of order {order_id!r} is at version {version},"
            f" not {expected_version}: reload and retry"
        )

    def discard(self, order_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with _storage(f"discarding the progress of order {order_id!r}"):
            ProgressRecord.objects.filter(order_id=order_id).delete()


def driver_status(row: DriverPresence) -> DriverStatus:
    """The status a driver's row holds."""
    return DriverStatus(
        driver_id=row.driver_id,
        vehicle_type=row.vehicle_type,
        position=LatLng(row.lat, row.lng),
        online=row.online,
        updated_at=row.updated_at,
        order_id=row.order_id,
        blocked=row.blocked,
        rating_sum=row.rating_sum,
        rating_count=row.rating_count,
        seen_at=row.seen_at,
        presence=Presence(row.presence),
        offline_reason=row.offline_reason,
        suspended=row.suspended,
    )


class DjangoDriverRegistry:
    """Drivers in :class:`~vtc_dispatch_django.models.DriverPresence` rows."""

    def get(self, driver_id: str) -> DriverStatus:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with _storage(f"reading driver {driver_id!r}"):
            row = DriverPresence.objects.filter(driver_id=driver_id).first()
        if row is None:
            raise NotFound(f"no driver {driver_id!r}")
        return driver_status(row)

    def put(self, status: DriverStatus) -> None:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with _storage(f"storing driver {status.driver_id!r}"):
            DriverPresence.objects.update_or_create(
                driver_id=status.driver_id,
                defaults={
                    "vehicle_type": status.vehicle_type,
                    "lat": status.position.lat,
                    "lng": status.position.lng,
                    "online": status.online,
                    "order_id": status.order_id,
                    "blocked": status.blocked,
                    "suspended": status.suspended,
                    "available": status.available,
                    "rating_sum": status.rating_sum,
                    "rating_count": status.rating_count,
                    "updated_at": status.updated_at,
                    "seen_at": status.seen_at,
                    "presence": str(status.presence),
                    "offline_reason": status.offline_reason,
                },
            )

    def online_drivers(self, *, limit: int = 10_000) -> list[DriverStatus]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (one query on the index of the
        online drivers by presence and time heard from)."""
        rows = DriverPresence.objects.filter(online=True).order_by("-seen_at", "driver_id")
        with _storage("listing the online drivers"):
            return [driver_status(row) for row in rows[: check_limit(limit)]]

    def reserve(self, driver_id: str, order_id: str) -> bool:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (one conditional UPDATE)."""
        with _storage(f"reserving driver {driver_id!r}"):
            return bool(
                DriverPresence.objects.filter(
                    driver_id=driver_id,
                    online=True,
                    order_id__isnull=True,
                    blocked=False,
                    suspended=False,
                    presence=Presence.PRESENT,
                ).update(order_id=order_id, available=False)
            )

    def release(self, driver_id: str, order_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (one conditional UPDATE)."""
        with _storage(f"releasing driver {driver_id!r}"):
            held = DriverPresence.objects.filter(driver_id=driver_id, order_id=order_id)
            held.filter(
                online=True, blocked=False, suspended=False, presence=Presence.PRESENT
            ).update(order_id=None, available=True)
            held.update(order_id=None)

    def _within(
        self,
        point: LatLng,
        max_km: float,
        vehicle_types: Collection[str] | None,
        seen_since: datetime | None,
    ) -> list[tuple[float, str, str]]:
        """(distance, driver, vehicle type) of the available drivers within ``max_km``
        (heard from since ``seen_since``, when given)."""
        rows = DriverPresence.objects.filter(available=True)
        if seen_since is not None:
            rows = rows.filter(seen_at__gte=check_instant(seen_since, "seen_since"))
        # Padded so that float rounding never leaves out a driver the exact
        # distance keeps (radius 0 around a subnormal longitude, say).
        dlat = max_km / _KM_PER_DEG_LAT * (1 + 1e-9) + 1e-9
        if abs(point.lat) + dlat < 89.0:
            rows = rows.filter(lat__gte=point.lat - dlat, lat__lte=point.lat + dlat)
            dlng = dlat / math.cos(math.radians(abs(point.lat) + dlat))
            if dlng < 179.0 and point.lng - dlng >= -180.0 and point.lng + dlng <= 180.0:
                rows = rows.filter(lng__gte=point.lng - dlng, lng__lte=point.lng + dlng)
        if vehicle_types is not None:
            rows = rows.filter(vehicle_type__in=list(vehicle_types))
        found = []
        with _storage("finding available drivers"):
            for driver_id, vehicle_type, lat, lng in rows.values_list(
                "driver_id", "vehicle_type", "lat", "lng"
            ):
                km = haversine_km(point, LatLng(lat, lng))
                if km <= max_km:
                    found.append((km, driver_id, vehicle_type))
        return found

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
        check_k(k)
        max_km = check_radius(max_km)
        if k == 0:
            return []
        excluded = set(exclude)
        within = self._within(point, max_km, vehicle_types, seen_since)
        found = sorted((km, d) for km, d, _ in within if d not in excluded)
        return [(d, km) for km, d in found[:k]]

    def count_available(
        self,
        point: LatLng,
        max_km: float,
        *,
        cap: int | None = None,
        seen_since: datetime | None = None,
    ) -> dict[str, int]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (the cap is applied to exact counts)."""
        check_count_cap(cap)
        counts: dict[str, int] = {}
        for _, _, vehicle_type in self._within(point, check_radius(max_km), None, seen_since):
            counts[vehicle_type] = counts.get(vehicle_type, 0) + 1
        if cap is not None:
            counts = {vt: min(n, cap) for vt, n in counts.items()}
        return counts

    def heard_before(
        self, before: datetime, *, present: bool, limit: int = 500
    ) -> list[DriverStatus]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (one indexed query)."""
        rows = DriverPresence.objects.filter(
            online=True, seen_at__lt=check_instant(before, "before")
        )
        if present:
            rows = rows.filter(presence=Presence.PRESENT)
        else:
            rows = rows.exclude(presence=Presence.PRESENT).filter(order_id__isnull=True)
        with _storage("finding the drivers not heard from"):
            return [driver_status(row) for row in rows.order_by("seen_at", "driver_id")[:limit]]


class DjangoDriverProfiles:
    """Drivers' cards from the app's :class:`~vtc_dispatch_django.models.DriverProfile` rows
    and their users: the name is the user's full name (else his username); a blank
    phone, plate or vehicle is ``None``."""

    def card(self, driver_id: str) -> DriverCard | None:
        """See :class:`~vtc_dispatch.ports.DriverProfiles`."""
        if not driver_id.isdigit():
            return None  # the app's driver ids are its users' primary keys
        with _storage(f"reading the profile of driver {driver_id!r}"):
            profile = DriverProfile.objects.select_related("user").filter(user_id=driver_id).first()
        if profile is None:
            return None
        user = profile.user
        return DriverCard(
            driver_id,
            name=user.get_full_name() or user.get_username(),
            phone=profile.phone or None,
            vehicle=profile.vehicle or None,
            plate=profile.plate or None,
        )


def _raise(model: Any, key: dict[str, str], **by: int) -> None:
    """Add ``by`` to the row's columns in one ``UPDATE`` (F() expressions), creating the row.

    Called inside a transaction.  Two first additions at once: one creates
    the row, the other's insert fails on the primary key (rolled back to
    its savepoint) and it adds to the row just created.
    """
    rows = model.objects.filter(**key)
    if rows.update(**{column: F(column) + n for column, n in by.items()}):
        return
    try:
        with transaction.atomic():
            model.objects.create(**key, **by)
    except IntegrityError:
        rows.update(**{column: F(column) + n for column, n in by.items()})


class DjangoStatsStore:
    """Drivers' offer statistics in :class:`~vtc_dispatch_django.models.StatsRecord` rows.

    Answers as :class:`~vtc_dispatch.pool.StatsBook` does, from the
    database, so that every process sees the same statistics and they
    outlive the service: counts since the start (raised with F()
    expressions), and the answers recorded within ``window`` before the
    latest one (:class:`~vtc_dispatch_django.models.DriverAnswer` rows)
    for the acceptance and cancellation rates.
    """

    def __init__(
        self, *, window: timedelta = timedelta(days=7), kept: timedelta = ACTIVITY_KEPT
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        self._window = window
        self._kept = kept

    def record(self, driver_id: str, outcome: Outcome, at: datetime) -> None:
        """See :class:`~vtc_dispatch.ports.StatsStore` (one transaction)."""
        check_outcome(outcome)
        what = f"recording an offer outcome of driver {driver_id!r}"
        with _storage(what), transaction.atomic():
            if outcome == "offered":
                _raise(StatsRecord, {"driver_id": driver_id}, offered=1)
                return
            DriverActivity.objects.create(driver_id=driver_id, outcome=outcome, at=at)
            DriverActivity.objects.filter(driver_id=driver_id, at__lt=at - self._kept).delete()
            if outcome in PRESENCE:
                return
            _raise(StatsRecord, {"driver_id": driver_id}, **{outcome: 1})
            DriverAnswer.objects.create(driver_id=driver_id, outcome=outcome, at=at)
            # As StatsBook: the oldest answers go while they are older than the window.
            answers = DriverAnswer.objects.filter(driver_id=driver_id)
            kept = (
                answers.filter(at__gte=at - self._window)
                .order_by("seq")
                .values_list("seq", flat=True)
                .first()
            )
            answers.filter(seq__lt=kept).delete()

    def get(self, driver_id: str) -> DriverStats:
        """See :class:`~vtc_dispatch.ports.StatsStore`."""
        with _storage(f"reading the statistics of driver {driver_id!r}"):
            counts = StatsRecord.objects.filter(driver_id=driver_id).values(*COUNTED).first()
            recent = deque(
                DriverAnswer.objects.filter(driver_id=driver_id)
                .order_by("seq")
                .values_list("at", "outcome")
            )
        return DriverStats(self._window, **(counts or {}), recent=recent)

    def activity(
        self, driver_id: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, str]]:
        """See :class:`~vtc_dispatch.ports.StatsStore` (one indexed query)."""
        with _storage(f"reading the activity of driver {driver_id!r}"):
            return list(
                DriverActivity.objects.filter(driver_id=driver_id, at__gte=since, at__lt=until)
                .order_by("at", "seq")
                .values_list("at", "outcome")
            )


class DjangoRatingStore:
    """Customers' rating totals in :class:`~vtc_dispatch_django.models.RatingTotal` rows.

    The sum and the number of ratings are raised together by one ``UPDATE``
    (F() expressions): two ratings at once both count.
    """

    def add(self, party_id: str, stars: int) -> None:
        """See :class:`~vtc_dispatch.ports.RatingStore`."""
        if isinstance(stars, bool) or not isinstance(stars, int):
            raise InvalidRating(f"stars must be an integer, got {stars!r}")
        with _storage(f"adding a rating of {party_id!r}"), transaction.atomic():
            _raise(RatingTotal, {"party_id": party_id}, stars=stars, ratings=1)

    def totals(self, party_id: str) -> tuple[int, int]:
        """See :class:`~vtc_dispatch.ports.RatingStore`."""
        with _storage(f"reading the ratings of {party_id!r}"):
            found = (
                RatingTotal.objects.filter(party_id=party_id)
                .values_list("stars", "ratings")
                .first()
            )
        return (0, 0) if found is None else (found[0], found[1])


class DjangoWallet:
    """Wallets in :class:`~vtc_dispatch_django.models.WalletAccount` rows, holds beside them.

    A call with an op id inserts its
    :class:`~vtc_dispatch_django.models.WalletOperation` row first, in the
    same transaction as the money it moves: a concurrent or later replay
    finds the row (waiting for the first transaction to end) and returns
    its result.
    """

    def __init__(self, *, new_hold_id: Callable[[], str] | None = None) -> None:
        self._new_hold_id = new_hold_id or (lambda: f"hold-{uuid.uuid4().hex}")

    def _once(self, what: str, op_id: str | None, description: str, run: Callable[[], str]) -> str:
        """``run()`` in a transaction, recorded under ``op_id``; a replay's recorded result."""
        check_op_id(op_id)
        with _storage(what):
            if op_id is None:
                with transaction.atomic():
                    return run()
            try:
                with transaction.atomic():
                    done = WalletOperation.objects.create(op_id=op_id, description=description)
                    done.result = run()
                    done.save(update_fields=["result"])
                    return done.result
            except IntegrityError:
                found = (
                    WalletOperation.objects.filter(op_id=op_id)
                    .values_list("description", "result")
                    .first()
                )
                if found is None:
                    raise  # not the op id: a constraint of the move itself
            check_same(op_id, found[0], description)
            return found[1]

    def credit(
        self, customer_id: str, amount: Decimal, currency: str, *, op_id: str | None = None
    ) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a credit", positive=True)

        def run() -> str:
            account, _ = WalletAccount.objects.get_or_create(
                customer_id=customer_id, currency=currency
            )
            WalletAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
            return ""

        self._once(
            f"crediting the wallet of {customer_id!r}",
            op_id,
            describe_credit(customer_id, amount, currency),
            run,
        )

    def balance(self, customer_id: str, currency: str) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        with _storage(f"reading the wallet of {customer_id!r}"):
            found = (
                WalletAccount.objects.filter(customer_id=customer_id, currency=currency)
                .values_list("balance", flat=True)
                .first()
            )
        return Decimal(0) if found is None else _plain(found)

    def hold(
        self,
        customer_id: str,
        amount: Decimal,
        currency: str,
        reference: str,
        *,
        op_id: str | None = None,
    ) -> str:
        """See :class:`~vtc_dispatch.ports.Wallet` (a conditional debit, then the hold row)."""
        amount = check_amount(amount, "a hold", positive=False)
        hold_id = self._new_hold_id() if op_id is None else hold_id_for(op_id)

        def run() -> str:
            debited = WalletAccount.objects.filter(
                customer_id=customer_id, currency=currency, balance__gte=amount
            ).update(balance=F("balance") - amount)
            if not debited and amount > 0:
                free = self.balance(customer_id, currency)
                raise PaymentRefused(
                    f"wallet of {customer_id!r} holds {free} {currency}, {amount} needed"
                )
            WalletHold.objects.create(
                hold_id=hold_id,
                customer_id=customer_id,
                currency=currency,
                amount=amount,
                reference=reference,
            )
            return hold_id

        return self._once(
            f"holding on the wallet of {customer_id!r}",
            op_id,
            describe_hold(customer_id, amount, currency, reference),
            run,
        )

    def _take_hold(self, hold_id: str) -> WalletHold:
        hold = WalletHold.objects.select_for_update().filter(hold_id=hold_id).first()
        if hold is None or not WalletHold.objects.filter(hold_id=hold_id).delete()[0]:
            raise NotFound(f"no wallet hold {hold_id!r}")
        return hold

    def capture(self, hold_id: str, amount: Decimal, *, op_id: str | None = None) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a capture", positive=False)

        def run() -> str:
            hold = self._take_hold(hold_id)
            account, _ = WalletAccount.objects.select_for_update().get_or_create(
                customer_id=hold.customer_id, currency=hold.currency
            )
            # A row made just now holds the int default, not a Decimal.
            available = _plain(hold.amount) + _plain(Decimal(account.balance))
            taken = min(amount, available)
            account.balance = available - taken
            account.save(update_fields=["balance"])
            return amount_text(taken)

        taken = self._once(
            f"capturing wallet hold {hold_id!r}", op_id, describe_capture(hold_id, amount), run
        )
        return Decimal(taken)

    def release(self, hold_id: str, *, op_id: str | None = None) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""

        def run() -> str:
            hold = self._take_hold(hold_id)
            account, _ = WalletAccount.objects.get_or_create(
                customer_id=hold.customer_id, currency=hold.currency
            )
            WalletAccount.objects.filter(pk=account.pk).update(balance=F("balance") + hold.amount)
            return ""

        self._once(f"releasing wallet hold {hold_id!r}", op_id, describe_release(hold_id), run)


def _plain(value: Decimal) -> Decimal:
    """A stored amount without the column's trailing zeros (``1500.0000`` -> ``1500``)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal
