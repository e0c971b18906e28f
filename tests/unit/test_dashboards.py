"""Dashboards: figures over a period checked against a hand-built set of orders.

The orders are built by hand (their lifecycle fired at chosen times, their fares and
fees chosen) so that every count and every Decimal sum below is known exactly; the
service's part (which orders and activity it reads, the city's day) is checked over
the in-memory stores.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from places import AKWA, DEIDO

from vtc_dispatch.codec import order_from_data, order_to_data
from vtc_dispatch.dashboards import (
    MAX_DAYS,
    CustomerDashboard,
    DriverDashboard,
    RatingFigure,
    customer_dashboard,
    driver_dashboard,
    period_of,
)
from vtc_dispatch.errors import Forbidden, InvalidPeriod
from vtc_dispatch.fsm import RIDE
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor, Cancellation, Order, Rating
from vtc_dispatch.presentation import dashboard_view
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.pricing.engine import Pricer
from vtc_dispatch.pricing.quote import FinalFare
from vtc_dispatch.service import DispatchService

DOUALA = ZoneInfo("Africa/Douala")  # UTC+1, no summer time
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # 16:00 in Douala
PRICER = Pricer(douala_config())


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """November ``day`` 2026 at ``hour``:``minute`` in Douala."""
    return datetime(2026, 11, day, hour, minute, tzinfo=DOUALA)


def order(
    order_id: str,
    *,
    created: datetime,
    customer: str = "chantal",
    driver: str | None = "amadou",
    method: str = "CASH",
    done_after: timedelta | None = None,
    fare: str | None = None,
    cancelled: tuple[str, timedelta, str] | None = None,
    ratings: tuple[tuple[str, int, timedelta], ...] = (),
) -> Order:
    """An order created at ``created``; accepted by ``driver``; done ``done_after`` later at
    ``fare``, or cancelled by a role (``cancelled``: role, delay, fee)."""
    quote = PRICER.quote(AKWA, DEIDO, "taxi_jaune", created)
    life = RIDE.start(order_id, created).fire("search", actor="customer", at=created)
    if driver is not None:
        life = life.fire("accept", actor="driver", at=created + timedelta(minutes=1))
    final = None
    cancellation = None
    if done_after is not None:
        at = created + done_after
        for event in ("arrive", "start", "complete"):
            life = life.fire(event, actor="driver", at=at)
        assert fare is not None
        final = FinalFare(
            Decimal(fare), "XAF", "taxi_jaune", quote.city, "recomputed", (), (),
            Decimal(3), Decimal(10), (),
        )  # fmt: skip
    if cancelled is not None:
        role, delay, fee = cancelled
        at = created + delay
        life = life.fire("cancel", actor=role, at=at)
        by = Actor(role, customer if role == "customer" else driver or "ops")
        cancellation = Cancellation(by, "changed plans", Decimal(fee), at)
    rated = tuple(
        Rating(
            Actor.customer(customer) if by == "customer" else Actor.driver(driver or ""),
            (driver or "") if by == "customer" else customer,
            stars,
            None,
            created + delay,
        )
        for by, stars, delay in ratings
    )
    return Order(
        id=order_id, customer_id=customer, vehicle_type="taxi_jaune", pickup=AKWA,
        dropoff=DEIDO, payment_method=method, quote=quote, lifecycle=life, created_at=created,
        driver_id=driver, final_fare=final, cancellation=cancellation, ratings=rated,
    )  # fmt: skip


H = timedelta(hours=1)
M = timedelta(minutes=1)
ORDERS = [
    # Today (21 Nov, local).
    order(
        "o1",
        created=local(21, 9),
        done_after=20 * M,
        fare="1500",
        ratings=(("customer", 5, 30 * M), ("driver", 4, 31 * M)),
    ),
    order(
        "o2",
        created=local(21, 11),
        method="OM",
        done_after=25 * M,
        fare="2250.4",
        ratings=(("customer", 3, H),),
    ),
    order("o3", created=local(21, 12), cancelled=("customer", 5 * M, "500")),
    order("o4", created=local(21, 13), cancelled=("driver", 3 * M, "0")),
    # Created yesterday before midnight, done today: today's ride.
    order("o5", created=local(20, 23, 50), done_after=30 * M, fare="3000"),
    # Earlier this week and this month.
    order(
        "o6", created=local(17, 8), done_after=15 * M, fare="1750", ratings=(("customer", 4, H),)
    ),
    order("o7", created=local(2, 8), method="OM", done_after=15 * M, fare="1000"),
    # Another driver's ride for the same customer; another customer's for amadou.
    order("o8", created=local(21, 10), driver="brice", done_after=10 * M, fare="999"),
    order("o9", created=local(21, 14), customer="didier", done_after=10 * M, fare="800"),
]


def mine(role: str, party: str) -> list[Order]:
    """The party's orders as the repository lists them: newest first."""
    key = "customer_id" if role == "customer" else "driver_id"
    found = [o for o in ORDERS if getattr(o, key) == party]
    return sorted(found, key=lambda o: o.created_at, reverse=True)


