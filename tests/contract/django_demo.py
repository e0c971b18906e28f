"""The Django tests' world: the Douala configuration, users with tokens, a manual clock."""

from __future__ import annotations

from dataclasses import dataclass

import places
from places import T0

from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.service import DispatchService

# The places as the REST and websocket clients send them.
AKWA = {"lat": places.AKWA.lat, "lng": places.AKWA.lng}
DEIDO = {"lat": places.DEIDO.lat, "lng": places.DEIDO.lng}

# T0 stays importable from here for the Django tests that take it from here.
__all__ = ["AKWA", "DEIDO", "T0", "Demo", "make_demo"]


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
