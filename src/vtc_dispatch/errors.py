"""The one error hierarchy of vtc-dispatch, rooted at :class:`DispatchError`.

Every message names what was wrong and the value that was given, so that a
log line alone tells an operator what to fix.

>>> from vtc_dispatch.errors import DispatchError, InvalidCoordinates
>>> issubclass(InvalidCoordinates, DispatchError), issubclass(InvalidCoordinates, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = [
    "DispatchError",
    "InvalidCoordinates",
    "InvalidMoney",
    "InvalidPricingConfig",
    "InvalidZone",
    "PricingUnavailable",
    "UnknownDriver",
]


class DispatchError(Exception):
    """Base class of every error raised by vtc-dispatch."""


class InvalidCoordinates(DispatchError, ValueError):
    """A latitude, longitude, distance or bearing is not a usable number."""


class InvalidZone(DispatchError, ValueError):
    """A zone polygon or its GeoJSON feature cannot be used."""


class UnknownDriver(DispatchError, KeyError):
    """The driver id is not known where it was looked up."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a message reads better as it is.
        return str(self.args[0]) if self.args else ""


class InvalidMoney(DispatchError, ValueError):
    """An amount, currency or rounding rule is not usable."""


class InvalidPricingConfig(DispatchError, ValueError):
    """The pricing configuration cannot be loaded; the message names the field path."""


class PricingUnavailable(DispatchError, LookupError):
    """No tariff applies: the place is in no configured city, or the type has no tariff there."""
