"""The one error hierarchy of vtc-dispatch, rooted at :class:`DispatchError`.

Every message names what was wrong and the value that was given, so that a
log line alone tells an operator what to fix.

>>> from vtc_dispatch.errors import DispatchError, InvalidCoordinates
>>> issubclass(InvalidCoordinates, DispatchError), issubclass(InvalidCoordinates, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = [
    "AlreadyDone",
    "ConcurrencyConflict",
    "DispatchError",
    "Forbidden",
    "IdempotencyConflict",
    "InvalidArgument",
    "InvalidCommandId",
    "InvalidCoordinates",
    "InvalidDateRange",
    "InvalidDefinition",
    "InvalidMoney",
    "InvalidPeriod",
    "InvalidPricingConfig",
    "InvalidRating",
    "InvalidTransition",
    "InvalidZone",
    "NotFound",
    "OfferExpired",
    "OfferWithdrawn",
    "OutOfServiceArea",
    "PaymentRefused",
    "PricingUnavailable",
    "StorageUnavailable",
    "TransportUnavailable",
    "UnknownDriver",
    "shown",
]

SHOWN_MAX = 80
"""At most this many characters of a value are quoted in an error message."""


def shown(value: object) -> str:
    """``repr(value)`` cut to :data:`SHOWN_MAX` characters: how every error quotes a value.

    A hostile caller may send megabytes; a message (and the log line it
    ends in) quotes only their start.

    >>> shown("amadou"), shown("x" * 10_000_000)[-6:], len(shown("x" * 10_000_000))
    ("'amadou'", 'xxx...', 80)
    """
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 3] + "..."


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


class OutOfServiceArea(PricingUnavailable):
    """A point (pickup, destination, a search's point) outside every priced city.

    Carries ``point`` and ``argument``, the name of the argument that held it.

    >>> from vtc_dispatch.geo import LatLng
    >>> str(OutOfServiceArea(LatLng(48.85, 2.35), "dropoff"))
    'dropoff LatLng(48.85, 2.35) is outside every priced city'
    """

    def __init__(self, point: object, argument: str = "point") -> None:
        self.point = point
        self.argument = argument
        super().__init__(f"{argument} {shown(point)} is outside every priced city")

    def __reduce__(self) -> tuple[type[OutOfServiceArea], tuple[object, str]]:
        return type(self), (self.point, self.argument)


class InvalidDefinition(DispatchError, ValueError):
    """A state machine definition is inconsistent (checked when it is built)."""


class InvalidTransition(DispatchError):
    """An event that the subject's current state does not allow.

    Carries ``order_id``, ``event`` and ``state``; the subject is unchanged.
    """

    def __init__(self, order_id: str, event: str, state: str, detail: str = "") -> None:
        # Plain strings: enum members (StrEnum) would print as their repr.
        order_id, event, state = str(order_id), str(event), str(state)
        self.order_id = order_id
        self.event = event
        self.state = state
        self.detail = detail
        message = f"order {shown(order_id)}: cannot {shown(event)} in state {shown(state)}"
        super().__init__(f"{message} ({detail})" if detail else message)


class Forbidden(DispatchError, PermissionError):
    """The actor may not do this (wrong role, or not the party concerned)."""


class AlreadyDone(DispatchError):
    """Done once already and not done twice: a second rating by the same side, a payment
    of an order already paid.  A conflict with the subject's state (HTTP 409)."""


class ConcurrencyConflict(DispatchError):
    """A save lost a race: the stored version moved on since it was read."""


class NotFound(DispatchError, LookupError):
    """No order, driver or customer with that id."""


class PaymentRefused(DispatchError):
    """The payment method cannot be used (disabled here, or not enough balance)."""


class OfferExpired(DispatchError):
    """The driver answered an offer after its deadline."""


class OfferWithdrawn(DispatchError):
    """The offer was withdrawn: another driver took the order, or it was cancelled."""


class StorageUnavailable(DispatchError):
    """A storage backend did not answer.

    A read did not happen; a write may or may not have: retry the command
    with the same ``command_id``, which makes the retry safe.
    """


class InvalidArgument(DispatchError, ValueError):
    """An argument of a command or a port outside what it accepts (the message names both).

    ``argument`` names it when the raiser knows it (a host maps it to the
    field of its request), else ``None``.

    >>> InvalidArgument("page must be an integer >= 1, got 0", argument="page").argument
    'page'
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        self.argument = argument
        super().__init__(message)


class InvalidDateRange(InvalidArgument):
    """The days a report covers: not dates, the last before the first, or more than a
    report may span (the message names the dates given).

    >>> issubclass(InvalidDateRange, InvalidArgument)
    True
    """


class InvalidPeriod(InvalidDateRange):
    """A dashboard's period that cannot be read: an unknown name, a start after its end, a
    period longer than the dashboards cover (:mod:`vtc_dispatch.dashboards`)."""


class InvalidRating(InvalidArgument):
    """Stars outside 1-5, or a comment that is not text (or too long)."""


class InvalidCommandId(DispatchError, ValueError):
    """A ``command_id`` that is not a short non-empty text (one reused for another
    command is an :class:`IdempotencyConflict`)."""


class TransportUnavailable(DispatchError):
    """A message could not be handed to the transport."""


class IdempotencyConflict(DispatchError):
    """A ``command_id`` or wallet operation id was used again for another
    command or operation; nothing was done.

    Carries ``op_id``; the message names it, what it was first used for and
    what was asked now.
    """

    def __init__(self, op_id: str, message: str) -> None:
        self.op_id = op_id
        super().__init__(message)
