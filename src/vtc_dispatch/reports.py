"""The operator's reports: per local day, city and vehicle type, what the stored orders say.

:func:`build_report` reads the orders made in the days of a
:class:`ReportQuery` from an :class:`~vtc_dispatch.ports.OrderHistory` and
returns a :class:`Report`: one :class:`ReportRow` per day, city, vehicle
type (and currency, which a city's orders share), and the totals its
charts draw (requests and served share by day, revenue by vehicle type,
the distribution of customers' waits).

The definitions, all from the stored order:

- **day**: the date, on the city's clock (its time zone, else its
  country's: :meth:`~vtc_dispatch.pricing.config.PricingConfig.time_zones`),
  at which the order was made (``created_at``).  An order of a city the
  configuration no longer has is dated in UTC.
- **city**: the city of its quote; **vehicle type**: the order's.
- **requests**: orders made.  Each ends in exactly one outcome, by its
  current state's phase (:mod:`vtc_dispatch.kinds`): **served** (``DONE``:
  a ride done, a load delivered, a parcel delivered), **no driver** (in
  ``NO_DRIVER`` after a search, the customer did not search again),
  **cancelled** by the role of who cancelled (customer, driver, merchant,
  operator, system), or **open** (still going on).  Percentages are of the
  requests, rounded to 2 decimals.
- **time to assignment**: from the first time the order searched (a ride:
  when it was made; a delivery: when its parcel was ready) to the first time
  a driver took it; orders no driver took have none.
- **customer wait**: from the assignment of the driver who came (the last
  acceptance before the arrival; a driver who withdrew does not count) to
  his arrival at the pickup; orders no driver reached have none.
- **p50, p90**: nearest-rank percentiles
  (:func:`~vtc_dispatch.measures.percentile`): each is one of the observed
  durations, in seconds.
- **offers**: the offers of the order's last search (``offers_made``: a
  search again or a requeue starts the count over); **offers per order**:
  offers over requests.
- **revenue**: the final fares of the served orders; **cancellation fees**:
  the fees of the cancelled ones; exact :class:`~decimal.Decimal` sums in the
  row's currency.

>>> from datetime import UTC, date, datetime
>>> from zoneinfo import ZoneInfo
>>> from vtc_dispatch.memory import InMemoryOrderRepository
>>> report = build_report(InMemoryOrderRepository(), ReportQuery(date(2026, 11, 21),
...                       date(2026, 11, 22)), {"douala": ZoneInfo("Africa/Douala")})
>>> report.rows, [(d.day.isoformat(), d.requests) for d in report.days()]
((), [('2026-11-21', 0), ('2026-11-22', 0)])
>>> ReportQuery(date(2026, 11, 22), date(2026, 11, 21))
Traceback (most recent call last):
...
vtc_dispatch.errors.InvalidDateRange: end must not be before start 2026-11-22, got 2026-11-21
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

import attrs

from vtc_dispatch.errors import InvalidArgument, InvalidDateRange, shown
from vtc_dispatch.fsm import RideState
from vtc_dispatch.measures import percent, percentile
from vtc_dispatch.order import ACTOR_ROLES, Order
from vtc_dispatch.ports import OrderHistory
from vtc_dispatch.validation import check_optional_id

__all__ = [
    "CANCELLING_ROLES",
    "COLUMNS",
    "MAX_REPORT_DAYS",
    "DayTotal",
    "Report",
    "ReportQuery",
    "ReportRow",
    "RevenueTotal",
    "WaitBin",
    "build_report",
]

MAX_REPORT_DAYS = 366
"""The most days one report covers: a year, leap day included."""

CANCELLING_ROLES: tuple[str, ...] = tuple(sorted(ACTOR_ROLES))
"""Who may cancel, in the order of the cancellation columns."""

COLUMNS: tuple[str, ...] = (
    "day",
    "city",
    "vehicle type",
    "requests",
    "served",
    "served %",
    "no driver",
    "no driver %",
    "open",
    *(f"cancelled by {role}" for role in CANCELLING_ROLES),
    "assignment p50 (s)",
    "assignment p90 (s)",
    "wait p50 (s)",
    "wait p90 (s)",
    "offers",
    "offers per order",
    "currency",
    "revenue",
    "cancellation fees",
)
"""The headings of a report's table and CSV, one per :meth:`ReportRow.cells`."""

