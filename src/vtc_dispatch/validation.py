"""The checks at the entry of every command: argument types and ranges, before any read or write.

:class:`~vtc_dispatch.service.DispatchService` runs them first thing in
each public method, so a refused call raises a
:class:`~vtc_dispatch.errors.DispatchError` subclass naming the argument
and its value (cut to 80 characters by :func:`~vtc_dispatch.errors.shown`)
and changes nothing.  They are plain ``isinstance`` and ``len`` tests: the
GPS fix and the offer answers run them on every call.  Limits come from
:class:`~vtc_dispatch.settings.InputLimits`.

>>> check_id("amadou", "driver_id", 128)
'amadou'
>>> check_id(["amadou"], "driver_id", 128)
Traceback (most recent call last):
...
vtc_dispatch.errors.InvalidArgument: driver_id must be a non-empty text of at most 128 characters, got ['amadou']
>>> check_text("x" * 10_000_000, "reason", 500)
Traceback (most recent call last):
...
vtc_dispatch.errors.InvalidArgument: reason must be a non-blank text of at most 500 characters, got 'xxx...
"""  # noqa: E501

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeGuard, TypeVar

from vtc_dispatch.errors import (
    InvalidArgument,
    InvalidCommandId,
    InvalidRating,
    shown,
)
from vtc_dispatch.geo.sphere import check_point
from vtc_dispatch.order import Actor, ProofOfDelivery

__all__ = [
    "ACCURACY_MAX_M",
    "COMMAND_ID_MAX",
    "HISTORY_PAGES_MAX",
    "HISTORY_PAGE_SIZE_MAX",
    "check_accuracy",
    "check_actor",
    "check_amount",
    "check_callable",
    "check_codes",
    "check_command_id",
    "check_duration",
    "check_id",
    "check_instant",
    "check_now",
    "check_optional_id",
    "check_page",
    "check_point",
    "check_proof_input",
    "check_radius",
    "check_rating",
    "check_text",
    "refused",
]

_T = TypeVar("_T")

COMMAND_ID_MAX = 200
"""A ``command_id`` is a non-empty text of at most this many characters."""
HISTORY_PAGE_SIZE_MAX = 100
"""``history`` gives at most this many orders per page."""
HISTORY_PAGES_MAX = 100_000
"""``history`` pages beyond this one are refused (no store needs offsets that large)."""


def refused(argument: str, expected: str, value: object) -> InvalidArgument:
    """The error for ``argument`` given ``value`` when it must be ``expected``.

    >>> str(refused("page", "an integer >= 1", True))
    'page must be an integer >= 1, got True'
    """
    return InvalidArgument(f"{argument} must be {expected}, got {shown(value)}", argument=argument)


def check_id(value: object, argument: str, max_chars: int) -> str:
    """``value`` if it is a non-empty text of at most ``max_chars`` characters."""
    if isinstance(value, str) and 0 < len(value) <= max_chars:
        return value
    raise refused(argument, f"a non-empty text of at most {max_chars} characters", value)


def check_optional_id(value: object, argument: str, max_chars: int) -> str | None:
    """``None``, or an id as :func:`check_id` accepts it."""
    return None if value is None else check_id(value, argument, max_chars)


def check_text(value: object, argument: str, max_chars: int) -> str:
    """``value`` if it is a text with something else than blanks, at most ``max_chars`` long."""
    if isinstance(value, str) and len(value) <= max_chars and not value.isspace() and value:
        return value
    raise refused(argument, f"a non-blank text of at most {max_chars} characters", value)


def check_codes(value: object, argument: str, max_chars: int, max_count: int) -> tuple[str, ...]:
    """``value`` as a tuple of codes: a list or tuple of at most ``max_count`` ids.

    >>> check_codes(["luggage"], "supplements", 128, 20)
    ('luggage',)
    >>> check_codes("luggage", "supplements", 128, 20)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: supplements must be a list or tuple of at most 20 codes, got 'luggage'
    """  # noqa: E501
    if not isinstance(value, list | tuple) or len(value) > max_count:
        raise refused(argument, f"a list or tuple of at most {max_count} codes", value)
    for i, code in enumerate(value):
        check_id(code, f"{argument}[{i}]", max_chars)
    return tuple(value)


def check_command_id(value: object) -> str:
    """``value`` if it is a ``command_id``: a non-empty text of at most 200 characters."""
    if isinstance(value, str) and 0 < len(value) <= COMMAND_ID_MAX:
        return value
    raise InvalidCommandId(
        f"command_id must be a text of 1 to {COMMAND_ID_MAX} characters, got {shown(value)}"
    )


ACCURACY_MAX_M = 100_000.0
"""A fix's ``accuracy_m`` is a number from 0 to this (a phone's radius of uncertainty)."""


