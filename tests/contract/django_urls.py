"""The URLs of the Django tests: the app's endpoints as a host mounts them."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/order/", include("vtc_dispatch_django.urls")),
    path("api/", include("vtc_dispatch_django.docs_urls")),
]
