"""OpenAPI schema and Swagger UI: ``path("api/", include("vtc_dispatch_django.docs_urls"))``.

Serves ``api/schema/`` (OpenAPI 3) and ``api/docs/`` (Swagger UI).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]),
        name="swagger-ui",
    ),
]
