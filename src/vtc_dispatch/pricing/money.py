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
from decimal import Decimal
from enum import StrEnum

from vtc_dispatch.errors import InvalidMoney, shown

__all__ = ["CURRENCY_MINOR_UNITS", "RoundingMode", "minor_units", "round_to_step"]

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
