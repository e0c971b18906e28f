"""What every command component reads: the stores, the pricing, the settings, the pool.

A component's command returns a :class:`Decision` (its answer and its
change set) and writes nothing; the service commits the change set.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

import attrs

from vtc_dispatch._records import evolve, slot_copier
from vtc_dispatch.changes import ChangeSet, DriverWrite
from vtc_dispatch.errors import Forbidden, NotFound, shown
from vtc_dispatch.fsm import Role
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import Actor, DriverCard, DriverStatus, Order, OrderKind, RideProgress
from vtc_dispatch.pool import (
    DistanceRanker,
    EtaRanker,
    PoolConfig,
    PoolSettings,
    Ranker,
    ScoredRanker,
)
from vtc_dispatch.ports import (
    Clock,
    DriverProfiles,
    DriverRegistry,
    OrderRepository,
    ProgressStore,
    QuoteBook,
    RatingStore,
    RideReader,
    StatsStore,
    Wallet,
)
from vtc_dispatch.pricing.engine import Pricer
from vtc_dispatch.settings import ServiceSettings
from vtc_dispatch.tracking import eta_s

__all__ = ["Context", "Decision"]

DISTANCE_FIRST = DistanceRanker()


@attrs.frozen
class Decision:
    """A command's answer and everything it writes."""

    result: Order | None
    changes: ChangeSet = attrs.field(factory=ChangeSet)

    @classmethod
    def of_drivers(cls, writes: tuple[DriverWrite, ...]) -> Decision:
        """``Decision(None, ChangeSet(drivers=writes))``, built for less: every fix makes one."""
        return _with_changes(_NO_RESULT, ChangeSet.of_drivers(writes))


_NO_RESULT = Decision(None)
_with_changes = slot_copier(Decision, "changes")


