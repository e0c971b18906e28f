"""The admin's live map page, and what a click on a driver or an order shows.

:func:`map_urls` gives the routes the admin of the drivers' presence adds
(``/admin/vtc_dispatch/driverpresence/live-map/`` on the example
project): the page, whose script opens the map socket
(:mod:`vtc_dispatch_django.livemap`), and two JSON answers for its clicks,
``live-map/drivers/<id>/`` and ``live-map/orders/<id>/``
(:func:`vtc_dispatch.livemap.driver_details`,
:func:`vtc_dispatch.livemap.order_details`: the driver or order as an
operator sees it, with its routes so far as GeoJSON).  Only staff reach
them: the page sends anyone else to the admin's login (403 for a user
logged in who is not staff), the JSON answers 401 or 403 in the app's
error shape.

The page draws with Leaflet, vendored in the static files; the tiles come
from ``VTC_DISPATCH["MAP_TILE_URL"]`` (:func:`~vtc_dispatch_django.widgets.map_tiles`),
and without them the map still shows the cities' outlines, the drivers and
the orders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.livemap import DriverMapState, driver_details, order_details
from vtc_dispatch_django.auth import is_staff
from vtc_dispatch_django.errors import dispatch_error_body, error_body, status_for
from vtc_dispatch_django.runtime import get_service
from vtc_dispatch_django.widgets import map_tiles

__all__ = ["map_urls"]

_PLACEHOLDER = "__id__"


def _staff_json(
    view: Callable[[HttpRequest, str], dict[str, Any]],
) -> Callable[[HttpRequest, str], JsonResponse]:
    """A JSON view for staff only: 401 without a user, 403 for one not staff, a core
    error as the REST endpoints answer it."""

    def wrapped(request: HttpRequest, ident: str) -> JsonResponse:
        user = request.user
        if not user.is_authenticated:
            body = error_body("NotAuthenticated", "log into the admin to see the live map")
            return JsonResponse(body, status=401)
        if not is_staff(user):
            body = error_body("PermissionDenied", "the live map is for staff users only")
            return JsonResponse(body, status=403)
        try:
            return JsonResponse(view(request, ident))
        except DispatchError as exc:
            return JsonResponse(dispatch_error_body(exc), status=status_for(exc))

    return wrapped


def _driver(request: HttpRequest, driver_id: str) -> dict[str, Any]:
    details = driver_details(get_service(), str(request.user.pk), driver_id)
    return details.model_dump(mode="json")


def _order(request: HttpRequest, order_id: str) -> dict[str, Any]:
    details = order_details(get_service(), str(request.user.pk), order_id)
    return details.model_dump(mode="json")


def _cities() -> list[dict[str, Any]]:
    from vtc_dispatch_django.models import City

    return [{"label": c.name, "area": c.area} for c in City.objects.order_by("code")]


def map_urls(admin_site: Any) -> list[URLPattern]:
    """The live map's routes, for a model admin's ``get_urls`` (names ``vtc_live_map``,
    ``vtc_live_map_driver``, ``vtc_live_map_order`` in the admin's namespace)."""

    @never_cache
    def page(request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not is_staff(request.user):
            raise PermissionDenied("the live map is for staff users only")
        tile_url, attribution = map_tiles()
        url_of = {
            name: reverse(f"admin:vtc_live_map_{name}", args=[_PLACEHOLDER])
            for name in ("driver", "order")
        }
        context = {
            **admin_site.each_context(request),
            "title": "Live map",
            "live_map": {
                "socket": "/ws/ops/map/",
                "tile_url": tile_url,
                "attribution": attribution,
                "driver_url": url_of["driver"],
                "order_url": url_of["order"],
                "placeholder": _PLACEHOLDER,
                "states": [
                    {"state": state.value, "label": state.value.replace("_", " ").capitalize()}
                    for state in DriverMapState
                ],
            },
            "cities": _cities(),
        }
        return TemplateResponse(request, "vtc_dispatch_django/admin/live_map.html", context)

    return [
        path("live-map/", page, name="vtc_live_map"),
        path("live-map/drivers/<path:ident>/", _staff_json(_driver), name="vtc_live_map_driver"),
        path("live-map/orders/<str:ident>/", _staff_json(_order), name="vtc_live_map_order"),
    ]
