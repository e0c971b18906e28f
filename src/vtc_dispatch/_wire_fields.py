"""The field types of the JSON wire form, shared by :mod:`vtc_dispatch.wire` and
:mod:`vtc_dispatch.presentation`: ids, codes, amounts as decimal strings, positions.

Private: import the public names from :mod:`vtc_dispatch.wire`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from vtc_dispatch.errors import shown
from vtc_dispatch.geo.sphere import LatLng

__all__ = [
    "Amount",
    "Code",
    "Currency",
    "Id",
    "Km",
    "Minutes",
    "PaymentMethod",
    "Seconds",
    "SignedAmount",
    "WholeSeconds",
    "WireBreakdownLine",
    "WireModel",
    "WirePoint",
    "shown",
    "to_metre",
]

Id = Annotated[str, Field(min_length=1, max_length=200)]
"""An order, driver or customer id: any non-empty string."""
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""A stable code: vehicle type, supplement, role."""
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["XAF"])]
"""An ISO 4217 currency code."""
PaymentMethod = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Z][A-Z0-9_]*$",
        examples=["CASH", "OM", "MOMO", "WALLET"],
    ),
]
"""``CASH``, ``OM`` (Orange Money), ``MOMO`` (MTN Mobile Money), ``WALLET`` or another code."""
Km = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A distance in km; the messages built from the domain round it to the metre
(:func:`to_metre`)."""


def to_metre(km: float) -> float:
    """``km`` rounded to the metre: a phone's fix is good to a few metres, more digits
    are noise on the wire.

    >>> to_metre(0.8123456789012345)
    0.812
    """
    return round(km, 3)


Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Minutes = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
WholeSeconds = Annotated[int, Field(ge=0)]

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _amount_in(value: object) -> object:
    # Floats are refused: 0.1 + 0.2 must never reach a price.
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    raise ValueError(f"an amount is a decimal string such as '1250' or '8.50', got {shown(value)}")


def _amount_out(value: Decimal) -> str:
    # Fixed-point text, whatever the exponent ("1E+3" -> "1000"); no "-0".
    return format(value.copy_abs() if value.is_zero() else value, "f")


def _amount_schema(pattern: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": ["1250", "8.50"]})


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount_in),
    Field(ge=0, allow_inf_nan=False),
    PlainSerializer(_amount_out, return_type=str, when_used="json"),
    _amount_schema(r"^[0-9]+(\.[0-9]+)?$"),
]
"""A non-negative amount of money: a decimal string on the wire."""
SignedAmount = Annotated[
    Decimal,
    BeforeValidator(_amount_in),
    Field(allow_inf_nan=False),
    PlainSerializer(_amount_out, return_type=str, when_used="json"),
    _amount_schema(r"^-?[0-9]+(\.[0-9]+)?$"),
]
"""An amount that may be negative (a discount or rounding line of a breakdown)."""


class WireModel(BaseModel):
    # Field docstrings become descriptions in the JSON schemas.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class WirePoint(WireModel):
    """A position on the wire: ``{"lat": .., "lng": ..}`` in degrees (WGS84).

    ``lat`` in [-90, 90], ``lng`` in [-180, 180], JSON numbers only.

    >>> WirePoint.from_latlng(LatLng(4.05, 9.7)).model_dump_json()
    '{"lat":4.05,"lng":9.7}'
    >>> WirePoint(lat=0, lng=180).to_latlng()
    LatLng(0.0, -180.0)
    """

    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]

    @classmethod
    def from_latlng(cls, point: LatLng) -> WirePoint:
        """The wire form of a :class:`~vtc_dispatch.geo.sphere.LatLng`."""
        return cls(lat=point.lat, lng=point.lng)

    def to_latlng(self) -> LatLng:
        """The domain point (longitude 180 becomes -180, as in :class:`LatLng`)."""
        return LatLng(self.lat, self.lng)


class WireBreakdownLine(WireModel):
    """One line of a fare: a stable ``code``, a readable ``label``, a (signed) ``amount``."""

    code: str
    label: str
    amount: SignedAmount
