"""The operator's live map: every online driver by what he is doing, every order in course.

A map is first read whole from the stores (:func:`map_snapshot`: the
drivers of :meth:`~vtc_dispatch.ports.DriverRegistry.online_drivers`, the
orders of :meth:`~vtc_dispatch.ports.OrderRepository.active_orders`), then
kept up to date from the service's events
(:meth:`~vtc_dispatch.service.DispatchService.subscribe`), in batches: with
thousands of drivers each sending a fix every few seconds, a message per
fix would drown the operator's page.  :class:`MapChanges` (the listener)
keeps, until the next batch, the latest position of each driver who moved
(latest wins) and the ids of the drivers and orders whose state may have
changed; :func:`map_update` turns that into one
:class:`~vtc_dispatch.presentation.MapUpdateMessage`, reading from the
stores only the drivers and orders whose state changed (a position needs
no read).  :class:`LiveMapFeed` runs that every ``window_s`` on a thread of
its own, and hands each message to the host (a Channels group, a queue).
Nothing is written: the commands' path only gains the listener's few
dictionary operations.

A driver's state on the map (:class:`DriverMapState`) comes from his
status and the order that holds him (:func:`driver_map_state`).  Changes
of presence that no event tells (a connection closed, a silent driver
heard from again) show at the host's next snapshot.

>>> from datetime import UTC, datetime
>>> from vtc_dispatch.events import DriverMoved
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.memory import ManualClock
>>> from vtc_dispatch.pricing import douala_config
>>> from vtc_dispatch.service import DispatchService
>>> service = DispatchService(pricing=douala_config(),
...     clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)))
>>> changes = MapChanges()
>>> service.subscribe(changes.record)
>>> service.driver_online("amadou", "taxi_jaune", LatLng(4.05, 9.70))
>>> service.driver_online("binta", "taxi_jaune", LatLng(4.06, 9.71))
>>> for lat in (4.0601, 4.0602, 4.0603):
...     _ = service.update_position("binta", LatLng(lat, 9.71))
>>> update = map_update(changes.drain(), service)
>>> [(d.id, d.state) for d in update.drivers], update.moves
([('amadou', 'available'), ('binta', 'available')], ())
>>> _ = service.update_position("binta", LatLng(4.0604, 9.71))
>>> _ = service.update_position("binta", LatLng(4.0605, 9.71))
>>> map_update(changes.drain(), service).moves
(('binta', 4.0605, 9.71),)
>>> map_update(changes.drain(), service) is None
True
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import assert_never

import attrs

from vtc_dispatch.batching import BatchThread, check_window, service_getter
from vtc_dispatch.errors import NotFound, shown
from vtc_dispatch.events import (
    BidAccepted,
    BidSubmitted,
    DriverArrived,
    DriverArriving,
    DriverAssigned,
    DriverLocated,
    DriverMoved,
    DriverSuspensionChanged,
    DriverWentOffline,
    DriverWentOnline,
    DriverWentSilent,
    DriverWithdrew,
    Event,
    NoDriverFound,
    OfferExpired,
    OfferRejected,
    OfferSent,
    OfferWithdrawn,
    OrderCancelled,
    OrderCreated,
    OrderStepped,
    PriceChanged,
    RatingGiven,
    SearchStarted,
    TripCompleted,
    TripStarted,
)
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import Actor, DriverStatus, Order, Presence
from vtc_dispatch.ports import OrderRepository, check_limit
from vtc_dispatch.presentation import (
    MapDriverDetails,
    MapDriverView,
    MapOrderDetails,
    MapOrderView,
    MapSnapshotMessage,
    MapUpdateMessage,
    OperatorOrderView,
    driver_view,
    map_driver_view,
    map_order_view,
    order_view,
)
from vtc_dispatch.service import DispatchService

__all__ = [
    "DriverMapState",
    "LiveMapFeed",
    "MapChanges",
    "Pending",
    "driver_details",
    "driver_map_state",
    "map_snapshot",
    "map_update",
    "order_details",
]

_log = logging.getLogger(__name__)

_DECIMALS = 6
"""Places of the moves' degrees: 0.1 m, far below a phone's accuracy."""


class DriverMapState(StrEnum):
    """What an online driver is doing, as the live map colours him.

    ``silent`` (his phone not heard from for the presence timeout, or his
    connection closed) comes first: his position is stale whatever he was
    doing; ``blocked``: under the rating threshold or suspended by an
    operator, offered nothing.
    """

    AVAILABLE = "available"
    OFFERED = "offered"
    ON_THE_WAY = "on_the_way"
    ON_RIDE = "on_ride"
    SILENT = "silent"
    BLOCKED = "blocked"


_ON_THE_WAY = frozenset({RideState.ACCEPTED, RideState.ARRIVED})


def driver_map_state(
    status: DriverStatus, order: Order | None, *, silent_before: datetime | None = None
) -> DriverMapState:
    """The map state of an online driver: ``order`` is the one his status names (``None``
    without one); ``silent_before``: a present driver last heard from before it is shown
    silent already (the service marks silent drivers in batches).

    >>> from datetime import UTC, datetime, timedelta
    >>> from vtc_dispatch.geo import LatLng
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    >>> status = DriverStatus("d-1", "taxi_jaune", LatLng(4.05, 9.7), True, at)
    >>> driver_map_state(status, None).value
    'available'
    >>> driver_map_state(status, None, silent_before=at + timedelta(seconds=1)).value
    'silent'
    >>> driver_map_state(attrs.evolve(status, order_id="o-1"), None).value
    'offered'
    """
    if status.presence is not Presence.PRESENT or (
        silent_before is not None and status.seen_at < silent_before
    ):
        return DriverMapState.SILENT
    if order is not None and order.driver_id == status.driver_id:
        phase = order.phase
        if phase == RideState.IN_PROGRESS:
            return DriverMapState.ON_RIDE
        if phase in _ON_THE_WAY:
            return DriverMapState.ON_THE_WAY
    if status.order_id is not None:
        return DriverMapState.OFFERED
    blocked = status.blocked or status.suspended
    return DriverMapState.BLOCKED if blocked else DriverMapState.AVAILABLE


def _order_named(
    status: DriverStatus, known: dict[str, Order | None], orders: OrderRepository
) -> Order | None:
    """The order the driver's status names, from ``known`` (read once, kept there)."""
    order_id = status.order_id
    if order_id is None:
        return None
    if order_id not in known:
        try:
            known[order_id] = orders.get(order_id)
        except NotFound:
            known[order_id] = None
    return known[order_id]


