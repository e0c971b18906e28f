"""Orders as the stores hold them after their day, built by hand for the report tests.

:func:`made_order` plays a ride's lifecycle event by event at the given
seconds after the order was made, with the offers, final fare and
cancellation the test names: the figures a report must find are then
known from the test's own numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

import attrs
from places import AKWA, DEIDO

from vtc_dispatch.fsm import RIDE, RideEvent
from vtc_dispatch.order import Actor, Cancellation, Order
from vtc_dispatch.pricing import Pricer, douala_config
from vtc_dispatch.pricing.quote import BreakdownLine, FinalFare

__all__ = ["DAY_1", "ZONES", "Step", "done_ride", "made_order", "two_days_of_orders"]

_PRICER = Pricer(douala_config())

Step = tuple[str, str, float]
"""An event, the role that fires it, seconds after the order was made."""


def done_ride(accept_s: float, arrive_s: float) -> list[Step]:
    """A ride accepted and reached at these seconds, then started and completed."""
    return [
        (RideEvent.ACCEPT, "driver", accept_s),
        (RideEvent.ARRIVE, "driver", arrive_s),
        (RideEvent.START, "driver", arrive_s + 60),
        (RideEvent.COMPLETE, "driver", arrive_s + 900),
    ]


def made_order(
    order_id: str,
    at: datetime,
    steps: Sequence[Step] = (),
    *,
    vehicle_type: str = "taxi_jaune",
    city: str = "douala",
    currency: str = "XAF",
    offers: int = 0,
    fare: str | None = None,
    fee: str | None = None,
) -> Order:
    """An order made at ``at`` (searching at once), after ``steps``.

    ``fare``: its final fare (the order must end done); ``fee``: the fee of
    its cancellation (the last step must be a cancel); ``city`` and
    ``currency`` replace the Douala quote's, to stand for another city.
    """
    quote = attrs.evolve(_PRICER.quote(AKWA, DEIDO, vehicle_type, at), city=city, currency=currency)
    lifecycle = RIDE.start(order_id, at).fire(RideEvent.SEARCH, actor="customer", at=at)
    driver_id = None
    for event, actor, seconds in steps:
        lifecycle = lifecycle.fire(event, actor=actor, at=at + timedelta(seconds=seconds))
        if event == RideEvent.ACCEPT:
            driver_id = f"driver-of-{order_id}"
    order = Order(
        id=order_id,
        customer_id=f"customer-of-{order_id}",
        vehicle_type=vehicle_type,
        pickup=AKWA,
        dropoff=DEIDO,
        payment_method="CASH",
        quote=quote,
        lifecycle=lifecycle,
        created_at=at,
        driver_id=driver_id,
        offers_made=offers,
    )
    if fare is not None:
        amount = Decimal(fare)
        order = attrs.evolve(
            order,
            final_fare=FinalFare(
                amount=amount,
                currency=currency,
                vehicle_type=vehicle_type,
                city=city,
                reason="as_quoted",
                breakdown=(BreakdownLine("base_fare", "Base fare", amount),),
                rules_applied=(),
                distance_km=Decimal("3.2"),
                duration_min=Decimal("12"),
                changes=(),
            ),
        )
    if fee is not None:
        last = lifecycle.history[-1]
        order = attrs.evolve(
            order,
            cancellation=Cancellation(
                Actor(last.actor, f"{last.actor}-1"), "test", Decimal(fee), last.at
            ),
        )
    return order


DAY_1 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
"""09:00 in Douala on the report's first day (2026-11-21)."""

ZONES = {
    "douala": ZoneInfo("Africa/Douala"),
    "dakar": ZoneInfo("Africa/Dakar"),
    "lyon": ZoneInfo("Europe/Paris"),
}
"""The clocks of the cities of :func:`two_days_of_orders`: UTC+1, UTC, UTC+1 in November."""


class _Place(TypedDict, total=False):
    city: str
    currency: str
    vehicle_type: str


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def two_days_of_orders() -> list[Order]:
    """Orders of 2026-11-21 and 22 in Douala (XAF), Dakar (XOF) and Lyon (EUR), and two made
    just outside those days on Douala's clock."""
    h = 3600
    accept, requeue, arrive = RideEvent.ACCEPT, RideEvent.REQUEUE, RideEvent.ARRIVE
    cancel, no_driver = RideEvent.CANCEL, RideEvent.NO_DRIVER
    start, complete = RideEvent.START, RideEvent.COMPLETE
    day_1 = DAY_1
    dakar: _Place = {"city": "dakar", "currency": "XOF"}
    lyon: _Place = {"city": "lyon", "currency": "EUR", "vehicle_type": "confort"}
    return [
        # Douala, taxi_jaune, day 1: three served (one after its driver withdrew), one
        # cancelled by the customer, one without a driver, one closed by the system, one open.
        made_order("a", day_1, done_ride(20, 320), offers=2, fare="2500"),
        made_order("b", day_1 + timedelta(seconds=h), done_ride(40, 160), offers=1, fare="3150"),
        made_order(
            "c",
            day_1 + timedelta(seconds=2 * h),
            [
                (accept, "driver", 10),
                (requeue, "system", 60),
                (accept, "driver", 100),
                (arrive, "driver", 350),
                (start, "driver", 410),
                (complete, "driver", 1250),
            ],
            offers=1,
            fare="4000",
        ),
        made_order(
            "d",
            day_1 + timedelta(seconds=3 * h),
            [(accept, "driver", 30), (cancel, "customer", 90)],
            offers=1,
            fee="500",
        ),
        made_order("e", day_1 + timedelta(seconds=4 * h), [(no_driver, "system", 120)], offers=3),
        made_order(
            "f",
            day_1 + timedelta(seconds=5 * h),
            [(no_driver, "system", 120), (cancel, "system", 600)],
            fee="0",
        ),
        made_order("g", day_1 + timedelta(seconds=6 * h), offers=1),
        # Douala, confort, day 1.
        made_order(
            "k",
            day_1 + timedelta(minutes=30),
            done_ride(15, 75),
            vehicle_type="confort",
            offers=1,
            fare="5000",
        ),
        # 23:30 UTC: the next day in Douala, the same day in Dakar.
        made_order("h", _at(21, 23, 30), done_ride(50, 650), offers=4, fare="2000"),
        made_order("m", _at(21, 23, 30), done_ride(25, 205), offers=1, fare="1500", **dakar),
        made_order(
            "n",
            _at(21, 10),
            [(accept, "driver", 45), (cancel, "driver", 100)],
            offers=2,
            fee="0",
            **dakar,
        ),
        made_order("z", _at(22, 23, 30), done_ride(30, 90), fare="1000", **dakar),
        # Lyon, in euros: amounts with cents.
        made_order("p", _at(22, 10), done_ride(5, 185), fare="12.10", **lyon),
        made_order("q", _at(22, 11), done_ride(8, 248), fare="8.20", **lyon),
        made_order(
            "r",
            _at(22, 12),
            [(accept, "driver", 9), (arrive, "driver", 69), (cancel, "customer", 120)],
            fee="5.05",
            **lyon,
        ),
        # Outside the two days on Douala's clock: 23:30 on the 20th, 00:30 on the 23rd.
        made_order("x", _at(20, 22, 30), done_ride(10, 70), fare="900"),
        made_order("y", _at(22, 23, 30), done_ride(10, 70), fare="900"),
    ]
