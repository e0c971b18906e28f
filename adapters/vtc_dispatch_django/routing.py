"""WebSocket routes: ``ws/driver/``, ``ws/customer/`` and the staff's ``ws/ops/map/``
(:mod:`vtc_dispatch_django.livemap`, also open to the admin's session), to wrap in the
token middleware.

:func:`websocket_application` refuses any other path with the close code
4404 (:data:`NO_SUCH_PATH`, before the handshake is accepted, as 4401 and
4403 are) instead of failing in the router; a host that routes these
patterns with its own adds :data:`unknown_path_route` last.

>>> [str(p.pattern) for p in websocket_urlpatterns]
['ws/driver/', 'ws/customer/', 'ws/ops/map/']
"""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from django.urls import path, re_path

from vtc_dispatch_django.auth import TokenAuthMiddleware, staff_socket
from vtc_dispatch_django.consumers import CustomerConsumer, DriverConsumer
from vtc_dispatch_django.livemap import LiveMapConsumer

__all__ = [
    "NO_SUCH_PATH",
    "refuse_unknown_path",
    "unknown_path_route",
    "websocket_application",
    "websocket_urlpatterns",
]

NO_SUCH_PATH = 4404

websocket_urlpatterns = [
    path("ws/driver/", DriverConsumer.as_asgi()),
    path("ws/customer/", CustomerConsumer.as_asgi()),
    path("ws/ops/map/", staff_socket(LiveMapConsumer.as_asgi())),
]


async def refuse_unknown_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app closing a websocket at its opening with :data:`NO_SUCH_PATH`."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": NO_SUCH_PATH})


unknown_path_route = re_path(r"", refuse_unknown_path)


def websocket_application() -> Any:
    """The websocket side of a host's ASGI app: token authentication, then the routes."""
    return TokenAuthMiddleware(URLRouter([*websocket_urlpatterns, unknown_path_route]))