def _driver_on_map(
    status: DriverStatus,
    known: dict[str, Order | None],
    orders: OrderRepository,
    silent_before: datetime | None,
) -> MapDriverView:
    state = driver_map_state(
        status, _order_named(status, known, orders), silent_before=silent_before
    )
    return map_driver_view(status, state.value)


def map_snapshot(
    service: DispatchService, *, max_drivers: int = 10_000, max_orders: int = 2_000
) -> MapSnapshotMessage:
    """The whole map, read from the service's stores: at most ``max_drivers`` online
    drivers (the most recently heard from) and ``max_orders`` active orders (the newest).

    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.pricing import douala_config
    >>> service = DispatchService(pricing=douala_config())
    >>> service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    >>> order = service.create_order("chantal", LatLng(4.0511, 9.7043),
    ...                              LatLng(4.0650, 9.7250), "taxi_jaune", "CASH")
    >>> snapshot = map_snapshot(service)
    >>> [(d.id, d.state, d.order_id == order.id) for d in snapshot.drivers]
    [('amadou', 'offered', True)]
    >>> [(o.customer_id, o.phase) for o in snapshot.orders], snapshot.truncated
    ([('chantal', 'searching')], False)
    """
    check_limit(max_drivers)
    check_limit(max_orders)
    now = service.clock.now()
    orders = service.orders.active_orders(limit=max_orders + 1)
    statuses = service.drivers.online_drivers(limit=max_drivers + 1)
    truncated = len(orders) > max_orders or len(statuses) > max_drivers
    orders, statuses = orders[:max_orders], statuses[:max_drivers]
    known: dict[str, Order | None] = {order.id: order for order in orders}
    silent_before = service.settings.heard_since(now)
    return MapSnapshotMessage(
        at=now,
        drivers=tuple(
            _driver_on_map(status, known, service.orders, silent_before) for status in statuses
        ),
        orders=tuple(map_order_view(order) for order in orders),
        truncated=truncated,
    )


@attrs.frozen
class Pending:
    """What changed since the last batch: the drivers who moved (their latest position),
    and the drivers and orders whose state may have changed (to read again)."""

    moves: dict[str, LatLng] = attrs.Factory(dict)
    drivers: frozenset[str] = frozenset()
    orders: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        """Nothing changed."""
        return not (self.moves or self.drivers or self.orders)


