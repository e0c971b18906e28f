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
"detail": .., "field": ..}`` (the REST error shape,
:mod:`vtc_dispatch_django.errors`; ``field`` is the path of the bad field
of a message, such as ``"position.lat"``, or ``null``) and the connection
stays open.  A path that is no route is closed with 4404
(:mod:`vtc_dispatch_django.routing`).

A message may carry an ``id`` (a string or an integer): its command then
runs with that id as ``command_id`` (scoped to the user), so a message
sent again after a lost reply is done once and answered as the first
time; the answer is ``{"type": "ok", "id": .., "order_id": ..,
"state": ..}`` (``order_created`` for ``create_order``), and an error
carries the ``id`` too.  Ids must stay unique per user for a day (a UUID,
or a counter that survives reconnections).
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from vtc_dispatch.errors import DispatchError, InvalidCommandId, NotFound
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
from vtc_dispatch_django.errors import dispatch_error_body
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
        message_id: str | None = None
        try:
            message_id, data = message_and_id(text_data or bytes_data or b"")
            reply = await database_sync_to_async(self.handle)(data, message_id)
        except DispatchError as exc:
            error = {"type": "error", **dispatch_error_body(exc)}
            await self.send_json(error if message_id is None else {**error, "id": message_id})
            return
        if isinstance(reply, Order):
            if message_id is not None:
                await self.send_json(
                    {"type": "ok", "id": message_id, "order_id": reply.id, "state": reply.state}
                )
        elif reply is not None:
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

    def handle(self, data: Any, message_id: str | None) -> str | Order | None:
        """Run one message through the service: a direct reply (JSON text), an order, or None."""
        raise NotImplementedError

    def command_id(self, message_id: str | None) -> str | None:
        """The service's ``command_id`` of a message's ``id``: the same for every connection
        of this user (a message sent again on a new connection is the same command)."""
        return None if message_id is None else f"ws:{self.party_id}:{message_id}"


_ID_MAX = 100


def message_and_id(data: str | bytes) -> tuple[str | None, Any]:
    """A client message's ``id`` (as text) and the message without it.

    Text that is not a JSON object is left to the message parser, which
    says what is wrong with it.

    >>> message_and_id('{"type": "reject", "order_id": "o-1", "id": 7}')
    ('7', {'type': 'reject', 'order_id': 'o-1'})
    >>> message_and_id('{"type": "reject", "order_id": "o-1", "id": true}')
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCommandId: id must be a string of 1 to 100 ... got True
    """
    try:
        decoded = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None, data
    if not isinstance(decoded, dict) or "id" not in decoded:
        return None, decoded
    message_id = decoded.pop("id")
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not 0 < len(message_id) <= _ID_MAX:
        raise InvalidCommandId(
            f"id must be a string of 1 to {_ID_MAX} characters or an integer, got {message_id!r}"
        )
    return message_id, decoded


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

    def handle(self, data: Any, message_id: str | None) -> str | Order | None:
        message = parse_driver_message(data)
        service = get_service()
        me, cid = self.party_id, self.command_id(message_id)
        match message:
            case LocationMessage():
                service.update_position(
                    me, message.position.to_latlng(), message.at, command_id=cid
                )
                return None if message_id is None else _json({"type": "ok", "id": message_id})
            case AcceptMessage():
                return service.accept(me, message.order_id, command_id=cid)
            case RejectMessage():
                return service.reject(me, message.order_id, command_id=cid)
            case ArrivedMessage():
                return service.arrived(me, message.order_id, command_id=cid)
            case StartMessage():
                return service.start_trip(me, message.order_id, command_id=cid)
            case CompleteMessage():
                return service.complete_trip(
                    me, message.order_id, supplements=message.supplements, command_id=cid
                )
            case BidMessage():
                return service.submit_bid(me, message.order_id, message.amount, command_id=cid)
        return None


class CustomerConsumer(_Consumer):
    """``ws/customer/``: search, create_order, cancel, accept_bid; the ride's news out."""

    role = "customer"

    def handle(self, data: Any, message_id: str | None) -> str | Order | None:
        message = parse_customer_message(data)
        command_id = self.command_id(message_id)
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
                    command_id=command_id,
                )
                created = {"type": "order_created", "order_id": order.id, "state": order.state}
                if message_id is not None:
                    created["id"] = message_id
                return _json(created)
            case CancelMessage():
                return service.cancel(
                    Actor.customer(me), message.order_id, message.reason, command_id=command_id
                )
            case AcceptBidMessage():
                return service.accept_bid(
                    me, message.order_id, message.driver_id, command_id=command_id
                )
        return None


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data)