@attrs.define
class Context:
    """The collaborators of the commands (built once by the service)."""

    pricer: Pricer
    settings: ServiceSettings
    pool: PoolConfig
    orders: OrderRepository
    drivers: DriverRegistry
    progress: ProgressStore
    wallet: Wallet
    stats: StatsStore
    ratings: RatingStore
    quotes: QuoteBook
    clock: Clock
    rides: RideReader
    profiles: DriverProfiles
    ranker: Ranker | None = None
    new_order_id: Callable[[], str] = attrs.field(
        factory=lambda: lambda: f"ord-{uuid.uuid4().hex[:16]}"
    )
    new_code: Callable[[], str] = attrs.field(
        factory=lambda: lambda: f"{secrets.randbelow(1_000_000):06d}"
    )
    """A receiver's code for a proof of delivery (six digits)."""
    _speeds: dict[str, float] = attrs.field(factory=dict)

    def pool_settings(self, order: Order, now: datetime) -> PoolSettings:
        """The pool settings of the order's city and vehicle type at ``now`` (the city's
        local hour, when some override names hours; the kind's default mode unless the
        configuration names one)."""
        city = order.quote.city
        hour = self.pricer.local_time(city, now).hour if self.pool.by_hour else None
        return self.pool.settings_for(city, order.vehicle_type, order.spec.default_mode, hour=hour)

    def kind_of(self, vehicle_type: str) -> OrderKind:
        """The kind of the orders of ``vehicle_type`` (the pricing configuration's).

        An unknown type reads as a ride: pricing it refuses it, with the error
        callers already handle (:class:`~vtc_dispatch.errors.PricingUnavailable`)."""
        configured = self.pricer.config.vehicle_types.get(vehicle_type)
        return OrderKind.RIDE if configured is None else OrderKind(configured.kind)

    def card(self, driver_id: str, status: DriverStatus | None = None) -> DriverCard:
        """The driver's card from the host's profiles, with his rating (from ``status``
        when the caller read it)."""
        card = self.profiles.card(driver_id) or DriverCard(driver_id)
        if status is None:
            try:
                status = self.drivers.get(driver_id)
            except NotFound:
                return card
        return evolve(card, rating=status.rating)

    def heard_since(self, now: datetime) -> datetime | None:
        """Drivers last heard from before this are silent (``None``: presence not checked)."""
        return self.settings.heard_since(now)

    def ranker_for(self, order: Order, settings: PoolSettings) -> Ranker:
        """The ranker the settings name (or the one the service was given)."""
        if self.ranker is not None:
            return self.ranker
        if settings.ranking == "eta":
            return EtaRanker(self.pricer.route_estimator(order.quote.city))
        if settings.ranking == "scored":
            return ScoredRanker(self.stats)
        return DISTANCE_FIRST

    def speed_kmh(self, city_id: str) -> float:
        """The city's average speed (cached: the pricing configuration is fixed)."""
        speed = self._speeds.get(city_id)
        if speed is None:
            speed = self._speeds[city_id] = self.pricer.config.cities[city_id].average_speed_kmh
        return speed

    def eta_s(self, order: Order, distance_km: float) -> float:
        """Seconds to cover ``distance_km`` in the order's city."""
        return self.eta_s_in(order.quote.city, distance_km)

    def eta_s_in(self, city_id: str, distance_km: float) -> float:
        """Seconds to cover ``distance_km`` in ``city_id``."""
        return eta_s(distance_km, self.speed_kmh(city_id))

    def owned(
        self, actor: Actor, order_id: str, *, offered: bool = False, kept: bool = False
    ) -> Order:
        """The order, if ``actor`` may see it: its customer, its driver, an overseer
        (with ``offered``, also a driver it is offered to).

        Refused unless one of these holds (deny by default).  ``kept``: the
        order may be as this process last stored it (:meth:`RideReader.order
        <vtc_dispatch.ports.RideReader.order>`), for a command that writes it
        from that version.
        """
        order = self.rides.order(order_id) if kept else self.orders.get(order_id)
        if offered and actor.role == Role.DRIVER:
            offer = order.offer_to(actor.id)
            if offer is not None and offer.shown:
                return order
        if actor.oversees:
            return order
        if actor.role == Role.CUSTOMER:
            if order.customer_id == actor.id:
                return order
            raise Forbidden(f"customer {shown(actor.id)} does not own order {shown(order_id)}")
        if actor.role == Role.DRIVER and order.driver_id == actor.id:
            return order
        if actor.role == Role.MERCHANT:
            if order.merchant_id is not None and order.merchant_id == actor.id:
                return order
            raise Forbidden(f"merchant {shown(actor.id)} does not own order {shown(order_id)}")
        raise Forbidden(
            f"{actor.role} {shown(actor.id)} is not the driver of order {shown(order_id)}"
        )

    def assigned(self, driver_id: str, order_id: str) -> Order:
        """The order, if ``driver_id`` is its driver."""
        order = self.orders.get(order_id)
        if order.driver_id != driver_id:
            raise Forbidden(
                f"driver {shown(driver_id)} is not the driver of order {shown(order_id)}"
            )
        return order

    def assigned_ride(
        self, driver_id: str, order_id: str
    ) -> tuple[DriverStatus, Order, RideProgress]:
        """The driver, the order he drives and its progress: one read while he holds it."""
        status, order, progress = self.rides.ride_of(driver_id)
        if order is None or order.id != order_id or progress is None:
            order = self.assigned(driver_id, order_id)  # or the error saying why not
            progress = self.progress.get(order.id)
        return status, order, progress

    def payment_methods(self, at: LatLng) -> tuple[str, ...]:
        """Payment methods enabled where ``at`` is (its city's country)."""
        city = self.pricer.config.cities[self.pricer.city_at(at)]
        return self.settings.methods_for(city.country)

    def vehicle_type(self, vehicle_type: str) -> str:
        """``vehicle_type`` if configured, else NotFound naming it."""
        if (
            not isinstance(vehicle_type, str)
            or vehicle_type not in self.pricer.config.vehicle_types
        ):
            raise NotFound(f"unknown vehicle type {shown(vehicle_type)}")
        return vehicle_type
