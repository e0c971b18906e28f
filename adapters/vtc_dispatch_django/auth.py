"""Who is calling: driver or customer, and WebSocket authentication by token or session.

A user with a :class:`~vtc_dispatch_django.models.DriverProfile` is a
driver; any other authenticated user is a customer.  Party ids are
``str(user.pk)``.  WebSockets authenticate with a REST framework token,
in the query string (``?token=...``) or an ``Authorization: Token ...``
header; the staff's sockets (:func:`staff_socket`, the admin's live map)
also with the admin's session cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from vtc_dispatch.order import Actor

__all__ = [
    "SessionUserMiddleware",
    "TokenAuthMiddleware",
    "actor_for",
    "is_driver",
    "is_staff",
    "staff_socket",
    "user_for_token",
]


def is_driver(user: Any) -> bool:
    """Whether ``user`` has a driver profile."""
    from vtc_dispatch_django.models import DriverProfile

    return bool(user.is_authenticated) and DriverProfile.objects.filter(user_id=user.pk).exists()


def is_staff(user: Any) -> bool:
    """Whether ``user`` may use the admin (active and staff): the operators' screens."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def actor_for(user: Any, role: str) -> Actor:
    """The core's actor for ``user`` acting as ``role``."""
    return Actor(role, str(user.pk))


def user_for_token(key: str) -> Any:
    """The active user owning the token ``key``, or an anonymous user."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


def _token(scope: dict[str, Any]) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode())
    if query.get("token"):
        return query["token"][0]
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, key = value.decode().partition(" ")
            if kind.lower() == "token" and key:
                return key.strip()
    return None


class TokenAuthMiddleware:
    """ASGI middleware putting the token's user in ``scope["user"]``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = _token(scope)
        user = await database_sync_to_async(user_for_token)(key) if key else AnonymousUser()
        return await self.inner({**scope, "user": user}, receive, send)


class SessionUserMiddleware:
    """ASGI middleware putting the session's user in ``scope["user"]`` when no token gave
    one (inside channels' ``SessionMiddlewareStack``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            from channels.auth import get_user

            scope = {**scope, "user": await get_user(scope)}
        return await self.inner(scope, receive, send)


def staff_socket(inner: Any) -> Any:
    """A route's app authenticated by token (around it) or by the admin's session.

    A session cookie is sent by the browser whichever page opens the
    socket: the ``Origin`` must be one of ``ALLOWED_HOSTS`` (as Django's
    CSRF check asks of a form), else the handshake is refused.
    """
    from channels.security.websocket import AllowedHostsOriginValidator
    from channels.sessions import SessionMiddlewareStack

    return AllowedHostsOriginValidator(SessionMiddlewareStack(SessionUserMiddleware(inner)))
