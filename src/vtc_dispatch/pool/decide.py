"""The pool's decisions as pure code: who gets the next offer, and what each answer does.

Every function here takes an order, what was read for it (the candidates
found around the pickup, the pool settings, the time) and returns a
:class:`Step`: the order's next version and what goes with it (drivers to
reserve and to free, statistics, events).  Nothing here reads or writes a
store or a clock; the service turns steps into one change set and commits it.

A sequential search in three steps: the offer, a refusal, the next offer.

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.fsm import RIDE, RideEvent
>>> from vtc_dispatch.order import Order
>>> from vtc_dispatch.pool import PoolSettings
>>> from vtc_dispatch.pool.ranking import Candidate, DistanceRanker
>>> from vtc_dispatch.pricing import Pricer, douala_config
>>> t0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
>>> akwa, deido = LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250)
>>> quote = Pricer(douala_config()).quote(akwa, deido, "taxi_jaune", t0)
>>> lifecycle = RIDE.start("o-1", t0).fire(RideEvent.SEARCH, actor="customer", at=t0)
>>> order = Order("o-1", "c-1", "taxi_jaune", akwa, deido, "CASH", quote, lifecycle, t0)
>>> near = [Candidate("amadou", 0.4, order.pickup), Candidate("binta", 0.9, order.pickup)]
>>> step = offer_next(order, near, PoolSettings(), DistanceRanker(), t0)
>>> step.order.offered_to, [r.driver_id for r in step.reserve], step.order.offers_made
('amadou', ['amadou'], 1)
>>> step = drop_offer(step.order, "amadou", t0, expired=False)
>>> step.order.offers, step.needs_offer, [r.driver_id for r in step.release]
((), True, ['amadou'])
>>> offer_next(step.order, near[1:], PoolSettings(), DistanceRanker(), t0).order.offered_to
'binta'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import Reservation, StatIncrement
from vtc_dispatch.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    OfferExpired,
    OfferWithdrawn,
    shown,
)
from vtc_dispatch.events import (
    BidAccepted,
    DriverAssigned,
    Event,
    NoDriverFound,
    OfferRejected,
    OfferSent,
    PriceChanged,
)
from vtc_dispatch.events import OfferExpired as OfferExpiredEvent
from vtc_dispatch.events import OfferWithdrawn as OfferWithdrawnEvent
from vtc_dispatch.fsm import RideEvent, RideState
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import DriverCard, LiveOffer, Order
from vtc_dispatch.pool.config import PoolSettings
from vtc_dispatch.pool.ranking import Candidate, Ranker
from vtc_dispatch.pricing.quote import PriceChange

__all__ = [
    "Step",
    "accept_bid",
    "advance",
    "assign",
    "check_answer",
    "drop_offer",
    "first_step",
    "offer_next",
    "search_deadline",
    "search_room",
    "withdraw_offer",
]


@attrs.frozen
class Step:
    """The order's next version and what goes with it."""

    order: Order
    reserve: tuple[Reservation, ...] = ()
    release: tuple[Reservation, ...] = ()
    stats: tuple[StatIncrement, ...] = ()
    events: tuple[Event, ...] = ()
    handled: int = 0
    """Offers shown or expired (what ``expire_due`` counts)."""

    @property
    def needs_offer(self) -> bool:
        """The order still searches and holds no offer: the next one must be made."""
        return self.order.phase == RideState.SEARCHING and not self.order.offers

    def then(self, later: Step) -> Step:
        """This step followed by ``later`` (whose order is the newer version)."""
        return Step(
            later.order,
            self.reserve + later.reserve,
            self.release + later.release,
            self.stats + later.stats,
            self.events + later.events,
            self.handled + later.handled,
        )


def search_room(order: Order, settings: PoolSettings) -> int:
    """How many offers the next round may make (0: the search is over by count)."""
    room = {
        "sequential": 1,
        "batch": settings.batch_size,
        "bidding": settings.bidders,
        "matching": 1,
    }[settings.mode]
    if settings.max_offers is not None:
        room = min(room, settings.max_offers - order.offers_made)
    return max(room, 0)


def search_deadline(order: Order, settings: PoolSettings) -> datetime:
    """When the whole search gives up."""
    started = order.time_in_phase(RideState.SEARCHING)
    assert started is not None
    return started + timedelta(seconds=settings.search_timeout_s)


