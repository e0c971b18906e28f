"""WebSocket consumers for drivers and customers, speaking the wire messages of the core.

Both need an authenticated user (:class:`~vtc_dispatch_django.auth.TokenAuthMiddleware`;
close code 4401 otherwise); the driver consumer also needs a driver
profile (4403).  The first message of a connection is ``state``
(:class:`~vtc_dispatch.wire.StateMessage`: the customer's active order,
the driver's offered or current one), so that an app that reconnects
resumes.  Each joins its user's group, where the
:class:`~vtc_dispatch_django.notifier.ChannelsNotifier` sends the service's
messages.  What a client sends is parsed with
:func:`~vtc_dispatch.wire.parse_driver_message` /
:func:`~vtc_dispatch.wire.parse_customer_message`; a bad message or a
refused command is answered with ``{"type": "error", "error": ..,
"detail": ..}`` and the connection stays open.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from vtc_dispatch.errors import DispatchError, NotFound
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.presentation import order_view
from vtc_dispatch.service import DispatchService
from vtc_dispatch.wire import (
    AcceptBidMessage,
    AcceptMessage,
    ArrivedMessage,
    BidMessage,
    CancelMessage,
    CompleteMessage,
    CreateOrderMessage,
    LocationMessage,
    RejectMessage,
    SearchMessage,
    StartMessage,
    StateMessage,
    drivers_available,
    parse_customer_message,
    parse_driver_message,
)
from vtc_dispatch_django.auth import is_driver
from vtc_dispatch_django.notifier import group_name
from vtc_dispatch_django.runtime import get_service

__all__ = ["CustomerConsumer", "DriverConsumer", "current_order"]

UNAUTHENTICATED = 4401
NOT_ALLOWED = 4403


class _Consumer(AsyncWebsocketConsumer):
    role = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        driver = await database_sync_to_async(is_driver)(user)
        if driver != (self.role == "driver"):
            await self.close(code=NOT_ALLOWED)
            return
        self.party_id = str(user.pk)
        self.group = group_name(self.role, self.party_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=await database_sync_to_async(self.state)())

    async def disconnect(self, code: int) -> None:
        group = getattr(self, "group", None)
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def vtc_message(self, event: dict[str, Any]) -> None:
        """A message of the service for this user (from the notifier)."""
        await self.send(text_data=event["text"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            reply = await database_sync_to_async(self.handle)(text_data or bytes_data or b"")
        except DispatchError as exc:
            await self.send_json({"type": "error", "error": type(exc).__name__, "detail": str(exc)})
            return
        if reply is not None:
            await self.send(text_data=reply)

    async def send_json(self, data: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(data))

    def state(self) -> str:
        """The ``state`` message of this user (JSON text)."""
        me = Actor(self.role, self.party_id)
        order = current_order(get_service(), me)
        return StateMessage(
            order=None if order is None else order_view(order, me)
        ).model_dump_json()

    def handle(self, data: str | bytes) -> str | None:
        """Run one message through the service; the direct reply (JSON text), if any."""
        raise NotImplementedError


def current_order(service: DispatchService, party: Actor) -> Order | None:
    """The order ``party`` follows: a driver's live offer or ride, a customer's active order."""
    if party.role == "driver":
        try:
            offered = service.drivers.get(party.id).order_id
        except NotFound:
            return None  # never online: no offer, no ride
        if offered is not None:
            order = service.orders.get(offered)
            if order.driver_id == party.id or order.offer_to(party.id) is not None:
                return order
    return service.current_order(party)


class DriverConsumer(_Consumer):
    """``ws/driver/``: offers in; location, accept, reject, arrived, start, complete out."""

    role = "driver"

    def handle(self, data: str | bytes) -> str | None:
        message = parse_driver_message(data)
        service = get_service()
        me = self.party_id
        match message:
            case LocationMessage():
                service.update_position(me, message.position.to_latlng(), message.at)
            case AcceptMessage():
                service.accept(me, message.order_id)
            case RejectMessage():
                service.reject(me, message.order_id)
            case ArrivedMessage():
                service.arrived(me, message.order_id)
            case StartMessage():
                service.start_trip(me, message.order_id)
            case CompleteMessage():
                service.complete_trip(me, message.order_id, supplements=message.supplements)
            case BidMessage():
                service.submit_bid(me, message.order_id, message.amount)
        return None


class CustomerConsumer(_Consumer):
    """``ws/customer/``: search, create_order, cancel, accept_bid; the ride's news out."""

    role = "customer"

    def handle(self, data: str | bytes) -> str | None:
        message = parse_customer_message(data)
        service = get_service()
        me = self.party_id
        match message:
            case SearchMessage():
                lines = service.search(message.pickup.to_latlng(), message.destination.to_latlng())
                return drivers_available(lines).model_dump_json()
            case CreateOrderMessage():
                order = service.create_order(
                    me,
                    message.pickup.to_latlng(),
                    message.destination.to_latlng(),
                    message.vehicle_type,
                    message.payment_method,
                    supplements=message.supplements,
                )
                return _json({"type": "order_created", "order_id": order.id, "state": order.state})
            case CancelMessage():
                service.cancel(Actor.customer(me), message.order_id, message.reason)
            case AcceptBidMessage():
                service.accept_bid(me, message.order_id, message.driver_id)
        return None


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data)
