"""Reports over any orders: every request counted once, on its day, with one outcome;
sums exact; a report of two periods is the two reports of each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from report_orders import ZONES, Step, done_ride, made_order

from vtc_dispatch.fsm import RideEvent
from vtc_dispatch.memory import InMemoryOrderRepository
from vtc_dispatch.order import Order
from vtc_dispatch.reports import ReportQuery, build_report

START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 20), date(2026, 11, 23)

_OUTCOMES: dict[str, list[Step]] = {
    "done": done_ride(30, 300),
    "no_driver": [(RideEvent.NO_DRIVER, "system", 90)],
    "cancelled": [(RideEvent.ACCEPT, "driver", 20), (RideEvent.CANCEL, "driver", 60)],
    "open": [],
}


@st.composite
def orders(draw: st.DrawFn) -> list[Order]:
    made = []
    for i in range(draw(st.integers(0, 25))):
        outcome = draw(st.sampled_from(sorted(_OUTCOMES)))
        city = draw(st.sampled_from(["douala", "dakar", "kribi"]))
        made.append(
            made_order(
                f"o{i}",
                START + timedelta(minutes=draw(st.integers(-120, 5 * 24 * 60))),
                _OUTCOMES[outcome],
                city=city,
                vehicle_type=draw(st.sampled_from(["taxi_jaune", "confort"])),
                offers=draw(st.integers(0, 5)),
                fare=str(draw(st.decimals("0.01", "99999.99", places=2)))
                if outcome == "done"
                else None,
                fee=str(draw(st.decimals("0", "999", places=2)))
                if outcome == "cancelled"
                else None,
            )
        )
    return made


def _repository(made: list[Order]) -> InMemoryOrderRepository:
    repository = InMemoryOrderRepository()
    for order in made:
        repository.add(order)
    return repository


def _local_day(order: Order) -> date:
    return order.created_at.astimezone(ZONES.get(order.quote.city, UTC)).date()


@given(orders())
def test_every_request_of_the_days_counts_once_with_one_outcome(made: list[Order]) -> None:
    report = build_report(_repository(made), ReportQuery(FIRST, LAST), ZONES)
    inside = [o for o in made if FIRST <= _local_day(o) <= LAST]
    assert sum(r.requests for r in report.rows) == len(inside)
    for row in report.rows:
        outcomes = row.done + row.no_driver + row.open + sum(row.cancelled.values())
        assert outcomes == row.requests
        assert len(row.wait_s) <= row.done + sum(row.cancelled.values())
        assert row.assignment_s == tuple(sorted(row.assignment_s))
        if row.wait_s:
            assert row.wait_s[0] <= (row.wait_p50_s or 0) <= (row.wait_p90_s or 0) <= row.wait_s[-1]
    fares = sum((o.final_fare.amount for o in inside if o.final_fare), Decimal(0))
    fees = sum((o.cancellation.fee for o in inside if o.cancellation), Decimal(0))
    assert sum((r.revenue for r in report.rows), Decimal(0)) == fares
    assert sum((r.cancellation_fees for r in report.rows), Decimal(0)) == fees
    assert sum(d.requests for d in report.days()) == len(inside)


@given(orders(), st.integers(0, 2))
def test_a_report_of_two_periods_is_the_report_of_each(made: list[Order], split: int) -> None:
    repository = _repository(made)
    middle = FIRST + timedelta(days=split)
    whole = build_report(repository, ReportQuery(FIRST, LAST), ZONES)
    before = build_report(repository, ReportQuery(FIRST, middle), ZONES)
    after = build_report(repository, ReportQuery(middle + timedelta(days=1), LAST), ZONES)
    assert whole.rows == before.rows + after.rows
