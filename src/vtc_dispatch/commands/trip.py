"""The ride once a driver has it: positions, arrival, the trip, its end, cancellation, ratings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from vtc_dispatch._records import evolve, slot_builder
from vtc_dispatch.changes import (
    ChangeSet,
    DriverPositioned,
    DriverRated,
    DriverSeen,
    DriverWrite,
    OrderWrite,
    ProgressWrite,
    RatingIncrement,
    Reservation,
    RideRead,
    StatIncrement,
    WalletCapture,
    WalletOp,
    WalletRelease,
)
from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.commands.dispatching import Dispatching, step_changes
from vtc_dispatch.errors import AlreadyDone, Forbidden, InvalidTransition, shown
from vtc_dispatch.events import (
    DriverArrived,
    DriverArriving,
    DriverLocated,
    DriverWithdrew,
    Event,
    OrderCancelled,
    PriceChanged,
    RatingGiven,
    SearchStarted,
    TripCompleted,
    TripStarted,
)
from vtc_dispatch.events import OfferWithdrawn as OfferWithdrawnEvent
from vtc_dispatch.fsm import RideEvent, RideState, Role
from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.order import (
    DRIVING_STATES,
    FIX_ACCEPTED,
    Actor,
    Cancellation,
    DriverStatus,
    Fix,
    Order,
    PaymentStatus,
    PositionAnswer,
    ProofOfDelivery,
    Rating,
    RideProgress,
)
from vtc_dispatch.pricing.quote import BreakdownLine, FinalFare
from vtc_dispatch.tracking import Flag, Track, TrackPoint, location_due, off_corridor

if TYPE_CHECKING:
    from vtc_dispatch.ports import Ride

__all__ = ["Trip"]

_FEE_ROLES: dict[str, Literal["customer", "driver", "operator"]] = {
    "customer": "customer",
    "driver": "driver",
}
"""Cancellation fee policy by role; the operator's rule applies to the system too."""


def _settling(order: Order, due: Decimal) -> tuple[PaymentStatus, tuple[WalletOp, ...]]:
    """The payment of an order that ends owing ``due``: what the wallet does with its hold."""
    if order.wallet_hold is None:
        return (PaymentStatus.PENDING if due else order.payment_status), ()
    op: WalletOp = (
        WalletCapture(f"capture-{order.id}", order.wallet_hold, order.id, due)
        if due
        else WalletRelease(f"release-{order.id}", order.wallet_hold, order.id)
    )
    return PaymentStatus.SETTLING, (op,)


_INACCURATE = PositionAnswer(False, Flag.INACCURATE.value)
_DISPATCH = Actor(Role.SYSTEM, "dispatch")
_RESYNCED = PositionAnswer(True, None, True)


def _read(order: Order, progress: RideProgress) -> RideRead:
    # The driver's position and the ride's state come from one read: the
    # commit checks both versions, so a reader may answer from what it saw last.
    return RideRead(order.id, order.version, progress.version)


def _off_ride(
    driver_id: str, position: LatLng, now: datetime, inaccurate: bool
) -> tuple[DriverWrite, PositionAnswer]:
    """The write and answer of a fix from a driver on no ride: he is there now (heard
    from only, when the fix is too inaccurate to move him)."""
    if inaccurate:
        return DriverSeen(driver_id, now), _INACCURATE
    return _positioned(driver_id, position, now), FIX_ACCEPTED


_positioned = slot_builder(DriverPositioned)
"""``DriverPositioned(driver_id, position, at)``, made by most fixes: built by slot."""


