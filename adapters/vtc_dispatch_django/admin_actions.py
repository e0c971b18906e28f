"""Admin actions that go through the service, as every command does: on orders, and on
drivers (whatever stores their presence, the database or Redis).

Kept apart from :mod:`vtc_dispatch_django.admin` so that each action is one
function an admin class lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.order import Actor

__all__ = ["act", "lift_suspension", "mark_paid", "put_offline", "suspend"]


def act(request: HttpRequest, ids: list[str], command: Callable[[str], Any], done: str) -> None:
    """Run ``command`` on each id through the service, one command each; say what happened."""
    succeeded = []
    for one in ids:
        try:
            command(one)
        except DispatchError as exc:
            messages.error(request, f"{one}: {exc}")
        else:
            succeeded.append(one)
    if succeeded:
        messages.success(request, f"{done}: {', '.join(succeeded)}")


def _driver_ids(queryset: QuerySet[Any]) -> list[str]:
    """The selected drivers: presence rows name them; profiles by their user (the app's
    driver id is ``str(user.pk)``), so that drivers stored in Redis can be acted on too."""
    from vtc_dispatch_django.models import DriverPresence

    if queryset.model is DriverPresence:
        return [str(one) for one in queryset.values_list("driver_id", flat=True)]
    return [str(one) for one in queryset.values_list("user_id", flat=True)]


@admin.action(description="Put the selected drivers offline")
def put_offline(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """A live offer counts as refused; a driver on a ride stays (the service says so)."""
    from vtc_dispatch_django.runtime import get_service

    act(request, _driver_ids(queryset), get_service().driver_offline, "Put offline")


@admin.action(description="Suspend the selected drivers (no more offers)")
def suspend(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """Through :meth:`~vtc_dispatch.service.DispatchService.suspend_driver`: a live offer
    goes to the next driver, a ride goes on; his ratings never lift it."""
    _suspend(request, queryset, suspended=True)


@admin.action(description="Lift the suspension of the selected drivers")
def lift_suspension(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """Offers reach him again (unless his ratings block him, or he is away)."""
    _suspend(request, queryset, suspended=False)


def _suspend(request: HttpRequest, queryset: QuerySet[Any], *, suspended: bool) -> None:
    from vtc_dispatch_django.runtime import get_service

    service = get_service()
    operator = Actor.operator(str(request.user.pk))
    act(
        request,
        _driver_ids(queryset),
        lambda driver_id: service.suspend_driver(operator, driver_id, suspended=suspended),
        "Suspended" if suspended else "Suspension lifted",
    )


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
