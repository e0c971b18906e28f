"""The API's documents: ``path("api/", include("vtc_dispatch_django.docs_urls"))``.

Serves ``api/schema/`` (OpenAPI 3.1, with links from one operation to the
next), ``api/docs/`` (Swagger UI), ``api/redoc/`` (ReDoc) and
``api/schema/ws/`` (the JSON schema of every websocket message, by
``type``).  Swagger UI and ReDoc come from the ``drf-spectacular-sidecar``
package, served as static files (add ``"drf_spectacular_sidecar"`` to
``INSTALLED_APPS``): they load with no network, whatever the host's
``SPECTACULAR_SETTINGS`` say.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.templatetags.static import static
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from vtc_dispatch.wire import json_schemas
from vtc_dispatch_django.openapi import SCHEMA_SETTINGS

__all__ = ["DocsRedocView", "DocsSwaggerView", "websocket_schemas"]


def _sidecar(file: str) -> str:
    return static(f"drf_spectacular_sidecar/{file}")


class DocsSwaggerView(SpectacularSwaggerView):
    """Swagger UI from the sidecar package (no CDN)."""

    permission_classes = (AllowAny,)

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return _sidecar(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return _sidecar("swagger-ui-dist/favicon-32x32.png")


class DocsRedocView(SpectacularRedocView):
    """ReDoc from the sidecar package (no CDN)."""

    permission_classes = (AllowAny,)

    @staticmethod
    def _redoc_standalone() -> str:
        return _sidecar("redoc/bundles/redoc.standalone.js")


def websocket_schemas(request: HttpRequest) -> JsonResponse:
    """The JSON schema of every websocket message, keyed by its ``type`` (what
    ``python -m vtc_dispatch.wire`` prints)."""
    return JsonResponse(json_schemas())


_SCHEMA: Any = SpectacularAPIView.as_view(
    permission_classes=[AllowAny], custom_settings=SCHEMA_SETTINGS
)

urlpatterns = [
    path("schema/", _SCHEMA, name="schema"),
    path("schema/ws/", websocket_schemas, name="websocket-schemas"),
    path("docs/", DocsSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", DocsRedocView.as_view(url_name="schema"), name="redoc"),
]
