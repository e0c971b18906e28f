"""WebSocket consumers for drivers and customers, speaking the wire messages of the core.

Both need an authenticated user (:class:`~vtc_dispatch_django.auth.TokenAuthMiddleware`;
close code 4401 otherwise); the driver consumer also needs a driver
profile (4403).  ``docs/protocol.md`` describes the whole protocol; in short:

* The first message of a connection is ``state``
  (:class:`~vtc_dispatch.wire.StateMessage`): the customer's active order
  and his driver, the driver's live offer (as the ``offer`` message would
  bring it now), the order he drives and his own status, so that an app
  that reconnects resumes.  A driver's connection is a sign of life (his
  presence is renewed); with ``VTC_DISPATCH["UNREACHABLE_ON_DISCONNECT"]``
  (default ``True``) its close makes him unreachable at once, unless he
  was heard from since on another connection or over REST.
* Each joins its user's group, where the
  :class:`~vtc_dispatch_django.notifier.ChannelsNotifier` sends the
  service's messages.
* Every message a client sends gets exactly one answer, carrying the
  message's ``id`` (``null`` without one): ``ok`` for a command (with the
  order and its state), ``order_created`` for ``create_order``,
  ``drivers_available`` for ``search``, ``ok`` or ``position_refused`` for
  ``location``, ``pong`` for ``ping``, and ``error`` (the REST error shape,
  :mod:`vtc_dispatch_django.errors`: ``error``, ``detail``, ``field``) for
  a message refused; the connection stays open.  A path that is no route is
  closed with 4404 (:mod:`vtc_dispatch_django.routing`).

A command's ``id`` (a string or an integer) is its ``command_id`` (scoped
to the user), so a message sent again after a lost reply is done once and
answered as the first time.  Ids must stay unique per user for a day (a
UUID, or a counter that survives reconnections).  ``location`` and
``ping`` are not recorded as commands (a fix a minute is too many records;
a fix sent twice on a ride is flagged ``duplicate`` by its track).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from pydantic import BaseModel

from vtc_dispatch.batching import FixBatcher
from vtc_dispatch.errors import DispatchError, InvalidArgument, InvalidCommandId, NotFound
from vtc_dispatch.kinds import MERCHANT_STEPS
from vtc_dispatch.order import Actor, Fix, Order, PositionAnswer, ProofOfDelivery
from vtc_dispatch.wire import (
    AcceptBidMessage,
    AcceptMessage,
    ArrivedMessage,
    BidMessage,
    CancelMessage,
    CompleteMessage,
    CreateOrderMessage,
    DeliverMessage,
    DepartMessage,
    ErrorMessage,
    LocationMessage,
    MerchantUpdateMessage,
    OkMessage,
    OrderCreatedMessage,
    PingMessage,
    PongMessage,
    PositionRefusedMessage,
    RejectMessage,
    SearchAgainMessage,
    SearchMessage,
    StartMessage,
    drivers_available,
    parse_customer_message,
    parse_driver_message,
)
from vtc_dispatch_django.auth import is_driver
from vtc_dispatch_django.errors import dispatch_error_body
from vtc_dispatch_django.notifier import group_name
from vtc_dispatch_django.runtime import dispatch_setting, fix_batcher, get_service
from vtc_dispatch_django.states import customer_state, driver_state

__all__ = ["CustomerConsumer", "DriverConsumer"]

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
        self.heard_until: datetime | None = None
        self.group = group_name(self.role, self.party_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=await database_sync_to_async(self.state)())

    async def disconnect(self, code: int) -> None:
        group = getattr(self, "group", None)
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)
            await database_sync_to_async(self.closed)()

    def closed(self) -> None:
        """What the service learns when the connection closes (nothing for a customer)."""

    async def vtc_message(self, event: dict[str, Any]) -> None:
        """A message of the service for this user (from the notifier)."""
        await self.send(text_data=event["text"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message_id: str | None = None
        try:
            message_id, data = message_and_id(text_data or bytes_data or b"")
            reply = await database_sync_to_async(self.handle)(data, message_id)
        except DispatchError as exc:
            reply = ErrorMessage(id=message_id, **dispatch_error_body(exc))
        await self.send(text_data=reply.model_dump_json())

    def state(self) -> str:
        """The ``state`` message of this user (JSON text)."""
        raise NotImplementedError

    def handle(self, data: Any, message_id: str | None) -> BaseModel:
        """Run one message through the service: its answer."""
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


def _ok(message_id: str | None, order: Order) -> OkMessage:
    return OkMessage(id=message_id, order_id=order.id, state=order.state)


def _position(answer: PositionAnswer, message_id: str | None) -> BaseModel:
    if answer.accepted:
        return OkMessage(id=message_id)
    return PositionRefusedMessage.from_answer(answer, message_id)


class DriverConsumer(_Consumer):
    """``ws/driver/``: offers in; location, ping, accept, reject, arrived, start, complete,
    bid, depart, deliver out."""

    role = "driver"

    def state(self) -> str:
        """See :meth:`_Consumer.state`; the connection renews his presence first."""
        service = get_service()
        try:
            service.ping(self.party_id)
        except NotFound:
            pass  # never online: nothing to renew
        else:
            self.heard_until = service.clock.now()
        return driver_state(service, self.party_id).model_dump_json()

    def closed(self) -> None:
        """The driver is unreachable at once (unless the host turned it off)."""
        if dispatch_setting("UNREACHABLE_ON_DISCONNECT", True):
            get_service().driver_unreachable(self.party_id, heard_until=self.heard_until)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """A location joins the process's next batch of fixes (see
        :func:`~vtc_dispatch_django.runtime.fix_batcher`); the rest as every consumer."""
        batcher = fix_batcher()
        if batcher is None:
            await super().receive(text_data, bytes_data)
            return
        message_id: str | None = None
        try:
            message_id, data = message_and_id(text_data or bytes_data or b"")
            message = parse_driver_message(data)
            if isinstance(message, LocationMessage):
                reply = await self._batched(batcher, message, message_id)
            else:
                reply = await database_sync_to_async(self.handle_message)(message, message_id)
        except DispatchError as exc:
            reply = ErrorMessage(id=message_id, **dispatch_error_body(exc))
        await self.send(text_data=reply.model_dump_json())

    async def _batched(
        self, batcher: FixBatcher, message: LocationMessage, message_id: str | None
    ) -> BaseModel:
        fix = Fix(self.party_id, message.position.to_latlng(), message.at, message.accuracy_m)
        heard = await asyncio.wrap_future(batcher.submit(fix))
        answer = heard.answer
        # Refused before anything was read: an error, as for a fix stored alone.
        if answer.reason == "unknown_driver":
            raise NotFound(answer.error or f"no driver {self.party_id!r}")
        if answer.reason == "invalid":
            raise InvalidArgument(answer.error or "invalid fix")
        self.heard_until = heard.at
        return _position(answer, message_id)

    def handle(self, data: Any, message_id: str | None) -> BaseModel:
        return self.handle_message(parse_driver_message(data), message_id)

    def handle_message(self, message: Any, message_id: str | None) -> BaseModel:
        """A parsed driver message handled (a sync function: it reads and writes)."""
        service = get_service()
        me, cid = self.party_id, self.command_id(message_id)
        match message:
            case LocationMessage():
                answer = service.update_position(
                    me, message.position.to_latlng(), message.at, accuracy_m=message.accuracy_m
                )
                self.heard_until = service.clock.now()
                return _position(answer, message_id)
            case PingMessage():
                status = service.ping(me)
                self.heard_until = now = service.clock.now()
                return PongMessage(
                    id=message_id,
                    at=now,
                    online=status.online,
                    offline_reason=status.offline_reason,
                )
            case AcceptMessage():
                return _ok(message_id, service.accept(me, message.order_id, command_id=cid))
            case RejectMessage():
                return _ok(message_id, service.reject(me, message.order_id, command_id=cid))
            case ArrivedMessage():
                return _ok(message_id, service.arrived(me, message.order_id, command_id=cid))
            case StartMessage():
                return _ok(message_id, service.start_trip(me, message.order_id, command_id=cid))
            case CompleteMessage():
                done = service.complete_trip(
                    me, message.order_id, supplements=message.supplements, command_id=cid
                )
                return _ok(message_id, done)
            case BidMessage():
                bid = service.submit_bid(
                    me,
                    message.order_id,
                    message.amount,
                    valid_for_s=message.valid_for_s,
                    command_id=cid,
                )
                return _ok(message_id, bid)
            case DepartMessage():
                return _ok(message_id, service.depart(me, message.order_id, command_id=cid))
            case DeliverMessage():
                proof = ProofOfDelivery(
                    message.position.to_latlng(), message.at, message.code, message.reference
                )
                delivered = service.deliver(me, message.order_id, proof, command_id=cid)
                return _ok(message_id, delivered)
        raise AssertionError(f"unhandled driver message {message!r}")


class CustomerConsumer(_Consumer):
    """``ws/customer/``: search, create_order, search_again, cancel, accept_bid, and a
    merchant's merchant_update (a merchant is no driver: he connects here); the ride's news
    out."""

    role = "customer"

    def state(self) -> str:
        """See :meth:`_Consumer.state`."""
        return customer_state(get_service(), self.party_id).model_dump_json()

    def handle(self, data: Any, message_id: str | None) -> BaseModel:
        message = parse_customer_message(data)
        command_id = self.command_id(message_id)
        service = get_service()
        me = self.party_id
        match message:
            case SearchMessage():
                lines = service.search(message.pickup.to_latlng(), message.destination.to_latlng())
                return drivers_available(lines)
            case CreateOrderMessage():
                order = service.create_order(
                    me,
                    message.pickup.to_latlng(),
                    message.destination.to_latlng(),
                    message.vehicle_type,
                    message.payment_method,
                    supplements=message.supplements,
                    merchant_id=message.merchant_id,
                    goods_amount=message.goods_amount,
                    command_id=command_id,
                )
                return OrderCreatedMessage(id=message_id, order_id=order.id, state=order.state)
            case SearchAgainMessage():
                again = service.search_again(me, message.order_id, command_id=command_id)
                return _ok(message_id, again)
            case CancelMessage():
                cancelled = service.cancel(
                    Actor.customer(me), message.order_id, message.reason, command_id=command_id
                )
                return _ok(message_id, cancelled)
            case AcceptBidMessage():
                taken = service.accept_bid(
                    me, message.order_id, message.driver_id, command_id=command_id
                )
                return _ok(message_id, taken)
            case MerchantUpdateMessage():
                updated = service.merchant_update(
                    Actor.merchant(me),
                    message.order_id,
                    MERCHANT_STEPS[message.status],
                    command_id=command_id,
                )
                return _ok(message_id, updated)
        raise AssertionError(f"unhandled customer message {message!r}")