def first_step(
    found: Sequence[tuple[str, float]], radii: Sequence[float]
) -> list[tuple[str, float]]:
    """The drivers of ``found`` (nearest first) within the first radius step that holds any.

    One query at the widest radius finds them: the nearest within a smaller
    radius are exactly those of them that lie within it.

    >>> first_step([("a", 2.5), ("b", 3.4), ("c", 6.0)], [3.0, 4.0, 5.0, 10.0])
    [('a', 2.5)]
    >>> first_step([("c", 6.0)], [3.0, 10.0]), first_step([], [3.0])
    ([('c', 6.0)], [])
    """
    if not found:
        return []
    radius = next(r for r in radii if found[0][1] <= r)
    return [(driver_id, km) for driver_id, km in found if km <= radius]


def offer_next(
    order: Order,
    candidates: Sequence[Candidate],
    settings: PoolSettings,
    ranker: Ranker,
    now: datetime,
) -> Step:
    """Offer ``order`` to the best ranked ``candidates`` (found within the current radius).

    No candidate, no room left or the search's time over: NO_DRIVER.
    Sequential mode makes one offer, batch mode ``batch_size`` (shown
    ``stagger_s`` apart), bidding mode invites ``bidders``.
    """
    deadline = search_deadline(order, settings)
    room = search_room(order, settings)
    wait = timedelta(
        seconds=settings.bidding_window_s
        if settings.mode == "bidding"
        else settings.max_waiting_time_s
    )
    offers: list[LiveOffer] = []
    if now < deadline and room > 0:
        for candidate, _ in ranker.rank(order.pickup, list(candidates), now):
            shown_at = now + timedelta(seconds=settings.stagger_s * len(offers))
            if len(offers) == room or shown_at >= deadline:
                break
            offers.append(
                LiveOffer(
                    candidate.driver_id,
                    candidate.distance_km,
                    shown_at,
                    min(shown_at + wait, deadline),
                    shown=shown_at <= now,
                )
            )
    if not offers:
        lifecycle = order.lifecycle.fire(RideEvent.NO_DRIVER, actor="system", at=now)
        gave_up = evolve(order, lifecycle=lifecycle, offers=())
        return Step(gave_up, events=(NoDriverFound(order.id, order.customer_id, now),))
    offered = evolve(order, offers=tuple(offers), offers_made=order.offers_made + len(offers))
    shown = [o for o in offers if o.shown]
    return Step(
        offered,
        reserve=tuple(Reservation(o.driver_id, order.id) for o in offers),
        stats=tuple(StatIncrement(o.driver_id, "offered", now) for o in shown),
        events=tuple(offer_sent(offered, o, now) for o in shown),
    )


def offer_sent(order: Order, offer: LiveOffer, now: datetime) -> OfferSent:
    """The event of ``offer`` shown to its driver now."""
    quote = order.quote
    return OfferSent(
        order.id,
        offer.driver_id,
        order.pickup,
        order.dropoff,
        order.vehicle_type,
        quote.minimum,
        quote.maximum,
        quote.currency,
        offer.distance_km,
        (offer.expires_at - now).total_seconds(),
        offer.expires_at,
        now,
    )


def drop_offer(order: Order, driver_id: str, now: datetime, *, expired: bool) -> Step:
    """The driver refused, let the offer expire or left: free him, never offer him again.

    With no offer left the order :attr:`Step.needs_offer`.
    """
    dropped = evolve(
        order,
        offers=tuple(o for o in order.offers if o.driver_id != driver_id),
        bids=tuple(b for b in order.bids if b.driver_id != driver_id),
        tried=order.tried | {driver_id},
    )
    passed: Event = (
        OfferExpiredEvent(order.id, driver_id, now)
        if expired
        else OfferRejected(order.id, driver_id, now)
    )
    return Step(
        dropped,
        release=(Reservation(driver_id, order.id),),
        stats=(StatIncrement(driver_id, "expired" if expired else "refused", now),),
        events=(passed,),
        handled=1 if expired else 0,
    )


def withdraw_offer(order: Order, driver_id: str, now: datetime, reason: str) -> Step:
    """Take the driver's live offer back for ``reason`` (an operator suspended him):
    free him, never offer him again.  Not his refusal: his statistics stay as they are.

    With no offer left the order :attr:`Step.needs_offer`.
    """
    dropped = drop_offer(order, driver_id, now, expired=False)
    return evolve(
        dropped, stats=(), events=(OfferWithdrawnEvent(order.id, driver_id, reason, now),)
    )


