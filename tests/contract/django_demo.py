"""The Django tests' world: the Douala configuration, users with tokens, a manual clock;
Dakar's freight and delivery beside it on demand (:func:`with_dakar`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import places
from places import T0

from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing.dakar import DAKAR_CONFIG
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.service import DispatchService

# The places as the REST and websocket clients send them.
AKWA = {"lat": places.AKWA.lat, "lng": places.AKWA.lng}
DEIDO = {"lat": places.DEIDO.lat, "lng": places.DEIDO.lng}

# T0 stays importable from here for the Django tests that take it from here.
__all__ = [
    "AKWA",
    "DEIDO",
    "LOAD_FROM",
    "LOAD_TO",
    "T0",
    "Demo",
    "make_demo",
    "rest",
    "with_dakar",
]

# A load (or a parcel) in Dakar: from the Plateau to Medina, 2.5 km.
LOAD_FROM, LOAD_TO = LatLng(14.670, -17.440), LatLng(14.690, -17.450)


@dataclass
class Demo:
    """The users of a test (by name: their id and token) and the service they reach."""

    ids: dict[str, str]
    tokens: dict[str, str]
    clock: ManualClock

    @property
    def service(self) -> DispatchService:
        from vtc_dispatch_django.runtime import get_service

        service = get_service()
        service.clock = self.clock
        return service


def make_demo(pool_mode: str = "sequential") -> Demo:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from vtc_dispatch_django.config import import_config
    from vtc_dispatch_django.models import DriverProfile
    from vtc_dispatch_django.runtime import reset_service

    import_config({**DOUALA_CONFIG, "pool": {"default": {"mode": pool_mode}}})
    reset_service()
    ids, tokens = {}, {}
    for name, vehicle in (
        ("amadou", "taxi_jaune"),
        ("brice", "taxi_jaune"),
        ("carine", "confort"),
        ("chantal", None),
        ("didier", None),
    ):
        user = User.objects.create_user(name, password=name)
        tokens[name] = Token.objects.create(user=user).key
        ids[name] = str(user.pk)
        if vehicle is not None:
            DriverProfile.objects.create(user=user, vehicle_type=vehicle)
    return Demo(ids, tokens, ManualClock(T0))


def with_dakar() -> None:
    """The configuration of Douala (rides) and Dakar (freight and delivery types, XOF),
    each kind's pool mode its default (freight bids), and a service built on it."""
    from vtc_dispatch_django.config import import_config
    from vtc_dispatch_django.runtime import reset_service

    both: dict[str, Any] = {
        **DOUALA_CONFIG,
        "tariffs": [*DOUALA_CONFIG["tariffs"], *DAKAR_CONFIG["tariffs"]],
    }
    for section in ("countries", "cities", "vehicle_types", "zones"):
        both[section] = {**DOUALA_CONFIG[section], **DAKAR_CONFIG[section]}
    import_config(both)
    reset_service()


def rest(demo: Demo, name: str | None, method: str, path: str, body: Any = None) -> Any:
    """``name``'s request (``None``: anonymous) to the app's endpoint ``path`` under
    ``/api/v1/order/``: a GET's ``body`` is its query parameters, another's its JSON body."""
    from rest_framework.test import APIClient

    client = APIClient()
    if name is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {demo.tokens[name]}")
    send = getattr(client, method.lower())
    if method.lower() == "get":
        return send(f"/api/v1/order/{path}", body)
    return send(f"/api/v1/order/{path}", body, format="json")
