"""WebSocket routes: ``ws/driver/`` and ``ws/customer/``, to wrap in the token middleware.

>>> [str(p.pattern) for p in websocket_urlpatterns]
['ws/driver/', 'ws/customer/']
"""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from django.urls import path

from vtc_dispatch_django.auth import TokenAuthMiddleware
from vtc_dispatch_django.consumers import CustomerConsumer, DriverConsumer

__all__ = ["websocket_application", "websocket_urlpatterns"]

websocket_urlpatterns = [
    path("ws/driver/", DriverConsumer.as_asgi()),
    path("ws/customer/", CustomerConsumer.as_asgi()),
]


def websocket_application() -> Any:
    """The websocket side of a host's ASGI app: token authentication, then the routes."""
    return TokenAuthMiddleware(URLRouter(websocket_urlpatterns))
