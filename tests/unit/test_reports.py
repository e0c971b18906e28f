"""The operator's reports against a hand-built set of orders: counts, exact sums, percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from report_orders import ZONES, done_ride, made_order, two_days_of_orders

from vtc_dispatch.errors import InvalidArgument, InvalidDateRange
from vtc_dispatch.memory import InMemoryOrderRepository
from vtc_dispatch.order import Order
from vtc_dispatch.reports import (
    COLUMNS,
    DayTotal,
    Report,
    ReportQuery,
    RevenueTotal,
    WaitBin,
    build_report,
)

DAY_1, DAY_2 = date(2026, 11, 21), date(2026, 11, 22)


def _stored(orders: Sequence[Order]) -> InMemoryOrderRepository:
    repository = InMemoryOrderRepository()
    for order in orders:
        repository.add(order)
    return repository


@pytest.fixture
def report() -> Report:
    return build_report(_stored(two_days_of_orders()), ReportQuery(DAY_1, DAY_2), ZONES)


def _figures(report: Report) -> list[tuple[object, ...]]:
    return [
        (
            row.day,
            row.city,
            row.vehicle_type,
            row.currency,
            row.requests,
            row.done,
            row.no_driver,
            row.open,
            {role: n for role, n in row.cancelled.items() if n},
            row.offers,
            row.revenue,
            row.cancellation_fees,
        )
        for row in report.rows
    ]


def test_each_day_city_and_vehicle_type_has_its_counts_and_exact_sums(report: Report) -> None:
    douala_1 = {"customer": 1, "system": 1}
    euros, fees = Decimal("20.30"), Decimal("5.05")
    assert _figures(report) == [
        (DAY_1, "dakar", "taxi_jaune", "XOF", 2, 1, 0, 0, {"driver": 1}, 3, 1500, 0),
        (DAY_1, "douala", "confort", "XAF", 1, 1, 0, 0, {}, 1, 5000, 0),
        (DAY_1, "douala", "taxi_jaune", "XAF", 7, 3, 1, 1, douala_1, 9, 9650, 500),
        (DAY_2, "dakar", "taxi_jaune", "XOF", 1, 1, 0, 0, {}, 0, 1000, 0),
        (DAY_2, "douala", "taxi_jaune", "XAF", 1, 1, 0, 0, {}, 4, 2000, 0),
        (DAY_2, "lyon", "confort", "EUR", 3, 2, 0, 0, {"customer": 1}, 0, euros, fees),
    ]
    lyon = report.rows[-1]
    # 12.10 + 8.20 in floats would be 20.299999999999997: the sum is a Decimal, exact.
    assert isinstance(lyon.revenue, Decimal)
    assert str(lyon.revenue) == "20.30"


def test_durations_and_their_nearest_rank_percentiles(report: Report) -> None:
    douala = report.rows[2]
    # a, b, c (first accepted after 10 s, withdrew, taken again) and d: 20, 40, 10, 30 s.
    assert douala.assignment_s == (10, 20, 30, 40)
    assert (douala.assignment_p50_s, douala.assignment_p90_s) == (20, 40)
    # From the acceptance of the driver who came: a 300, b 120, c 350 - 100 = 250 s.
    assert douala.wait_s == (120, 250, 300)
    assert (douala.wait_p50_s, douala.wait_p90_s) == (250, 300)
    lyon = report.rows[-1]
    assert lyon.assignment_s == (5, 8, 9)
    assert (lyon.assignment_p50_s, lyon.assignment_p90_s) == (8, 9)
    # r was reached (60 s) before its customer cancelled: his wait counts.
    assert (lyon.wait_s, lyon.wait_p50_s, lyon.wait_p90_s) == ((60, 180, 240), 180, 240)
    confort = report.rows[1]
    assert (confort.wait_p50_s, confort.wait_p90_s) == (60, 60)


def test_a_row_reads_as_the_cells_of_the_table(report: Report) -> None:
    douala = report.rows[2]
    assert (douala.served_pct, douala.no_driver_pct) == (42.86, 14.29)
    cells = dict(zip(COLUMNS, douala.cells(), strict=True))
    assert cells == {
        "day": "2026-11-21",
        "city": "douala",
        "vehicle type": "taxi_jaune",
        "requests": "7",
        "served": "3",
        "served %": "42.86",
        "no driver": "1",
        "no driver %": "14.29",
        "open": "1",
        "cancelled by customer": "1",
        "cancelled by driver": "0",
        "cancelled by merchant": "0",
        "cancelled by operator": "0",
        "cancelled by system": "1",
        "assignment p50 (s)": "20.0",
        "assignment p90 (s)": "40.0",
        "wait p50 (s)": "250.0",
        "wait p90 (s)": "300.0",
        "offers": "9",
        "offers per order": "1.29",
        "currency": "XAF",
        "revenue": "9650",
        "cancellation fees": "500",
    }
    # Dakar's cancelled order was never reached: no wait but the served one's.
    dakar = dict(zip(COLUMNS, report.rows[0].cells(), strict=True))
    assert (dakar["wait p50 (s)"], dakar["revenue"]) == ("180.0", "1500")
    lyon = dict(zip(COLUMNS, report.rows[-1].cells(), strict=True))
    assert (lyon["revenue"], lyon["cancellation fees"]) == ("20.30", "5.05")


def test_the_totals_the_charts_draw(report: Report) -> None:
    assert report.days() == [DayTotal(DAY_1, 10, 5), DayTotal(DAY_2, 5, 4)]
    assert [d.served_pct for d in report.days()] == [50.0, 80.0]
    assert report.revenue_by_vehicle_type() == [
        RevenueTotal("confort", "EUR", Decimal("20.30"), Decimal("5.05")),
        RevenueTotal("confort", "XAF", Decimal(5000), Decimal(0)),
        RevenueTotal("taxi_jaune", "XAF", Decimal(11650), Decimal(500)),
        RevenueTotal("taxi_jaune", "XOF", Decimal(2500), Decimal(0)),
    ]
    # Waits: 180 60 120 250 300 on the first day, 60 600 60 180 240 on the second.
    assert report.wait_histogram(60, 6) == [
        WaitBin(0.0, 60.0, 0),
        WaitBin(60.0, 120.0, 3),
        WaitBin(120.0, 180.0, 1),
        WaitBin(180.0, 240.0, 2),
        WaitBin(240.0, 300.0, 2),
        WaitBin(300.0, None, 2),
    ]


def test_filters_keep_one_city_or_one_vehicle_type() -> None:
    stored = _stored(two_days_of_orders())
    douala = build_report(stored, ReportQuery(DAY_1, DAY_2, city="douala"), ZONES)
    assert [(r.day, r.vehicle_type, r.requests) for r in douala.rows] == [
        (DAY_1, "confort", 1),
        (DAY_1, "taxi_jaune", 7),
        (DAY_2, "taxi_jaune", 1),
    ]
    confort = build_report(stored, ReportQuery(DAY_1, DAY_2, vehicle_type="confort"), ZONES)
    assert [(r.city, r.requests) for r in confort.rows] == [("douala", 1), ("lyon", 3)]
    one_day = build_report(stored, ReportQuery(DAY_2, DAY_2, city="dakar"), ZONES)
    assert [(r.day, r.requests) for r in one_day.rows] == [(DAY_2, 1)]
    nobody = build_report(stored, ReportQuery(DAY_1, DAY_2, city="kribi"), ZONES)
    assert nobody.rows == ()
    assert [d.requests for d in nobody.days()] == [0, 0]


def test_the_days_are_on_each_citys_clock() -> None:
    # 23:30 UTC on the 20th is the 21st in Douala, the 20th in Dakar; a city the
    # configuration no longer has is dated in UTC.
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    stored = _stored(
        [
            made_order("douala", late, done_ride(10, 70), fare="900"),
            made_order("dakar", late, done_ride(10, 70), fare="900", city="dakar"),
            made_order("gone", late, done_ride(10, 70), fare="900", city="kribi"),
        ]
    )
    report = build_report(stored, ReportQuery(date(2026, 11, 20), DAY_1), ZONES)
    assert [(r.day, r.city) for r in report.rows] == [
        (date(2026, 11, 20), "dakar"),
        (date(2026, 11, 20), "kribi"),
        (DAY_1, "douala"),
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (DAY_2, DAY_1, "end must not be before start 2026-11-22, got 2026-11-21"),
        (date(2025, 1, 1), date(2026, 1, 2), "at most 366 days, got 367 (2025-01-01 to"),
        (datetime(2026, 11, 21, 8, tzinfo=UTC), DAY_2, "start must be a date, got datetime"),
        (DAY_1, "2026-11-22", "end must be a date, got '2026-11-22'"),
    ],
)
def test_bad_dates_are_refused_with_their_values(start: object, end: object, message: str) -> None:
    with pytest.raises(InvalidDateRange, match=message.replace("(", r"\(")) as caught:
        ReportQuery(start, end)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidArgument)


def test_a_year_is_the_longest_report_and_bad_filters_are_refused() -> None:
    assert len(ReportQuery(date(2024, 1, 1), date(2024, 12, 31)).days) == 366
    with pytest.raises(InvalidArgument, match="city"):
        ReportQuery(DAY_1, DAY_2, city="")
    report = Report(ReportQuery(DAY_1, DAY_1), ())
    with pytest.raises(InvalidArgument, match="bins must be an integer >= 1, got 0"):
        report.wait_histogram(60, 0)
    with pytest.raises(InvalidArgument, match="bin_s must be a number > 0, got -1"):
        report.wait_histogram(-1)
