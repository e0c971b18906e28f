"""Admin actions on orders that go through the service, as every command does.

Kept apart from :mod:`vtc_dispatch_django.admin` so that each action is one
function an admin class lists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.order import Actor

__all__ = ["mark_paid"]


@admin.action(description="Mark paid (the money came another way)")
def mark_paid(model_admin: Any, request: HttpRequest, queryset: Any) -> None:
    """Each selected ended order marked paid by the operator (its amount due), through
    :meth:`~vtc_dispatch.service.DispatchService.mark_paid`: one commit each, done once
    per order however often the action is sent again."""
    from vtc_dispatch_django.runtime import get_service

    service = get_service()
    operator = Actor.operator(str(request.user.pk))
    done = 0
    for order_id in queryset.values_list("order_id", flat=True):
        try:
            service.mark_paid(operator, order_id, command_id=f"admin:mark_paid:{order_id}")
        except DispatchError as exc:
            model_admin.message_user(request, f"{order_id}: {exc}", messages.ERROR)
        else:
            done += 1
    if done:
        model_admin.message_user(request, f"{done} order(s) marked paid.", messages.SUCCESS)