def test_a_drivers_figures_today_this_week_and_this_month() -> None:
    activity = [
        (local(21, 6), "online"),
        (local(21, 8, 59), "refused"),
        (local(21, 9), "accepted"),
        (local(21, 11), "accepted"),
        (local(21, 11, 30), "expired"),
        (local(21, 13, 3), "cancelled_after_accept"),
        (local(21, 14), "offline"),
        (local(21, 15), "online"),
    ]
    today = period_of("today", NOW, DOUALA)
    board = driver_dashboard(
        "amadou", today, orders=mine("driver", "amadou"), activity=activity, now=NOW,
        online=True, overall_rating=RatingFigure(10, 44),
    )  # fmt: skip
    assert board.rides_done == 4  # o1, o2, o5 (done after midnight), o9
    by_method = {(t.payment_method, t.currency): t for t in board.earnings}
    assert set(by_method) == {("CASH", "XAF"), ("OM", "XAF")}
    cash, om = by_method["CASH", "XAF"], by_method["OM", "XAF"]
    # The fares as shown (XAF has no minor unit: 2250.4 is shown 2250), the customer's fee.
    assert (cash.rides, cash.fares, cash.fees, cash.total) == (
        3,
        Decimal("5300"),
        Decimal("500"),
        Decimal("5800"),
    )
    assert (om.rides, om.fares, om.fees) == (1, Decimal("2250"), Decimal("0"))
    # 06:00-14:00 then 15:00 until now (16:00): nine hours.
    assert board.online_s == 9 * 3600
    assert (board.accepted, board.refused, board.expired) == (2, 1, 1)
    assert board.acceptance_rate == 0.5
    assert board.cancelled_after_accept == 1
    assert (board.rating.count, board.rating.average) == (2, 4.0)
    assert board.overall_rating.average == 4.4

    week = driver_dashboard(
        "amadou", period_of("7d", NOW, DOUALA), orders=mine("driver", "amadou"), activity=[],
        now=NOW, online=False,
    )  # fmt: skip
    assert week.rides_done == 5  # and o6
    assert sum(t.fares for t in week.earnings) == Decimal("9300")
    assert (week.online_s, week.acceptance_rate) == (0, None)
    month = driver_dashboard(
        "amadou", period_of((date(2026, 11, 1), date(2026, 11, 30)), NOW, DOUALA),
        orders=mine("driver", "amadou"), activity=[], now=NOW, online=False,
    )  # fmt: skip
    assert month.rides_done == 6
    assert [(t.payment_method, t.fares) for t in month.earnings] == [
        ("CASH", Decimal("7050")),
        ("OM", Decimal("3250")),
    ]


