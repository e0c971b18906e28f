"""A driver's and a customer's figures over a period: rides, money, time online, ratings.

Computed from what the stores keep: the orders (pages of
:meth:`~vtc_dispatch.ports.OrderRepository.find`, newest first, read by
:func:`orders_since`), the driver's activity (his answers to offers and his times
online, :meth:`~vtc_dispatch.ports.StatsStore.activity`) and the rating totals.
Nothing here keeps a count of its own, and nothing reads a store itself: the
service reads them (:meth:`vtc_dispatch.service.DispatchService.dashboard`), so the
simulation, a host's REST API or an operator's script get the same figures from
the same stores.

A period is whole days in the city's local time (:func:`period_of`): ``today``,
``7d`` (today and the six days before), ``30d``, or from one day to another, both
included.  An order counts in the period where its event happened: a ride when it
was done, a cancellation when it was cancelled, a rating when it was given, an
order placed when it was created.  Amounts are summed as each was shown (in the
currency's units), by payment method and currency: exact Decimals.

>>> from datetime import UTC, date, datetime
>>> from zoneinfo import ZoneInfo
>>> now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
>>> week = period_of("7d", now, ZoneInfo("Africa/Douala"))
>>> week.first_day, week.last_day, week.start.isoformat()
(datetime.date(2026, 11, 15), datetime.date(2026, 11, 21), '2026-11-15T00:00:00+01:00')
>>> period_of((date(2026, 11, 2), date(2026, 11, 1)), now, UTC)
Traceback (most recent call last):
...
vtc_dispatch.errors.InvalidPeriod: period: from 2026-11-02 is after to 2026-11-01
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

import attrs

from vtc_dispatch.errors import InvalidPeriod, shown
from vtc_dispatch.fsm import RideState, Role
from vtc_dispatch.order import Order, Rating
from vtc_dispatch.pool.stats import PRESENCE
from vtc_dispatch.pricing.money import in_currency

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_DAYS",
    "PERIODS",
    "CustomerDashboard",
    "DriverDashboard",
    "MethodTotal",
    "Period",
    "RatingFigure",
    "customer_dashboard",
    "driver_dashboard",
    "orders_since",
    "period_of",
]

PERIODS = {"today": 1, "7d": 7, "30d": 30}
"""The named periods and their number of days, ending today."""
MAX_DAYS = 92
"""The longest period a dashboard covers (a quarter): longer ones are refused."""
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
"""The days a period may cover: the stores count time from 1970, and a day's end must
still be a date."""
LOOKBACK = timedelta(days=1)
"""How long before a period an order may have been created and still count in it (a
ride done, a rating given the next day)."""
_PAGE = 100


@attrs.frozen
class Period:
    """Whole local days ``first_day`` to ``last_day``: the instants in ``[start, end)``.

    ``name`` is the named period's (``today``, ``7d``, ``30d``), ``None`` for dates.
    """

    name: str | None
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    timezone: str

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end


def period_of(spec: str | tuple[date | None, date | None], now: datetime, zone: tzinfo) -> Period:
    """The period ``spec`` names, in the time zone ``zone``, as of ``now``.

    ``spec`` is one of :data:`PERIODS` or ``(from_day, to_day)`` (both included; a
    missing ``to_day`` is today, a missing ``from_day`` is ``to_day``: one day).
    :class:`~vtc_dispatch.errors.InvalidPeriod` for an unknown name, a start after
    its end, a period longer than :data:`MAX_DAYS` or days outside :data:`FIRST_DAY`
    to :data:`LAST_DAY`.

    >>> from datetime import UTC
    >>> now = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    >>> period_of("today", now, UTC).end.isoformat()
    '2026-11-22T00:00:00+00:00'
    >>> period_of((date(2026, 11, 20), None), now, UTC).last_day
    datetime.date(2026, 11, 21)
    >>> period_of("week", now, UTC)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidPeriod: period must be one of today, 7d, 30d or (from, to) dates, got 'week'
    """  # noqa: E501
    today = now.astimezone(zone).date()
    if isinstance(spec, str) and spec in PERIODS:
        name: str | None = spec
        first, last = today - timedelta(days=PERIODS[spec] - 1), today
    elif (
        isinstance(spec, tuple)
        and len(spec) == 2
        and spec != (None, None)
        and all(d is None or (isinstance(d, date) and not isinstance(d, datetime)) for d in spec)
    ):
        last = spec[1] or today
        name, first = None, spec[0] or last
        if first > last:
            raise InvalidPeriod(f"period: from {first} is after to {last}", argument="from")
        for argument, day in (("from", first), ("to", last)):
            if not FIRST_DAY <= day <= LAST_DAY:
                raise InvalidPeriod(
                    f"period: {argument} {day} is not between {FIRST_DAY} and {LAST_DAY}",
                    argument=argument,
                )
        days = (last - first).days + 1
        if days > MAX_DAYS:
            raise InvalidPeriod(
                f"period: from {first} to {last} is {days} days; at most {MAX_DAYS}",
                argument="to",
            )
    else:
        raise InvalidPeriod(
            f"period must be one of {', '.join(PERIODS)} or (from, to) dates, got {shown(spec)}",
            argument="period",
        )
    return Period(
        name,
        first,
        last,
        _midnight(first, zone),
        _midnight(last + timedelta(days=1), zone),
        str(zone),
    )


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


@attrs.frozen
class MethodTotal:
    """Money of one payment method in one currency: ``rides`` done and their ``fares``,
    the cancellation ``fees``, and their ``total``."""

    payment_method: str
    currency: str
    rides: int = 0
    fares: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        """Fares and fees together."""
        return self.fares + self.fees


@attrs.frozen
class RatingFigure:
    """Stars: their ``count`` and ``average`` (``None`` without any)."""

    count: int = 0
    total: int = 0

    @property
    def average(self) -> float | None:
        """The average of the stars, ``None`` before the first."""
        return self.total / self.count if self.count else None

    @classmethod
    def of(cls, ratings: list[Rating]) -> RatingFigure:
        """The figure of ``ratings``."""
        return cls(len(ratings), sum(r.stars for r in ratings))


@attrs.frozen
class DriverDashboard:
    """A driver's figures over ``period`` (see the module's documentation).

    ``online_s`` is the time he was online in the period (up to now);
    ``acceptance_rate`` the offers he accepted over those he answered or let
    expire (``None`` without any); ``rating`` the stars his customers gave in the
    period, ``overall_rating`` all of them (what customers see).
    """

    driver_id: str
    period: Period
    rides_done: int
    earnings: tuple[MethodTotal, ...]
    online_s: float
    accepted: int
    refused: int
    expired: int
    cancelled_after_accept: int
    rating: RatingFigure
    overall_rating: RatingFigure

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted over answered (accepted, refused or expired) offers."""
        answered = self.accepted + self.refused + self.expired
        return self.accepted / answered if answered else None


