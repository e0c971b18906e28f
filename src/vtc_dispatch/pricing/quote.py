"""What pricing returns: quotes, final fares, price changes, fees (attrs frozen values).

Amounts are :class:`~decimal.Decimal` in ``currency``; a breakdown's lines
sum exactly to the amount they explain.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import attrs

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.pricing.money import minor_units
from vtc_dispatch.routing import RouteEstimate

__all__ = [
    "BreakdownLine",
    "CancellationFee",
    "FareQuote",
    "FinalFare",
    "PriceChange",
    "format_amount",
]


def format_amount(amount: Decimal, currency: str, *, with_currency: bool = True) -> str:
    """An amount as a customer reads it: thousands grouped, currency after.

    >>> format_amount(Decimal("12500"), "XAF")
    '12 500 XAF'
    >>> format_amount(Decimal("8.5"), "EUR", with_currency=False)
    '8.50'
    """
    text = f"{amount:,.{minor_units(currency)}f}".replace(",", " ")
    return f"{text} {currency}" if with_currency else text


@attrs.frozen
class BreakdownLine:
    """One line of a fare: a stable ``code``, a readable ``label``, an ``amount``."""

    code: str
    label: str
    amount: Decimal


@attrs.frozen
class FareQuote:
    """The price range shown before the ride, and everything needed to reproduce it.

    ``estimate`` is what the customer will pay if the trip goes as planned;
    ``minimum``/``maximum`` bound it from the route's uncertainty.
    :attr:`breakdown` sums exactly to ``estimate``; it is worked out the
    first time it is read, since a search screen showing many quotes never
    reads it.
    """

    vehicle_type: str
    city: str
    currency: str
    estimate: Decimal
    minimum: Decimal
    maximum: Decimal
    display: str
    rules_applied: tuple[str, ...]
    route: RouteEstimate
    distance_km: Decimal
    duration_min: Decimal
    pickup: LatLng
    dropoff: LatLng
    at: datetime
    demand_multiplier: Decimal
    supplements: tuple[str, ...]
    fixed_route: str | None
    _explain: Callable[[], tuple[BreakdownLine, ...]] = attrs.field(
        eq=False, repr=False, alias="explain"
    )

    @functools.cached_property
    def breakdown(self) -> tuple[BreakdownLine, ...]:
        """Ordered lines (code, label, amount) summing exactly to :attr:`estimate`."""
        return self._explain()

    @property
    def is_range(self) -> bool:
        """Whether :attr:`display` shows a range rather than "about X"."""
        return self.display.startswith("between")


@attrs.frozen
class PriceChange:
    """One change of an order's price: from (``None`` for the first), to, why, when."""

    from_amount: Decimal | None
    to_amount: Decimal
    reason: str
    at: datetime


@attrs.frozen
class FinalFare:
    """The price charged at the end of the trip, with its breakdown and history.

    ``reason`` is one of ``as_quoted``, ``fixed_route``, ``recomputed``,
    ``recomputed_capped`` (or ``promotion:<id>`` once a promotion is
    applied); ``changes`` is the price history: the quoted estimate first,
    then every change that led to ``amount``.
    """

    amount: Decimal
    currency: str
    vehicle_type: str
    city: str
    reason: str
    breakdown: tuple[BreakdownLine, ...]
    rules_applied: tuple[str, ...]
    distance_km: Decimal
    duration_min: Decimal
    changes: tuple[PriceChange, ...]


@attrs.frozen
class CancellationFee:
    """What a cancellation costs (possibly nothing) and why."""

    amount: Decimal
    currency: str
    reason: str