def test_time_online_starts_before_the_period_and_ends_at_now() -> None:
    today = period_of("today", NOW, DOUALA)

    def online_s(
        activity: list[tuple[datetime, str]], now: datetime = NOW, on: bool = False
    ) -> float:
        return driver_dashboard(
            "amadou", today, orders=[], activity=activity, now=now, online=on
        ).online_s

    # Online since yesterday: from midnight; the first change after it says so.
    assert online_s([(local(21, 2), "offline")]) == 2 * 3600
    # No change since the period began: his state now says.
    assert online_s([], on=True) == 16 * 3600
    assert online_s([], on=False) == 0
    # Twice online in a row (two phones): one period.
    assert online_s([(local(21, 10), "online"), (local(21, 11), "online"),
                     (local(21, 12), "offline")]) == 2 * 3600  # fmt: skip
    # Changes after the period's end only tell his state in it.
    yesterday = period_of((date(2026, 11, 20), date(2026, 11, 20)), NOW, DOUALA)
    assert driver_dashboard(
        "amadou", yesterday, orders=[], activity=[(local(21, 9), "offline")], now=NOW,
        online=False,
    ).online_s == 24 * 3600  # fmt: skip
    # A period that has not begun has no time online.
    assert online_s([], now=today.start - M, on=True) == 0


def test_a_customers_figures() -> None:
    board = customer_dashboard(
        "chantal", period_of("today", NOW, DOUALA), orders=mine("customer", "chantal"),
        overall_rating=RatingFigure(3, 13),
    )  # fmt: skip
    assert board.orders_placed == 5  # o1-o4, o8 (o5 was placed yesterday)
    assert board.rides_done == 4  # o1, o2, o5, o8
    assert board.cancelled == 2
    assert [(t.payment_method, t.rides, t.fares, t.fees, t.total) for t in board.spending] == [
        ("CASH", 3, Decimal("5499"), Decimal("500"), Decimal("5999")),
        ("OM", 1, Decimal("2250"), Decimal("0"), Decimal("2250")),
    ]
    assert (board.rating_given.count, board.rating_given.average) == (2, 4.0)
    assert (board.rating_received.count, board.rating_received.average) == (1, 4.0)
    assert board.overall_rating.count == 3
    view = dashboard_view(board).model_dump(mode="json")
    assert view["spending"][0] == {
        "payment_method": "CASH", "currency": "XAF", "rides": 3, "fares": "5499",
        "fees": "500", "total": "5999",
    }  # fmt: skip
    assert view["period"]["start"] == "2026-11-21T00:00:00+01:00"
    assert view["rating_received"] == {"count": 1, "average": 4.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("week", "period must be one of today, 7d, 30d or (from, to) dates, got 'week'"),
        ((date(2026, 11, 2), date(2026, 11, 1)), "from 2026-11-02 is after to 2026-11-01"),
        ((date(2026, 1, 1), date(2026, 12, 31)), f"is 365 days; at most {MAX_DAYS}"),
        ((date(2026, 11, 1), date(9999, 12, 31)), "to 9999-12-31 is not between"),
        ((date(1969, 12, 31), date(1970, 1, 1)), "from 1969-12-31 is not between"),
        ((datetime(2026, 11, 1), date(2026, 11, 2)), "got (datetime.datetime(2026, 11, 1"),
        ("", "got ''"),
        ((None, None), "got (None, None)"),
        ((date(2026, 11, 22), None), "from 2026-11-22 is after to 2026-11-21"),
    ],
)
def test_bad_periods_are_refused_naming_the_value(spec: object, message: str) -> None:
    with pytest.raises(InvalidPeriod) as raised:
        period_of(spec, NOW, DOUALA)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_named_periods_are_whole_local_days_ending_today() -> None:
    late = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)  # already the 22nd in Douala
    assert period_of("today", late, DOUALA).first_day == date(2026, 11, 22)
    month = period_of("30d", NOW, DOUALA)
    assert (month.first_day, month.last_day) == (date(2026, 10, 23), date(2026, 11, 21))
    assert month.end - month.start == timedelta(days=30)
    one_day = period_of((None, date(2026, 11, 2)), NOW, DOUALA)
    assert (one_day.first_day, one_day.last_day) == (date(2026, 11, 2), date(2026, 11, 2))
    since = period_of((date(2026, 11, 2), None), NOW, DOUALA)
    assert (since.first_day, since.last_day) == (date(2026, 11, 2), date(2026, 11, 21))
    longest = period_of((date(2026, 1, 1), date(2026, 1, 1) + timedelta(MAX_DAYS - 1)), NOW, UTC)
    assert longest.name is None