@attrs.frozen
class CustomerDashboard:
    """A customer's figures over ``period`` (see the module's documentation).

    ``rating_given`` the stars he gave drivers in the period; ``rating_received``
    those drivers gave him in it, ``overall_rating`` all he ever received.
    """

    customer_id: str
    period: Period
    orders_placed: int
    rides_done: int
    cancelled: int
    spending: tuple[MethodTotal, ...]
    rating_given: RatingFigure
    rating_received: RatingFigure
    overall_rating: RatingFigure


def orders_since(find: Callable[[int, int], list[Order]], since: datetime) -> Iterator[Order]:
    """The orders created since ``since`` less :data:`LOOKBACK`, read by pages newest
    first with ``find(offset, limit)`` (a party's :meth:`~vtc_dispatch.ports.OrderRepository.find`),
    up to the first page that holds none of them.

    >>> from vtc_dispatch.memory import InMemoryOrderRepository
    >>> from datetime import UTC
    >>> orders = InMemoryOrderRepository()
    >>> list(orders_since(lambda offset, limit: orders.find("customer", "chantal",
    ...     offset=offset, limit=limit), datetime(2026, 11, 21, tzinfo=UTC)))
    []
    """
    oldest = since - LOOKBACK
    offset = 0
    while True:
        page = find(offset, _PAGE)
        yield from (o for o in page if o.created_at >= oldest)
        if len(page) < _PAGE or all(o.created_at < oldest for o in page):
            return
        offset += _PAGE


