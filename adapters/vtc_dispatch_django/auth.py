"""Who is calling: driver or customer, and WebSocket authentication by token.

A user with a :class:`~vtc_dispatch_django.models.DriverProfile` is a
driver; any other authenticated user is a customer.  Party ids are
``str(user.pk)``.  WebSockets authenticate with a REST framework token,
in the query string (``?token=...``) or an ``Authorization: Token ...``
header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from vtc_dispatch.order import Actor

__all__ = ["TokenAuthMiddleware", "actor_for", "is_driver", "user_for_token"]


def is_driver(user: Any) -> bool:
    """Whether ``user`` has a driver profile."""
    from vtc_dispatch_django.models import DriverProfile

    return bool(user.is_authenticated) and DriverProfile.objects.filter(user_id=user.pk).exists()


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
