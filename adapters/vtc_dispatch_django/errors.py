"""Every error of the app as one JSON shape: ``{"error": code, "detail": message, "field": name}``.

``error`` is the name of the exception: one of the core's
(:class:`~vtc_dispatch.errors.DispatchError` subclasses, such as
``NotFound`` or ``OfferExpired``) or one of REST framework's
(``ValidationError``, ``ParseError``, ``NotAuthenticated``,
``AuthenticationFailed``, ``PermissionDenied``, ``NotFound``,
``MethodNotAllowed``, ``NotAcceptable``, ``UnsupportedMediaType``,
``Throttled``). ``detail`` says what was wrong, with the value when there
is one (cut to 80 characters); ``field`` is the path of the first bad field
(``"pickup.lat"``, ``"supplements.0"``, a query parameter or a header) or
``null``. The websocket consumers send the same three keys in their
``error`` messages.

The status of a core error: 404 ``NotFound``, 403 ``Forbidden``, 409 for a
conflict (``InvalidTransition``, ``ConcurrencyConflict``,
``OfferWithdrawn``, ``AlreadyDone``: a second rating, a paid order paid
again), 410 ``OfferExpired``, 402 ``PaymentRefused``, 503
``StorageUnavailable`` / ``TransportUnavailable``, and 422 for any other:
the request had the form the API's schema describes (that is checked
first, a 400), and the service refused its content (an unknown vehicle
type or supplement, a place outside every priced city, an
``Idempotency-Key`` used for another request).

>>> from vtc_dispatch.errors import OfferWithdrawn, PricingUnavailable
>>> status_for(OfferWithdrawn("order 'o-1' went to another driver"))
409
>>> status_for(PricingUnavailable("no configured city covers LatLng(0.0, 0.0)"))
422
>>> first_error({"pickup": {"lat": ["Ensure this value is less than or equal to 90."]}})
('pickup.lat', 'Ensure this value is less than or equal to 90.')
>>> first_error({"non_field_errors": ["lat and lng must be finite numbers"]})
(None, 'lat and lng must be finite numbers')
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from vtc_dispatch.errors import (
    AlreadyDone,
    ConcurrencyConflict,
    DispatchError,
    Forbidden,
    IdempotencyConflict,
    InvalidTransition,
    NotFound,
    OfferExpired,
    OfferWithdrawn,
    PaymentRefused,
    StorageUnavailable,
    TransportUnavailable,
)

__all__ = [
    "dispatch_error_body",
    "error_body",
    "exception_handler",
    "first_error",
    "no_such_endpoint",
    "status_for",
]

_STATUS: tuple[tuple[type[DispatchError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (InvalidTransition, 409),
    (ConcurrencyConflict, 409),
    (AlreadyDone, 409),
    (OfferWithdrawn, 409),
    (OfferExpired, 410),
    (PaymentRefused, 402),
    (StorageUnavailable, 503),
    (TransportUnavailable, 503),
)


def status_for(error: DispatchError) -> int:
    """The HTTP status of a core error (422 for any error not in the module's list)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 422


def error_body(error: str, detail: str, field: str | None = None) -> dict[str, Any]:
    """The one JSON shape of an error (REST; the websockets add their ``type`` and ``id``)."""
    return {"error": error, "detail": detail, "field": field}


def dispatch_error_body(exc: DispatchError) -> dict[str, Any]:
    """The shape of a core error; ``field`` when the error names one (wire messages do)."""
    return error_body(type(exc).__name__, str(exc), getattr(exc, "field", None) or None)


def first_error(detail: Any) -> tuple[str | None, str]:
    """The path and the message of the first error of a REST framework error ``detail``."""
    path: list[str] = []
    while isinstance(detail, dict | list) and detail:
        if isinstance(detail, dict):
            key, detail = next(iter(detail.items()))
            if key != api_settings.NON_FIELD_ERRORS_KEY:
                path.append(str(key))
        else:
            index = next((i for i, item in enumerate(detail) if item), 0)
            if isinstance(detail[index], dict | list):
                path.append(str(index))
            detail = detail[index]
    return ".".join(path) or None, str(detail)


def _api_error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        field, message = first_error(exc.detail)
        detail = message if field is None else f"{field}: {message}"
        return error_body(type(exc).__name__, detail, field)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return error_body(type(exc).__name__, f"{exc.detail} (send Content-Type: application/json)")
    return error_body(type(exc).__name__, str(exc.detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST framework's handler with every answer in the app's one error shape.

    Statuses and headers (``WWW-Authenticate``, ``Retry-After``) are REST
    framework's; core errors get theirs from :func:`status_for`.  Anything
    else (a bug) is left to Django: a 500, logged with its traceback.
    """
    if isinstance(exc, DispatchError):
        body = dispatch_error_body(exc)
        request = context.get("request")
        key = None if request is None else request.headers.get("Idempotency-Key")
        if isinstance(exc, IdempotencyConflict) and key is not None:
            body["detail"] = f"Idempotency-Key {key!r} was already used for another request: {exc}"
            body["field"] = "Idempotency-Key"
        return Response(body, status=status_for(exc))
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = _api_error_body(exc)
    return response


def _as_api_exception(exc: Exception) -> Exception:
    # As REST framework does, so that the error's name is REST framework's.
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    return exc


@csrf_exempt
def no_such_endpoint(request: HttpRequest) -> JsonResponse:
    """The 404 of a path under the app's mount that is no endpoint (any method)."""
    hint = "" if request.path.endswith("/") else " (the endpoints' paths end with a slash)"
    return JsonResponse(
        error_body("NotFound", f"no endpoint at {request.path[:80]!r}{hint}"), status=404
    )
