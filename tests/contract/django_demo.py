"""The Django tests' world: the Douala configuration, users with tokens, a manual clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.service import DispatchService

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
AKWA = {"lat": 4.0511, "lng": 9.7043}
DEIDO = {"lat": 4.0650, "lng": 9.7250}


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
