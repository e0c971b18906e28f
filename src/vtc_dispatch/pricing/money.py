"""Money: ISO 4217 currencies, Decimal amounts and rounding to a price step.

Amounts are always :class:`decimal.Decimal`; no float ever holds one.
Rounding to the currency's step happens once, at the end of each price
computation (a quote, a final fare, a discount, a fee), never on
intermediate lines.

>>> from decimal import Decimal
>>> round_to_step(Decimal("1234.5"), Decimal("50"), RoundingMode.NEAREST)
Decimal('1250')
>>> round_to_step(Decimal("1224.99"), Decimal("50"), RoundingMode.NEAREST)
Decimal('1200')
>>> minor_units("XAF"), minor_units("CDF")
(0, 2)
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from vtc_dispatch.errors import InvalidMoney, shown

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "RoundingMode",
    "in_currency",
    "lines_in_currency",
    "minor_units",
    "round_to_step",
]

# ISO 4217 active codes with their minor units, for the markets this
# library serves first and the currencies they trade in.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "AOA": 2, "BIF": 0, "BWP": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CNY": 2, "CVE": 2,
    "DJF": 0, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "GBP": 2, "GHS": 2,
    "GMD": 2, "GNF": 0, "INR": 2, "JPY": 0, "KES": 2, "KMF": 0, "LRD": 2, "LSL": 2,
    "LYD": 3, "MAD": 2, "MGA": 2, "MRU": 2, "MUR": 2, "MWK": 2, "MZN": 2, "NAD": 2,
    "NGN": 2, "RWF": 0, "SCR": 2, "SDG": 2, "SLE": 2, "SOS": 2, "SSP": 2, "STN": 2,
    "SZL": 2, "TND": 3, "TZS": 2, "UGX": 0, "USD": 2, "XAF": 0, "XOF": 0, "ZAR": 2,
    "ZMW": 2, "ZWG": 2,
}  # fmt: skip


class RoundingMode(StrEnum):
    """How an amount is brought to a multiple of the price step."""

    NEAREST = "nearest"
    """Nearest multiple, halves away from zero (the usual till rounding)."""
    UP = "up"
    """Next multiple up (never undercharges)."""
    DOWN = "down"
    """Next multiple down (never overcharges)."""
    HALF_EVEN = "half_even"
    """Nearest multiple, halves to the even multiple (banker's rounding)."""


_DECIMAL_MODES = {
    RoundingMode.NEAREST: decimal.ROUND_HALF_UP,
    RoundingMode.UP: decimal.ROUND_CEILING,
    RoundingMode.DOWN: decimal.ROUND_FLOOR,
    RoundingMode.HALF_EVEN: decimal.ROUND_HALF_EVEN,
}
_ONE = Decimal(1)


def minor_units(currency: str) -> int:
    """Digits after the decimal point of an ISO 4217 currency.

    >>> minor_units("EUR")
    2
    >>> minor_units("XYZ")
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidMoney: unknown ISO 4217 currency 'XYZ'
    """
    try:
        return CURRENCY_MINOR_UNITS[currency]
    except KeyError:
        raise InvalidMoney(f"unknown ISO 4217 currency {shown(currency)}") from None


def round_to_step(amount: Decimal, step: Decimal, mode: RoundingMode) -> Decimal:
    """``amount`` rounded to a multiple of ``step`` (e.g. 50 for XAF fares).

    Idempotent: a multiple of the step is returned unchanged.

    >>> round_to_step(Decimal("1275"), Decimal("50"), RoundingMode.UP)
    Decimal('1300')
    >>> round_to_step(Decimal("12.344"), Decimal("0.01"), RoundingMode.DOWN)
    Decimal('12.34')
    """
    if not step > 0:
        raise InvalidMoney(f"rounding step must be > 0, got {shown(step)}")
    # A whole number of steps times the step carries the step's exponent.
    return (amount / step).quantize(_ONE, rounding=_DECIMAL_MODES[mode]) * step


def in_currency(amount: Decimal, currency: str) -> Decimal:
    """``amount`` with exactly the currency's minor units (halves away from zero): how an
    amount is shown, whatever the exponent its computation left (``Decimal("750.0000")``).

    >>> in_currency(Decimal("750.0000"), "XAF"), in_currency(Decimal("12.5"), "EUR")
    (Decimal('750'), Decimal('12.50'))
    >>> in_currency(Decimal("499.800"), "XOF")
    Decimal('500')
    """
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=decimal.ROUND_HALF_UP)


def lines_in_currency(amounts: Sequence[Decimal], currency: str) -> tuple[Decimal, ...]:
    """Breakdown ``amounts`` in the currency's minor units, still summing to their total
    shown in that currency (largest remainders take the odd units).

    Lines are computed finer than the currency (``499.800`` XAF for 1.9992 km at
    250 XAF/km, then ``-24.305`` of rounding); each rounded alone, their sum
    could miss the fare by a unit.

    >>> lines_in_currency([Decimal("0.4"), Decimal("0.4"), Decimal("0.2")], "XAF")
    (Decimal('1'), Decimal('0'), Decimal('0'))
    >>> lines_in_currency([Decimal("1124.305"), Decimal("-24.305")], "XAF")
    (Decimal('1124'), Decimal('-24'))
    """
    unit = Decimal(1).scaleb(-minor_units(currency))
    total = in_currency(sum(amounts, Decimal(0)), currency)
    floors = [a.quantize(unit, rounding=decimal.ROUND_FLOOR) for a in amounts]
    missing = int((total - sum(floors, Decimal(0))) / unit)
    # Stable: equal remainders go to the earlier line.
    order = sorted(range(len(amounts)), key=lambda i: floors[i] - amounts[i])
    shown_ = list(floors)
    for i in order[:missing]:
        shown_[i] += unit
    return tuple(shown_)
