"""Settings a host project starts from: ``REST_FRAMEWORK = {**REST_FRAMEWORK, ...}``.

Token and session authentication, the OpenAPI schema of drf-spectacular,
this app's error answers (its views use them even when a host leaves them
out) and the rates of its throttle scopes (see
:mod:`vtc_dispatch_django.throttling`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["REST_FRAMEWORK", "SPECTACULAR_SETTINGS", "THROTTLE_RATES"]

THROTTLE_RATES: dict[str, str | None] = {
    # A phone reports every few seconds; twice as often is a bug or a replay.
    "vtc_location": "20/40s",
    "vtc_search": "30/m",
    "vtc_order": "10/m",
    "vtc_rating": "10/m",
}

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "vtc_dispatch_django.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": dict(THROTTLE_RATES),
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "vtc-dispatch",
    "DESCRIPTION": "Ride-hailing dispatch: drivers, search, orders, offers, trips, ratings.",
    "VERSION": "1",
}