class MapChanges:
    """Collects the service's events until the next batch (thread-safe).

    :meth:`record` is the service's listener: a dictionary or set
    operation per event, so that it costs the commands nothing to speak of.
    """

    def __init__(self) -> None:
        self._moves: dict[str, LatLng] = {}
        self._drivers: set[str] = set()
        self._orders: set[str] = set()
        self._lock = threading.Lock()

    def record(self, event: Event) -> None:
        """The service's listener: note what ``event`` changes on the map."""
        self.note(event)

    def note(self, event: Event) -> bool:
        """:meth:`record`, telling whether ``event`` is the first change since the last
        :meth:`drain` (a batch is then to be started)."""
        if type(event) is DriverMoved:  # nearly every event: a fix
            with self._lock:
                was_empty = not (self._moves or self._drivers or self._orders)
                self._moves[event.driver_id] = event.position
                return was_empty
        moved: tuple[str, LatLng] | None = None
        drivers: tuple[str | None, ...] = ()
        orders: tuple[str, ...] = ()
        match event:
            case DriverMoved():
                moved = (event.driver_id, event.position)
            case (
                DriverWentOnline()
                | DriverWentOffline()
                | DriverWentSilent()
                | DriverSuspensionChanged()
            ):
                drivers = (event.driver_id,)
            case OrderCreated() | SearchStarted() | NoDriverFound():
                orders = (event.order_id,)
            case (
                OfferSent()
                | OfferWithdrawn()
                | OfferRejected()
                | OfferExpired()
                | DriverWithdrew()
                | BidSubmitted()
                | BidAccepted()
                | DriverAssigned()
                | DriverArrived()
                | TripStarted()
                | TripCompleted()
            ):
                drivers, orders = (event.driver_id,), (event.order_id,)
            case OrderCancelled() | OrderStepped():
                drivers, orders = (event.driver_id,), (event.order_id,)
            case RatingGiven():
                # A driver's rating may block him (or lift the block).
                drivers = (event.about_id,) if event.by_role == "customer" else ()
            case DriverLocated() | DriverArriving() | PriceChanged():
                pass  # the position comes with DriverMoved; a price is not on the map
            case _:
                assert_never(event)
        with self._lock:
            was_empty = not (self._moves or self._drivers or self._orders)
            if moved is not None:
                self._moves[moved[0]] = moved[1]
            self._drivers.update(d for d in drivers if d is not None)
            self._orders.update(orders)
            return was_empty and bool(self._moves or self._drivers or self._orders)

    def drain(self) -> Pending:
        """What was recorded since the last drain, forgotten here."""
        with self._lock:
            pending = Pending(self._moves, frozenset(self._drivers), frozenset(self._orders))
            self._moves, self._drivers, self._orders = {}, set(), set()
        return pending


def map_update(pending: Pending, service: DispatchService) -> MapUpdateMessage | None:
    """The message of a batch: the drivers and orders whose state may have changed read
    again (those offline or ended: gone), the others' moves as they are; ``None`` when
    nothing changed."""
    if pending.is_empty:
        return None
    now = service.clock.now()
    known: dict[str, Order | None] = {}
    for order_id in sorted(pending.orders):
        try:
            known[order_id] = service.orders.get(order_id)
        except NotFound:
            known[order_id] = None
    silent_before = service.settings.heard_since(now)
    drivers: list[MapDriverView] = []
    gone_drivers: list[str] = []
    for driver_id in sorted(pending.drivers):
        try:
            status = service.drivers.get(driver_id)
        except NotFound:
            status = None
        if status is None or not status.online:
            gone_drivers.append(driver_id)
        else:
            drivers.append(_driver_on_map(status, known, service.orders, silent_before))
    orders: list[MapOrderView] = []
    gone_orders: list[str] = []
    for order_id in sorted(pending.orders):
        order = known[order_id]
        if order is not None and order.is_active:
            orders.append(map_order_view(order))
        else:
            gone_orders.append(order_id)
    return MapUpdateMessage(
        at=now,
        moves=tuple(
            (driver_id, round(p.lat, _DECIMALS), round(p.lng, _DECIMALS))
            for driver_id, p in pending.moves.items()
            if driver_id not in pending.drivers
        ),
        drivers=tuple(drivers),
        gone_drivers=tuple(gone_drivers),
        orders=tuple(orders),
        gone_orders=tuple(gone_orders),
    )