def check_accuracy(value: object) -> float:
    """``value`` if it is a fix's accuracy: a finite number of metres from 0 to 100 km.

    >>> check_accuracy(12.5)
    12.5
    >>> check_accuracy(float("nan"))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: accuracy_m must be a number of metres from 0 to 100000, got nan
    """  # noqa: E501
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0.0 <= value <= ACCURACY_MAX_M
    ):
        return float(value)
    raise refused("accuracy_m", f"a number of metres from 0 to {ACCURACY_MAX_M:g}", value)


def check_actor(value: object, max_chars: int) -> Actor:
    """``value`` if it is an :class:`~vtc_dispatch.order.Actor` with an id as :func:`check_id`
    accepts it (its role was checked when it was built)."""
    if not isinstance(value, Actor):
        raise refused("actor", "an Actor (a role and an id)", value)
    check_id(value.id, "actor.id", max_chars)
    return value


def check_instant(value: object, argument: str) -> datetime:
    """``value`` if it is a timezone-aware datetime."""
    if isinstance(value, datetime):
        tz = value.tzinfo
        # UTC first: phones' fixes come in UTC, and utcoffset() is the costly test.
        if tz is UTC or (tz is not None and value.utcoffset() is not None):
            return value
    raise refused(argument, "a timezone-aware datetime", value)


def check_now(value: object, clock_now: datetime, skew_s: float) -> datetime:
    """``value`` if it is an aware datetime within ``skew_s`` of ``clock_now``.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> check_now(t + timedelta(seconds=30), t, 300.0) == t + timedelta(seconds=30)
    True
    >>> check_now(datetime(9999, 1, 1, tzinfo=UTC), t, 300.0)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: now must be within 300 s of the clock (2026-01-01 00:00:00+00:00), got datetime.datetime(9999, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """  # noqa: E501
    now = check_instant(value, "now")
    if abs((now - clock_now).total_seconds()) <= skew_s:
        return now
    raise refused("now", f"within {skew_s:g} s of the clock ({clock_now})", value)


def check_page(page: object, page_size: object) -> tuple[int, int]:
    """``(page, page_size)`` of ``history``: whole numbers, the page from 1, the size 1 to 100."""
    if not (_whole(page) and 1 <= page <= HISTORY_PAGES_MAX):
        raise refused("page", f"an integer from 1 to {HISTORY_PAGES_MAX}", page)
    if not (_whole(page_size) and 1 <= page_size <= HISTORY_PAGE_SIZE_MAX):
        raise refused("page_size", f"an integer from 1 to {HISTORY_PAGE_SIZE_MAX}", page_size)
    return page, page_size


def check_rating(stars: object, comment: object, max_chars: int) -> tuple[int, str | None]:
    """Stars from 1 to 5 and an optional comment of at most ``max_chars``; else InvalidRating."""
    if not (_whole(stars) and 1 <= stars <= 5):
        raise InvalidRating(
            f"stars must be an integer from 1 to 5, got {shown(stars)}", argument="stars"
        )
    if comment is None or (isinstance(comment, str) and len(comment) <= max_chars):
        return stars, comment
    raise InvalidRating(
        f"comment must be None or a text of at most {max_chars} characters, got {shown(comment)}",
        argument="comment",
    )


def check_callable(value: _T, argument: str) -> _T:
    """``value`` if it can be called."""
    if callable(value):
        return value
    raise refused(argument, "a callable", value)


def _whole(value: object) -> TypeGuard[int]:
    # bool is an int, and True would read as page 1.
    return isinstance(value, int) and not isinstance(value, bool)


def check_amount(value: object, argument: str) -> Decimal:
    """``value`` if it is a finite :class:`~decimal.Decimal` >= 0 (an amount of money).

    >>> check_amount(Decimal("12500"), "goods_amount")
    Decimal('12500')
    >>> check_amount(12.5, "goods_amount")
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: goods_amount must be a Decimal >= 0, got 12.5
    """
    if isinstance(value, Decimal) and value.is_finite() and value >= 0:
        return value
    raise refused(argument, "a Decimal >= 0", value)


def check_duration(value: object, argument: str, max_s: float = 604_800.0) -> float:
    """``value`` if it is a number of seconds > 0 and at most ``max_s`` (a week)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= max_s:
        return float(value)
    raise refused(argument, f"a number of seconds > 0 and at most {max_s:g}", value)


def check_radius(value: object) -> float:
    """``value`` if it is a radius in km > 0 and at most 500."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 500:
        return float(value)
    raise refused("radius_km", "a number of km > 0 and at most 500", value)


def check_proof_input(value: object, max_chars: int) -> ProofOfDelivery:
    """``value`` if it is a :class:`~vtc_dispatch.order.ProofOfDelivery` with a valid
    position, an aware time and, when given, a code and reference of at most
    ``max_chars`` characters."""
    if not isinstance(value, ProofOfDelivery):
        raise refused("proof", "a ProofOfDelivery", value)
    check_point(value.position, "proof.position")
    check_instant(value.at, "proof.at")
    if value.code is not None:
        check_id(value.code, "proof.code", max_chars)
    if value.reference is not None:
        check_id(value.reference, "proof.reference", max_chars)
    return value