class Trip:
    """The assigned ride's commands (see the module's documentation)."""

    def __init__(self, context: Context, dispatching: Dispatching) -> None:
        self.ctx = context
        self.dispatching = dispatching

    def position(
        self,
        driver_id: str,
        position: LatLng,
        at: datetime,
        accuracy_m: float | None,
        now: datetime,
        ride: Ride | None = None,
    ) -> tuple[Decision, Order | None, PositionAnswer]:
        """A fix: the driver's position, and the ride's progress when he is on one.

        Returns the decision, the order he is on (if any) and the fix's answer.
        A refused fix still says he is there: his presence is renewed.
        ``ride``: the driver and his ride as just read (a batch reads them all
        at once), else read here.
        """
        status, order, progress = self.ctx.rides.ride_of(driver_id) if ride is None else ride
        if not status.online:
            return (
                Decision(None),
                order,
                PositionAnswer(False, "offline", False, status.offline_reason),
            )
        inaccurate = accuracy_m is not None and accuracy_m > self.ctx.settings.accuracy_max_m
        if order is None or progress is None or order.state not in DRIVING_STATES:
            seen, answer = _off_ride(driver_id, position, now, inaccurate)
            return Decision.of_drivers((seen,)), order, answer
        write, events, point, resynced = self._record(
            order, progress, status, position, at, now, inaccurate
        )
        if point.accepted:
            moved: DriverWrite = DriverPositioned(driver_id, position, now)
            answer = _RESYNCED if resynced else FIX_ACCEPTED
        else:
            moved = DriverSeen(driver_id, now)
            answer = PositionAnswer(False, None if point.flag is None else point.flag.value)
        return (
            Decision(
                None,
                ChangeSet(
                    drivers=(moved,),
                    progress=(write,),
                    events=tuple(events),
                    reads=(_read(order, progress),),
                ),
            ),
            order,
            answer,
        )

    def positions(
        self, fixes: Sequence[tuple[Fix, Ride]], now: datetime
    ) -> tuple[Decision, list[PositionAnswer], list[Order | None]]:
        """Fixes of distinct drivers, each with the driver and his ride as read: one
        decision for all, as :meth:`position` decides each (and each one's answer and
        order)."""
        accuracy_max = self.ctx.settings.accuracy_max_m
        off_ride: list[DriverWrite] = []
        on_ride: list[ChangeSet] = []
        answers: list[PositionAnswer] = []
        orders: list[Order | None] = []
        for fix, ride in fixes:
            status, order, progress = ride
            orders.append(order)
            accuracy = fix.accuracy_m
            if not status.online:
                answers.append(PositionAnswer(False, "offline", False, status.offline_reason))
            elif order is None or progress is None or order.state not in DRIVING_STATES:
                # Most fixes of a city: a write each, no change set of their own.
                inaccurate = accuracy is not None and accuracy > accuracy_max
                write, answer = _off_ride(fix.driver_id, fix.position, now, inaccurate)
                off_ride.append(write)
                answers.append(answer)
            else:
                at = now if fix.at is None else fix.at
                decision, _, answer = self.position(
                    fix.driver_id, fix.position, at, accuracy, now, ride
                )
                on_ride.append(decision.changes)
                answers.append(answer)
        changes = ChangeSet.combine([ChangeSet(drivers=tuple(off_ride)), *on_ride])
        return Decision(None, changes), answers, orders

    def _record(
        self,
        order: Order,
        progress: RideProgress,
        status: DriverStatus,
        position: LatLng,
        at: datetime,
        now: datetime,
        inaccurate: bool,
    ) -> tuple[ProgressWrite, list[Event], TrackPoint, bool]:
        """The fix added to the ride's progress; the customer told when it is due.

        Also says whether the fix resynchronised the track (accepted with the jumps
        before it)."""
        settings = self.ctx.settings
        events: list[Event] = []
        on_trip = order.phase == RideState.IN_PROGRESS
        before = progress.trip if on_trip else progress.approach
        if inaccurate:
            track, point = before.set_aside(position, at, Flag.INACCURATE)
        else:
            # Before his first fix on the way, he is where he accepted from.
            anchor = TrackPoint(status.position, status.updated_at) if before.last is None else None
            track, point = before.add(position, at, received_at=now, anchor=anchor)
        route_changed = progress.route_changed
        last_sent = progress.last_location_sent_at
        arriving_sent = progress.arriving_sent
        if point.accepted:
            assert order.driver_id is not None
            remaining = haversine_km(position, order.dropoff if on_trip else order.pickup)
            eta = self.ctx.eta_s(order, remaining)
            if (
                on_trip
                and not route_changed  # once off the corridor, the ride stays "changed"
                and off_corridor(position, order.pickup, order.dropoff, settings.corridor_km)
            ):
                route_changed = True
            if location_due(last_sent, now, settings.location_interval_s):
                last_sent = now
                events.append(
                    DriverLocated(order.id, order.driver_id, order.customer_id, position, eta, now)
                )
            if (
                order.phase == RideState.ACCEPTED
                and not arriving_sent
                and remaining <= settings.arriving_km
            ):
                arriving_sent = True
                events.append(
                    DriverArriving(
                        order.id, order.driver_id, order.customer_id, remaining, eta, now
                    )
                )
        written = evolve(
            progress,
            trip=track if on_trip else progress.trip,
            approach=progress.approach if on_trip else track,
            route_changed=route_changed,
            last_location_sent_at=last_sent,
            arriving_sent=arriving_sent,
            version=progress.version + 1,
        )
        resynced = track.accepted_count > before.accepted_count + 1
        return ProgressWrite(written, progress.version), events, point, resynced

    def arrived(
        self, driver_id: str, order_id: str, operator_id: str | None, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.arrived`."""
        ctx = self.ctx
        status, order, progress = ctx.assigned_ride(driver_id, order_id)
        if operator_id is None and order.phase == RideState.ACCEPTED:
            km = haversine_km(status.position, order.pickup)
            if km > ctx.settings.arrive_radius_km:
                raise InvalidTransition(
                    order_id,
                    RideEvent.ARRIVE,
                    order.state,
                    f"the driver is {km * 1000:.0f} m from the pickup; arrival counts within"
                    f" {ctx.settings.arrive_radius_km * 1000:.0f} m",
                )
        role = "driver" if operator_id is None else "operator"
        lifecycle = order.lifecycle.fire(
            RideEvent.ARRIVE, actor=role, at=now, actor_id=operator_id or driver_id
        )
        arrived = evolve(order, lifecycle=lifecycle)
        return Decision(
            arrived,
            ChangeSet(
                orders=(OrderWrite(arrived, order.version),),
                events=(DriverArrived(order.id, driver_id, order.customer_id, now),),
                reads=(_read(order, progress),),
            ),
        )

    def start(self, driver_id: str, order_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.start_trip`."""
        ctx = self.ctx
        status, order, progress = ctx.assigned_ride(driver_id, order_id)
        lifecycle = order.lifecycle.fire(
            RideEvent.START, actor="driver", at=now, actor_id=driver_id
        )
        trip, _ = Track(policy=ctx.settings.track_policy()).add(status.position, now)
        started = evolve(order, lifecycle=lifecycle)
        return Decision(
            started,
            ChangeSet(
                orders=(OrderWrite(started, order.version),),
                progress=(ProgressWrite(evolve(progress, trip=trip), progress.version),),
                events=(TripStarted(order.id, driver_id, order.customer_id, now),),
                reads=(_read(order, progress),),
            ),
        )

    def complete(
        self,
        driver_id: str,
        order_id: str,
        supplements: Sequence[str],
        now: datetime,
        *,
        proof: ProofOfDelivery | None = None,
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.complete_trip`; with ``proof``,
        the delivery of a freight load or a parcel (its ``deliver`` event, the proof kept)."""
        ctx = self.ctx
        status, order, progress = ctx.assigned_ride(driver_id, order_id)
        if proof is None:
            lifecycle = order.lifecycle.fire(
                RideEvent.COMPLETE, actor="driver", at=now, actor_id=driver_id
            )
        else:
            lifecycle = order.lifecycle.fire(
                "deliver",
                actor="driver",
                at=now,
                context={"proof_of_delivery": proof},
                actor_id=driver_id,
            )
        position = status.position
        trip = progress.trip
        if trip.last is None or trip.last.position != position:
            trip, _ = trip.add(position, now)
        started = order.time_in_phase(RideState.IN_PROGRESS)
        arrived = order.time_in_phase(RideState.ARRIVED)
        assert started is not None
        assert arrived is not None
        end = trip.last.position if trip.last is not None else position
        route_changed = (
            progress.route_changed or haversine_km(end, order.dropoff) > ctx.settings.corridor_km
        )
        fare = self._final_fare(
            order,
            distance_km=trip.distance_km,
            duration_min=(now - started).total_seconds() / 60.0,
            waiting_min=(started - arrived).total_seconds() / 60.0,
            supplements=supplements,
            route_changed=route_changed,
            at=now,
        )
        # The fare's history starts with the order's; only what follows is new.
        new_prices = fare.changes[len(order.price_history) :]
        payment, wallet = _settling(order, fare.amount)
        if order.wallet_hold is None:
            payment = PaymentStatus.PENDING
        done = evolve(
            order,
            lifecycle=lifecycle,
            approach=progress.approach,
            trip=trip,
            route_changed=route_changed,
            final_fare=fare,
            price_history=order.price_history + new_prices,
            payment_status=payment,
            proof=proof,
        )
        return Decision(
            done,
            ChangeSet(
                orders=(OrderWrite(done, order.version),),
                release=(Reservation(driver_id, order.id),),
                discard_progress=(order.id,),
                wallet=wallet,
                events=(
                    *(PriceChanged(order.id, change) for change in new_prices),
                    TripCompleted(order.id, driver_id, order.customer_id, fare, now),
                ),
                reads=(_read(order, progress),),
            ),
        )

    def _final_fare(
        self,
        order: Order,
        *,
        distance_km: float,
        duration_min: float,
        waiting_min: float,
        supplements: Sequence[str],
        route_changed: bool,
        at: datetime,
    ) -> FinalFare:
        """The pricing policy's final fare, or the accepted bid as it is."""
        if order.agreed_price is None:
            return self.ctx.pricer.final_fare(
                order.quote,
                distance_km=distance_km,
                duration_min=duration_min,
                waiting_min=waiting_min,
                supplements=supplements,
                route_changed=route_changed,
                at=at,
            )
        quote = order.quote
        return FinalFare(
            amount=order.agreed_price,
            currency=quote.currency,
            vehicle_type=quote.vehicle_type,
            city=quote.city,
            reason="agreed_bid",
            breakdown=(BreakdownLine("agreed_bid", "Agreed price", order.agreed_price),),
            rules_applied=("agreed_bid",),
            distance_km=Decimal(f"{distance_km:.3f}"),
            duration_min=Decimal(f"{duration_min:.2f}"),
            changes=order.price_history,
        )

    def settle(self, order_id: str) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.settle_payment`."""
        order = self.ctx.orders.get(order_id)
        if order.payment_status != PaymentStatus.SETTLING or order.wallet_hold is None:
            return Decision(order)
        due = order.amount_due
        assert due is not None  # SETTLING: the order ended
        _, wallet = _settling(order, due)
        return Decision(order, ChangeSet(wallet=wallet))

    def cancel(self, actor: Actor, order_id: str, reason: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.cancel`."""
        ctx = self.ctx
        order = ctx.owned(actor, order_id)
        if (
            actor.role == "driver"
            and order.phase == RideState.ACCEPTED
            and ctx.pool_settings(order, now).on_driver_cancel == "requeue"
        ):
            return self._requeue(order, actor.id, reason, now)
        lifecycle = order.lifecycle.fire(
            RideEvent.CANCEL, actor=actor.role, at=now, reason=reason, actor_id=actor.id
        )
        fee = ctx.pricer.cancellation_fee(
            order.quote,
            cancelled_by=_FEE_ROLES.get(actor.role, "operator"),
            cancelled_at=now,
            accepted_at=order.time_in_phase(RideState.ACCEPTED),
            arrived_at=order.time_in_phase(RideState.ARRIVED),
        ).amount
        payment, wallet = _settling(order, fee)
        freed = [o.driver_id for o in order.offers]
        if order.driver_id is not None:
            freed.append(order.driver_id)
        progress = ctx.progress.get(order.id)
        cancelled = evolve(
            order,
            lifecycle=lifecycle,
            offers=(),
            bids=(),
            window_at=None,
            approach=progress.approach,
            trip=progress.trip,
            cancellation=Cancellation(actor, reason, fee, now),
            payment_status=payment,
        )
        events: list[Event] = [
            OfferWithdrawnEvent(order.id, o.driver_id, "cancelled", now)
            for o in order.offers
            if o.shown
        ]
        events.append(
            OrderCancelled(
                order.id,
                order.customer_id,
                order.driver_id,
                actor.role,
                reason,
                fee,
                order.quote.currency,
                now,
            )
        )
        return Decision(
            cancelled,
            ChangeSet(
                orders=(OrderWrite(cancelled, order.version),),
                release=tuple(Reservation(d, order.id) for d in freed),
                discard_progress=(order.id,),
                wallet=wallet,
                events=tuple(events),
            ),
        )

    def close_unserved(self, unserved: Order, now: datetime) -> Decision:
        """The customer's order no driver took, cancelled by the system (no fee): a new
        order replaces it."""
        return self.cancel(_DISPATCH, unserved.id, "replaced by a new order", now)

    def _requeue(self, order: Order, driver_id: str, reason: str, now: datetime) -> Decision:
        """The driver who accepted withdraws: search again without them."""
        lifecycle = order.lifecycle.fire(RideEvent.REQUEUE, actor="system", at=now, reason=reason)
        searching = evolve(
            order,
            lifecycle=lifecycle,
            driver_id=None,
            tried=order.tried | {driver_id},
            offers_made=0,
        )
        step = self.dispatching.offer_next(searching, now)
        changes = step_changes(
            step,
            order,
            DriverWithdrew(order.id, driver_id, order.customer_id, reason, now),
            SearchStarted(order.id, now),
        )
        return Decision(
            step.order,
            evolve(
                changes,
                release=(Reservation(driver_id, order.id), *changes.release),
                stats=(StatIncrement(driver_id, "cancelled_after_accept", now), *changes.stats),
                discard_progress=(order.id,),
            ),
        )

    def rate(
        self, actor: Actor, order_id: str, stars: int, comment: str | None, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.rate`."""
        if actor.oversees:
            raise Forbidden(f"only the customer and the driver rate a ride, not a {actor.role}")
        # Rated just after it ended: the process that ended it may still have it.
        order = self.ctx.owned(actor, order_id, kept=True)
        if order.phase != RideState.DONE:
            raise InvalidTransition(order_id, "rate", order.state, "only a done ride is rated")
        if any(r.by.role == actor.role for r in order.ratings):
            raise AlreadyDone(f"the {actor.role} already rated order {shown(order_id)}")
        assert order.driver_id is not None
        about = order.driver_id if actor.role == "customer" else order.customer_id
        rated = evolve(order, ratings=(*order.ratings, Rating(actor, about, stars, comment, now)))
        settings = self.ctx.settings
        return Decision(
            rated,
            ChangeSet(
                orders=(OrderWrite(rated, order.version),),
                drivers=(
                    (
                        DriverRated(
                            about, stars, settings.rating_min_count, settings.rating_threshold
                        ),
                    )
                    if actor.role == "customer"
                    else ()
                ),
                ratings=() if actor.role == "customer" else (RatingIncrement(about, stars),),
                events=(RatingGiven(order_id, actor.role, actor.id, about, stars, comment, now),),
            ),
        )
