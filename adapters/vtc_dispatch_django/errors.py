"""The core's errors as HTTP answers: a status and ``{"error": ..., "detail": ...}``.

>>> from vtc_dispatch.errors import OfferWithdrawn
>>> status_for(OfferWithdrawn("order 'o-1' went to another driver"))
409
"""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from vtc_dispatch.errors import (
    ConcurrencyConflict,
    DispatchError,
    Forbidden,
    IdempotencyConflict,
    InvalidTransition,
    NotFound,
    OfferExpired,
    OfferWithdrawn,
    PaymentRefused,
    PricingUnavailable,
    StorageUnavailable,
    TransportUnavailable,
)

__all__ = ["exception_handler", "status_for"]

_STATUS: tuple[tuple[type[DispatchError], int], ...] = (
    (NotFound, 404),
    (IdempotencyConflict, 422),
    (Forbidden, 403),
    (InvalidTransition, 409),
    (ConcurrencyConflict, 409),
    (OfferWithdrawn, 409),
    (OfferExpired, 410),
    (PaymentRefused, 402),
    (PricingUnavailable, 422),
    (StorageUnavailable, 503),
    (TransportUnavailable, 503),
)


def status_for(error: DispatchError) -> int:
    """The HTTP status of a core error (400 for invalid input and anything else)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the core's errors with their status and message."""
    if isinstance(exc, DispatchError):
        detail = str(exc)
        request = context.get("request")
        key = None if request is None else request.headers.get("Idempotency-Key")
        if isinstance(exc, IdempotencyConflict) and key is not None:
            detail = f"Idempotency-Key {key!r} was already used for another request: {detail}"
        return Response({"error": type(exc).__name__, "detail": detail}, status=status_for(exc))
    return drf_exception_handler(exc, context)
