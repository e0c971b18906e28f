"""URLs of the example project: the admin, the dispatch API and its docs."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/order/", include("vtc_dispatch_django.urls")),
    path("api/", include("vtc_dispatch_django.docs_urls")),
]