def test_the_service_reads_the_stores_in_the_citys_day() -> None:
    clock = ManualClock(datetime(2026, 11, 20, 22, 30, tzinfo=UTC))  # 23:30 in Douala
    service = DispatchService(pricing=douala_config(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    placed = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", placed.id)
    clock.advance(timedelta(minutes=40))  # 00:10 on the 21st in Douala
    service.update_position("amadou", AKWA)
    service.arrived("amadou", placed.id)
    service.start_trip("amadou", placed.id)
    clock.advance(timedelta(minutes=15))
    done = service.complete_trip("amadou", placed.id)
    service.rate(Actor.customer("chantal"), placed.id, 5)
    clock.advance(timedelta(minutes=5))
    service.driver_offline("amadou")
    assert done.final_fare is not None
    fare = done.final_fare.amount

    driver = service.dashboard(Actor.driver("amadou"), "today")
    assert isinstance(driver, DriverDashboard)
    assert driver.period.first_day == date(2026, 11, 21)
    assert driver.rides_done == 1
    assert [(t.payment_method, t.fares) for t in driver.earnings] == [("CASH", fare)]
    # He accepted yesterday (local): not an answer of today's.
    assert (driver.accepted, driver.acceptance_rate) == (0, None)
    week = service.dashboard(Actor.driver("amadou"), "7d")
    assert isinstance(week, DriverDashboard)
    assert (week.accepted, week.acceptance_rate, week.online_s) == (1, 1.0, 60 * 60)
    # Online at 23:30 the day before: from midnight to 00:30.
    assert driver.online_s == 30 * 60
    assert (driver.rating.count, driver.overall_rating.count) == (1, 1)
    customer = service.dashboard(Actor.customer("chantal"), "today")
    assert isinstance(customer, CustomerDashboard)
    # Placed yesterday (local), done today.
    assert (customer.orders_placed, customer.rides_done) == (0, 1)
    assert customer.rating_given.average == 5.0
    with pytest.raises(Forbidden, match="operator 'ops-1' has no orders"):
        service.dashboard(Actor.operator("ops-1"))
    with pytest.raises(Forbidden, match="merchant 'shop' has no dashboard"):
        service.dashboard(Actor.merchant("shop"))
    with pytest.raises(InvalidPeriod, match="'forever'"):
        service.dashboard(Actor.customer("chantal"), "forever")


def test_transitions_name_who_fired_them() -> None:
    clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    service = DispatchService(pricing=douala_config(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    placed = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    clock.advance(timedelta(seconds=20))
    service.accept("amadou", placed.id)
    clock.advance(timedelta(minutes=1))
    cancelled = service.cancel(Actor.operator("ops-7"), placed.id, "stuck")
    history = [
        (h.source, h.target, h.actor, h.actor_id, h.at - placed.created_at)
        for h in cancelled.lifecycle.history
    ]
    assert history == [
        ("draft", "searching", "customer", "chantal", timedelta(0)),
        ("searching", "accepted", "driver", "amadou", timedelta(seconds=20)),
        ("accepted", "cancelled", "operator", "ops-7", timedelta(seconds=80)),
    ]
    # The actor's id is kept where the order is stored (as JSON), and read back.
    stored = json.loads(json.dumps(order_to_data(cancelled)))
    assert stored["lifecycle"][3][1][6] == "amadou"
    assert order_from_data(stored, version=3) == attrs.evolve(cancelled, version=3)
