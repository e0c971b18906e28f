"""Settings a host project starts from: ``REST_FRAMEWORK = {**REST_FRAMEWORK, ...}``.

Token and session authentication,
the OpenAPI schema of drf-spectacular, and this app's error answers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REST_FRAMEWORK", "SPECTACULAR_SETTINGS"]

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "vtc_dispatch_django.errors.exception_handler",
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "vtc-dispatch",
    "DESCRIPTION": "Ride-hailing dispatch: drivers, search, orders, offers, trips, ratings.",
    "VERSION": "1",
}