class LiveMapFeed(BatchThread):
    """Batches of the map's changes, read and published from a thread of their own.

    ``service`` is the service, or a function giving it (a host that
    rebuilds its service); subscribe :meth:`record` to every service whose
    events belong on the map.  The first change after a quiet spell starts a
    window of ``window_s`` seconds; at its end the thread builds one
    :class:`~vtc_dispatch.presentation.MapUpdateMessage` of everything
    recorded (:func:`map_update`) and hands it to ``publish``, then the next
    window starts if changes came meanwhile: at most one message per window
    however many drivers move.  A batch that cannot be read or published is
    logged and dropped (the next positions and the next snapshot repair the
    map).  ``after_flush`` is called in the thread after each batch (a host
    frees what the thread holds there, such as its database connection).
    :meth:`~vtc_dispatch.batching.BatchThread.close` publishes what was
    recorded, then stops the thread.
    """

    def __init__(
        self,
        service: DispatchService | Callable[[], DispatchService],
        publish: Callable[[MapUpdateMessage], None],
        *,
        window_s: float = 0.5,
        after_flush: Callable[[], None] | None = None,
    ) -> None:
        self.window_s = window_s
        self._service = service_getter(service)
        self._publish = publish
        self._after_flush = after_flush
        self._changes = MapChanges()
        self._pending = False
        super().__init__("vtc-live-map")

    @property
    def window_s(self) -> float:
        """How long changes are gathered into one message (may be changed while it runs:
        from the next window on)."""
        return self._window_s

    @window_s.setter
    def window_s(self, window_s: float) -> None:
        self._window_s = check_window(window_s, 60)

    def record(self, event: Event) -> None:
        """The service's listener: note the event for the next batch."""
        if self._changes.note(event):
            with self._wake:
                self._pending = True
                self._wake.notify()

    def flush(self) -> MapUpdateMessage | None:
        """Build and publish the batch of what was recorded so far (the thread does it at
        the end of each window); the message published, ``None`` when nothing changed."""
        update = map_update(self._changes.drain(), self._service())
        if update is not None:
            self._publish(update)
        return update

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending or self._closing)
                if not self._closing:
                    # The window: what comes meanwhile joins this batch.
                    self._wake.wait_for(lambda: self._closing, timeout=self.window_s)
                closing, self._pending = self._closing, False
            try:
                self.flush()
            except Exception:  # the feed must outlive a lost database or layer
                _log.exception("the live map's batch could not be read or published")
            if self._after_flush is not None:
                try:
                    self._after_flush()
                except Exception:
                    _log.exception("after_flush of a LiveMapFeed failed")
            if closing:
                return


def _operator_order(order: Order, operator: Actor, service: DispatchService) -> OperatorOrderView:
    driver = None if order.driver_id is None else service.driver_card(order.driver_id)
    view = order_view(order, operator, driver=driver)
    assert isinstance(view, OperatorOrderView)
    return view


def driver_details(service: DispatchService, operator_id: str, driver_id: str) -> MapDriverDetails:
    """A driver as the live map shows him when clicked, for the operator ``operator_id``:
    :class:`~vtc_dispatch.errors.NotFound` for a driver never seen online."""
    operator = Actor.operator(operator_id)
    state = service.driver_state(driver_id)
    status = state.status
    if status is None:
        raise NotFound(f"no driver {shown(driver_id)}")
    order = state.order
    named = order if order is not None and order.id == status.order_id else None
    silent_before = service.settings.heard_since(service.clock.now())
    return MapDriverDetails(
        driver=driver_view(status, service.driver_card(driver_id)),
        state=driver_map_state(status, named, silent_before=silent_before).value,
        order=None if order is None else _operator_order(order, operator, service),
        route=None if order is None else service.route(operator, order.id),
    )


def order_details(service: DispatchService, operator_id: str, order_id: str) -> MapOrderDetails:
    """An order as the live map shows it when clicked, for the operator ``operator_id``
    (:class:`~vtc_dispatch.errors.NotFound` for an unknown order)."""
    operator = Actor.operator(operator_id)
    order = service.get_order(operator, order_id)
    driver = None
    if order.driver_id is not None:
        try:
            status = service.drivers.get(order.driver_id)
        except NotFound:
            pass
        else:
            driver = driver_view(status, service.driver_card(order.driver_id))
    return MapOrderDetails(
        order=_operator_order(order, operator, service),
        driver=driver,
        route=service.route(operator, order.id),
    )