class _Money:
    """Totals by (payment method, currency), as each amount was shown."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str], MethodTotal] = {}

    def add(self, order: Order, *, fare: Decimal | None = None, fee: Decimal | None = None) -> None:
        key = (order.payment_method, order.quote.currency)
        current = self._totals.get(key) or MethodTotal(*key)
        currency = order.quote.currency
        if fare is not None:
            current = attrs.evolve(
                current, rides=current.rides + 1, fares=current.fares + in_currency(fare, currency)
            )
        if fee is not None:
            current = attrs.evolve(current, fees=current.fees + in_currency(fee, currency))
        self._totals[key] = current

    def totals(self) -> tuple[MethodTotal, ...]:
        return tuple(self._totals[key] for key in sorted(self._totals))


def _done_in(order: Order, period: Period) -> bool:
    return order.phase == RideState.DONE and order.time_in_phase(RideState.DONE) in period


def driver_dashboard(
    driver_id: str,
    period: Period,
    *,
    orders: Iterable[Order],
    activity: list[tuple[datetime, str]],
    now: datetime,
    online: bool,
    overall_rating: RatingFigure = RatingFigure(),
) -> DriverDashboard:
    """The driver's figures over ``period`` as of ``now``, from his ``orders`` (those of
    :func:`orders_since` the period's start) and his ``activity`` from the period's start
    to its end or ``now``, whichever is later; ``online``: whether he is online now (his
    state through the period when his activity does not say).

    >>> from datetime import UTC
    >>> now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    >>> activity = [(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), "online"),
    ...             (datetime(2026, 11, 21, 9, 0, tzinfo=UTC), "accepted"),
    ...             (datetime(2026, 11, 21, 10, 30, tzinfo=UTC), "offline")]
    >>> board = driver_dashboard("amadou", period_of("today", now, UTC),
    ...     orders=[], activity=activity, now=now, online=False)
    >>> board.online_s / 3600, board.rides_done, board.acceptance_rate
    (2.5, 0, 1.0)
    """
    money = _Money()
    rides = 0
    ratings: list[Rating] = []
    for order in orders:
        if order.driver_id != driver_id:
            continue
        if _done_in(order, period):
            rides += 1
            assert order.final_fare is not None
            money.add(order, fare=order.final_fare.amount)
        cancellation = order.cancellation
        if cancellation is not None and cancellation.fee > 0 and cancellation.at in period:
            money.add(order, fee=cancellation.fee)
        ratings += [
            r
            for r in order.ratings
            if r.by.role == Role.CUSTOMER and r.about_id == driver_id and r.at in period
        ]
    counts = {"accepted": 0, "refused": 0, "expired": 0, "cancelled_after_accept": 0}
    for at, outcome in activity:
        if outcome in counts and at < period.end:
            counts[outcome] += 1
    return DriverDashboard(
        driver_id=driver_id,
        period=period,
        rides_done=rides,
        earnings=money.totals(),
        online_s=_online_s(activity, period, now, online),
        rating=RatingFigure.of(ratings),
        overall_rating=overall_rating,
        **counts,
    )


def _online_s(
    activity: list[tuple[datetime, str]], period: Period, now: datetime, online_now: bool
) -> float:
    """Seconds online within the period (up to ``now``), from the times he went online and
    offline since its start; his state at the start is the opposite of his first change
    after it (his state now when he did not change since)."""
    end = min(period.end, now)
    if end <= period.start:
        return 0.0
    changes = [(at, outcome) for at, outcome in activity if outcome in PRESENCE]
    on = changes[0][1] == "offline" if changes else online_now
    since = period.start
    total = timedelta(0)
    for at, outcome in changes:
        if at >= end:
            break
        if outcome == "online" and not on:
            on, since = True, at
        elif outcome == "offline" and on:
            on, total = False, total + (at - since)
    if on:
        total += end - since
    return total.total_seconds()


def customer_dashboard(
    customer_id: str,
    period: Period,
    *,
    orders: Iterable[Order],
    overall_rating: RatingFigure = RatingFigure(),
) -> CustomerDashboard:
    """The customer's figures over ``period``, from his ``orders`` (those of
    :func:`orders_since` the period's start); ``overall_rating``: all the stars drivers
    gave him.

    >>> from datetime import UTC
    >>> now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    >>> board = customer_dashboard("chantal", period_of("30d", now, UTC), orders=[])
    >>> board.rides_done, board.spending, board.overall_rating.average
    (0, (), None)
    """
    money = _Money()
    placed = rides = cancelled = 0
    given: list[Rating] = []
    received: list[Rating] = []
    for order in orders:
        placed += order.created_at in period
        if _done_in(order, period):
            rides += 1
            assert order.final_fare is not None
            money.add(order, fare=order.final_fare.amount)
        cancellation = order.cancellation
        if cancellation is not None and cancellation.at in period:
            cancelled += 1
            if cancellation.fee > 0:
                money.add(order, fee=cancellation.fee)
        for rating in order.ratings:
            if rating.at in period:
                (given if rating.by.role == Role.CUSTOMER else received).append(rating)
    return CustomerDashboard(
        customer_id=customer_id,
        period=period,
        orders_placed=placed,
        rides_done=rides,
        cancelled=cancelled,
        spending=money.totals(),
        rating_given=RatingFigure.of(given),
        rating_received=RatingFigure.of(received),
        overall_rating=overall_rating,
    )