_MAX_ID = 64


def _a_date(value: object, argument: str) -> date:
    # A datetime is a date too, but its time would silently be dropped.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise InvalidDateRange(f"{argument} must be a date, got {shown(value)}", argument=argument)


@attrs.frozen
class ReportQuery:
    """The days a report covers, ``start`` to ``end`` included (local dates), and
    optionally one city and one vehicle type (``None``: all).

    >>> ReportQuery(date(2026, 11, 1), date(2026, 11, 30), city="douala").days[-1]
    datetime.date(2026, 11, 30)
    >>> ReportQuery(date(2026, 1, 1), date(2027, 6, 1))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidDateRange: a report covers at most 366 days, got 517 (2026-01-01 to 2027-06-01)
    """  # noqa: E501

    start: date
    end: date
    city: str | None = None
    vehicle_type: str | None = None

    def __attrs_post_init__(self) -> None:
        start, end = _a_date(self.start, "start"), _a_date(self.end, "end")
        if end < start:
            raise InvalidDateRange(
                f"end must not be before start {start.isoformat()}, got {end.isoformat()}",
                argument="end",
            )
        span = (end - start).days + 1
        if span > MAX_REPORT_DAYS:
            raise InvalidDateRange(
                f"a report covers at most {MAX_REPORT_DAYS} days, got {span}"
                f" ({start.isoformat()} to {end.isoformat()})",
                argument="end",
            )
        check_optional_id(self.city, "city", _MAX_ID)
        check_optional_id(self.vehicle_type, "vehicle_type", _MAX_ID)

    @property
    def days(self) -> list[date]:
        """Every day of the report, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _p(values: tuple[float, ...], q: float) -> float | None:
    return percentile(values, q, method="nearest")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


@attrs.frozen
class ReportRow:
    """The figures of one day, city, vehicle type and currency.

    ``cancelled`` has every role of :data:`CANCELLING_ROLES`;
    ``assignment_s`` and ``wait_s`` are the observed durations (seconds,
    sorted) the percentiles are taken from.
    """

    day: date
    city: str
    vehicle_type: str
    currency: str
    requests: int
    done: int
    no_driver: int
    open: int
    cancelled: Mapping[str, int]
    offers: int
    revenue: Decimal
    cancellation_fees: Decimal
    assignment_s: tuple[float, ...] = attrs.field(repr=False)
    wait_s: tuple[float, ...] = attrs.field(repr=False)

    @property
    def served_pct(self) -> float:
        """Served requests, in percent."""
        return percent(self.done, self.requests)

    @property
    def no_driver_pct(self) -> float:
        """Requests left with no driver, in percent."""
        return percent(self.no_driver, self.requests)

    @property
    def assignment_p50_s(self) -> float | None:
        """Median time to assignment (nearest rank), ``None`` when no driver took any."""
        return _p(self.assignment_s, 0.5)

    @property
    def assignment_p90_s(self) -> float | None:
        """90th percentile of the time to assignment (nearest rank)."""
        return _p(self.assignment_s, 0.9)

    @property
    def wait_p50_s(self) -> float | None:
        """Median customer wait (nearest rank), ``None`` when no driver arrived."""
        return _p(self.wait_s, 0.5)

    @property
    def wait_p90_s(self) -> float | None:
        """90th percentile of the customer wait (nearest rank)."""
        return _p(self.wait_s, 0.9)

    @property
    def offers_per_order(self) -> float:
        """Offers over requests."""
        return self.offers / self.requests if self.requests else 0.0

    def cells(self) -> tuple[str, ...]:
        """The row as text, one cell per :data:`COLUMNS`: the table's and the CSV's.

        Amounts are plain decimals in the currency's units (``12500``), durations
        seconds to the tenth; a percentile with no observation is empty.
        """
        return (
            self.day.isoformat(),
            self.city,
            self.vehicle_type,
            str(self.requests),
            str(self.done),
            f"{self.served_pct:.2f}",
            str(self.no_driver),
            f"{self.no_driver_pct:.2f}",
            str(self.open),
            *(str(self.cancelled[role]) for role in CANCELLING_ROLES),
            _seconds(self.assignment_p50_s),
            _seconds(self.assignment_p90_s),
            _seconds(self.wait_p50_s),
            _seconds(self.wait_p90_s),
            str(self.offers),
            f"{self.offers_per_order:.2f}",
            self.currency,
            f"{self.revenue:f}",
            f"{self.cancellation_fees:f}",
        )


@attrs.frozen
class DayTotal:
    """One day of the report, every city and vehicle type together."""

    day: date
    requests: int
    done: int

    @property
    def served_pct(self) -> float:
        """Served requests, in percent (0 on a day without any)."""
        return percent(self.done, self.requests)


@attrs.frozen
class RevenueTotal:
    """What one vehicle type earned over the report, in one currency."""

    vehicle_type: str
    currency: str
    revenue: Decimal
    cancellation_fees: Decimal


@attrs.frozen
class WaitBin:
    """How many customer waits lasted from ``from_s`` to under ``to_s`` seconds
    (``to_s`` ``None``: that long or longer)."""

    from_s: float
    to_s: float | None
    count: int


@attrs.frozen
class Report:
    """A report's rows, ordered by day, city, vehicle type and currency."""

    query: ReportQuery
    rows: tuple[ReportRow, ...]

    def days(self) -> list[DayTotal]:
        """Every day of the query (those without a request too), rows added up."""
        totals = {day: [0, 0] for day in self.query.days}
        for row in self.rows:
            totals[row.day][0] += row.requests
            totals[row.day][1] += row.done
        return [DayTotal(day, requests, done) for day, (requests, done) in totals.items()]

    def revenue_by_vehicle_type(self) -> list[RevenueTotal]:
        """Revenue and cancellation fees per vehicle type and currency, by vehicle type."""
        sums: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        for row in self.rows:
            key = (row.vehicle_type, row.currency)
            revenue, fees = sums.get(key, (Decimal(0), Decimal(0)))
            sums[key] = (revenue + row.revenue, fees + row.cancellation_fees)
        return [RevenueTotal(vt, cur, *sums[vt, cur]) for vt, cur in sorted(sums)]

    def wait_histogram(self, bin_s: float = 60.0, bins: int = 10) -> list[WaitBin]:
        """The customer waits of every row in ``bins`` bins of ``bin_s`` seconds, the last
        one open-ended (``to_s`` ``None``).

        >>> Report(ReportQuery(date(2026, 1, 1), date(2026, 1, 1)), ()).wait_histogram(60, 2)
        [WaitBin(from_s=0.0, to_s=60.0, count=0), WaitBin(from_s=60.0, to_s=None, count=0)]
        """
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise InvalidArgument(
                f"bins must be an integer >= 1, got {shown(bins)}", argument="bins"
            )
        if isinstance(bin_s, bool) or not isinstance(bin_s, int | float) or not bin_s > 0:
            raise InvalidArgument(
                f"bin_s must be a number > 0, got {shown(bin_s)}", argument="bin_s"
            )
        step = float(bin_s)
        counts = [0] * bins
        for row in self.rows:
            for wait in row.wait_s:
                counts[min(int(wait // step), bins - 1)] += 1
        return [
            WaitBin(i * step, None if i == bins - 1 else (i + 1) * step, count)
            for i, count in enumerate(counts)
        ]


def _entered(order: Order, phase: RideState) -> list[datetime]:
    """When the order entered ``phase``, every time, in order."""
    spec = order.spec
    return [h.at for h in order.lifecycle.history if spec.phase(h.target) == phase]


def _outcome(order: Order, searched: bool) -> str:
    phase = order.phase
    if phase == RideState.DONE:
        return "done"
    if phase == RideState.CANCELLED:
        if order.cancellation is not None:
            return str(order.cancellation.by.role)
        return order.lifecycle.history[-1].actor
    if phase == RideState.NO_DRIVER and searched:
        return "no_driver"
    return "open"


@attrs.define
class _Tally:
    requests: int = 0
    outcomes: dict[str, int] = attrs.field(factory=dict)
    offers: int = 0
    revenue: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    assignment_s: list[float] = attrs.field(factory=list)
    wait_s: list[float] = attrs.field(factory=list)

    def add(self, order: Order) -> None:
        searched = _entered(order, RideState.SEARCHING)
        accepted = _entered(order, RideState.ACCEPTED)
        arrived = _entered(order, RideState.ARRIVED)
        outcome = _outcome(order, bool(searched))
        self.requests += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.offers += order.offers_made
        if searched and accepted:
            self.assignment_s.append((accepted[0] - searched[0]).total_seconds())
        if arrived:
            came = [at for at in accepted if at <= arrived[0]]
            if came:
                self.wait_s.append((arrived[0] - came[-1]).total_seconds())
        if outcome == "done" and order.final_fare is not None:
            self.revenue += order.final_fare.amount
        if order.cancellation is not None:
            self.fees += order.cancellation.fee

    def row(self, day: date, city: str, vehicle_type: str, currency: str) -> ReportRow:
        get = self.outcomes.get
        return ReportRow(
            day=day,
            city=city,
            vehicle_type=vehicle_type,
            currency=currency,
            requests=self.requests,
            done=get("done", 0),
            no_driver=get("no_driver", 0),
            open=get("open", 0),
            cancelled={role: get(role, 0) for role in CANCELLING_ROLES},
            offers=self.offers,
            revenue=self.revenue,
            cancellation_fees=self.fees,
            assignment_s=tuple(sorted(self.assignment_s)),
            wait_s=tuple(sorted(self.wait_s)),
        )


def _window(query: ReportQuery, zones: Mapping[str, tzinfo]) -> tuple[datetime, datetime]:
    """The instants that hold every local day of the query in every city it may count."""
    clocks = [*zones.values(), UTC] if query.city is None else [zones.get(query.city, UTC)]
    after = query.end + timedelta(days=1)
    return (
        min(datetime.combine(query.start, time(), tzinfo=z) for z in clocks),
        max(datetime.combine(after, time(), tzinfo=z) for z in clocks),
    )


def build_report(history: OrderHistory, query: ReportQuery, zones: Mapping[str, tzinfo]) -> Report:
    """The report of ``query`` from the orders ``history`` holds, each dated on the clock of
    its city in ``zones`` (city id to time zone; a city not there: UTC).

    Reads the orders made in the query's days once, oldest first, and keeps
    no order: only counts, sums and durations.
    """
    start, end = _window(query, zones)
    tallies: dict[tuple[date, str, str, str], _Tally] = {}
    orders: Iterable[Order] = history.created_between(start, end)
    for order in orders:
        city = order.quote.city
        if query.city is not None and city != query.city:
            continue
        if query.vehicle_type is not None and order.vehicle_type != query.vehicle_type:
            continue
        day = order.created_at.astimezone(zones.get(city, UTC)).date()
        if not query.start <= day <= query.end:
            continue
        key = (day, city, order.vehicle_type, order.quote.currency)
        tallies.setdefault(key, _Tally()).add(order)
    return Report(query, tuple(tallies[key].row(*key) for key in sorted(tallies)))
