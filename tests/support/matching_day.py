"""One matching window played on any backend: the two customers of issue 18 and a refusal.

Importable from every test folder as ``matching_day``.  The memory, Redis
and Django tests play it on their service and compare what it returns with
:data:`EXPECTED`: the window's orders and deadlines go through each
backend's own deadline machinery (``next_deadline``, ``with_live_offer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from places import AKWA, DEIDO

from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.service import DispatchService

__all__ = ["EXPECTED", "east", "play_window"]


def east(km: float) -> LatLng:
    """A point ``km`` east of AKWA (west when negative)."""
    return destination_point(AKWA, 90.0 if km >= 0 else 270.0, abs(km))


EXPECTED = [
    ("searching", None, True),  # both wait for the window, which is the next deadline
    2,  # two offers made by the window
    ["d_far", "d_near"],  # the globally shorter pair: 0.5 + 0.2 km, not 0.3 + 1.0
    ("searching", None, timedelta(seconds=3), ["d_far"]),  # a refusal: the next window
    ("no_driver", None),  # d_near is held by the other order, nobody else around
]


def play_window(
    service: DispatchService, clock: ManualClock, ids: Mapping[str, str]
) -> list[object]:
    """What happens to two orders placed together in matching mode (window_s 3).

    ``ids`` names the backend's ids of the drivers ``d_near`` and ``d_far``
    and of the customers ``a`` and ``b``.
    """
    names = {v: k for k, v in ids.items()}
    service.driver_online(ids["d_near"], "taxi_jaune", east(0.3))
    service.driver_online(ids["d_far"], "taxi_jaune", east(-0.5))
    first = service.create_order(ids["a"], east(0.0), DEIDO, "taxi_jaune", "CASH")
    second = service.create_order(ids["b"], east(0.5), DEIDO, "taxi_jaune", "CASH")
    assert first.window_at is not None
    seen: list[object] = [
        (first.state, first.offered_to, service.orders.next_deadline() == first.window_at)
    ]
    clock.set(first.window_at)
    seen.append(service.expire_due())
    offered = [service.orders.get(o.id).offered_to for o in (first, second)]
    seen.append([names.get(d or "") for d in offered])
    refused = service.reject(ids["d_far"], first.id)
    assert refused.window_at is not None
    seen.append(
        (
            refused.state,
            refused.offered_to,
            refused.window_at - clock.now(),
            sorted(names[d] for d in refused.tried),
        )
    )
    clock.set(refused.window_at)
    service.expire_due()
    final = service.orders.get(first.id)
    seen.append((final.state, final.window_at))
    return seen