def advance(order: Order, now: datetime) -> Step:
    """Show the staggered offers that are due and drop the expired ones.

    A staggered offer whose whole answer time went by before it could be
    shown (the scheduler was late) is dropped unseen.
    """
    unseen = {o.driver_id for o in order.offers if not o.shown and o.expires_at <= now}
    reveal = {o.driver_id for o in order.offers if not o.shown and o.sent_at <= now} - unseen
    step = Step(order)
    if unseen or reveal:
        shown = evolve(
            order,
            offers=tuple(
                evolve(o, shown=True) if o.driver_id in reveal else o
                for o in order.offers
                if o.driver_id not in unseen
            ),
        )
        revealed = [o for o in shown.offers if o.driver_id in reveal]
        step = Step(
            shown,
            release=tuple(Reservation(d, order.id) for d in sorted(unseen)),
            stats=tuple(StatIncrement(o.driver_id, "offered", now) for o in revealed),
            events=tuple(offer_sent(shown, o, now) for o in revealed),
            handled=len(unseen) + len(reveal),
        )
    for offer in [o for o in step.order.offers if o.shown and o.expires_at <= now]:
        step = step.then(drop_offer(step.order, offer.driver_id, now, expired=True))
    return step


def check_answer(order: Order, driver_id: str, now: datetime) -> LiveOffer:
    """The live, shown offer ``driver_id`` answers, or the typed error saying why there is none."""
    offer = order.offer_to(driver_id)
    if offer is None or not offer.shown:
        if order.driver_id is not None and order.driver_id != driver_id:
            raise OfferWithdrawn(f"order {shown(order.id)} went to another driver")
        if order.phase == RideState.CANCELLED:
            raise OfferWithdrawn(f"order {shown(order.id)} was cancelled")
        if driver_id in order.tried:
            raise OfferExpired(
                f"the offer of order {shown(order.id)} to driver {shown(driver_id)} is over"
            )
        raise Forbidden(f"driver {shown(driver_id)} holds no offer for order {shown(order.id)}")
    if now >= offer.expires_at:
        raise OfferExpired(
            f"the offer of order {shown(order.id)} to driver {shown(driver_id)} expired at"
            f" {offer.expires_at.isoformat()}"
        )
    return offer


def assign(
    order: Order,
    driver_id: str,
    position: LatLng,
    eta_s: float,
    now: datetime,
    *,
    price: Decimal | None = None,
    card: DriverCard | None = None,
) -> Step:
    """Give the order to ``driver_id`` (at ``price``: a bid, which he is told was taken);
    withdraw the other offers.

    ``card`` is who he is, for the customer's ``driver_assigned``.
    """
    lifecycle = order.lifecycle.fire(RideEvent.ACCEPT, actor="driver", at=now, actor_id=driver_id)
    others = [o.driver_id for o in order.offers if o.driver_id != driver_id]
    history = order.price_history
    if price is not None:
        history += (PriceChange(order.quote.estimate, price, "bid accepted", now),)
    assigned = evolve(
        order,
        lifecycle=lifecycle,
        driver_id=driver_id,
        offers=(),
        bids=(),
        agreed_price=price,
        price_history=history,
    )
    events: list[Event] = [OfferWithdrawnEvent(order.id, other, "taken", now) for other in others]
    if price is not None:
        events.append(PriceChanged(order.id, history[-1]))
        currency = order.quote.currency
        events.append(BidAccepted(order.id, driver_id, order.customer_id, price, currency, now))
    events.append(
        DriverAssigned(
            order.id, driver_id, order.customer_id, order.vehicle_type, position, eta_s, now, card
        )
    )
    return Step(
        assigned,
        release=tuple(Reservation(other, order.id) for other in others),
        stats=(StatIncrement(driver_id, "accepted", now),),
        events=tuple(events),
    )


def accept_bid(order: Order, driver_id: str, now: datetime) -> Decimal:
    """The amount of ``driver_id``'s live bid, which the customer takes."""
    bid = next((b for b in order.bids if b.driver_id == driver_id), None)
    if bid is None:
        if order.phase != RideState.SEARCHING:
            raise InvalidTransition(order.id, "accept_bid", order.state)
        raise NotFound(f"no live bid from {shown(driver_id)} on order {shown(order.id)}")
    check_answer(order, driver_id, now)
    if not bid.valid_at(now):
        assert bid.valid_until is not None
        raise OfferExpired(
            f"the bid of {shown(driver_id)} on order {shown(order.id)} was valid until"
            f" {bid.valid_until.isoformat()}"
        )
    return bid.amount
