"""Ordering and the offers: create an order, make offers, take the drivers' answers.

The pool's decisions are :mod:`vtc_dispatch.pool.decide`; this component
reads what they need (the order, the drivers around the pickup) and turns
their steps into change sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import ChangeSet, OrderWrite, WalletHold
from vtc_dispatch.commands.context import DISTANCE_FIRST, Context, Decision
from vtc_dispatch.errors import (
    Forbidden,
    InvalidArgument,
    InvalidMoney,
    NotFound,
    PaymentRefused,
    shown,
)
from vtc_dispatch.events import BidSubmitted, OrderCreated, PriceChanged, SearchStarted
from vtc_dispatch.fsm import RideEvent, RideState
from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.kinds import KINDS, OrderKind
from vtc_dispatch.order import DRIVING_STATES, Actor, Bid, DriverStatus, Order, PaymentStatus
from vtc_dispatch.pool import Candidate, matching
from vtc_dispatch.pool import decide as pool
from vtc_dispatch.pool.ranking import reads_positions
from vtc_dispatch.pricing.quote import FareQuote, PriceChange
from vtc_dispatch.wallet_ops import hold_id_for

__all__ = ["Dispatching", "quote_key", "step_changes"]

# Drivers looked up per offer when a ranker other than distance chooses among them.
_CANDIDATES = 10


def quote_key(pickup: LatLng, dropoff: LatLng, vehicle_type: str) -> str:
    """Where the quote shown for this trip and type is kept.

    >>> quote_key(LatLng(4.0511, 9.7043), LatLng(4.065, 9.725), "confort")
    '4.0511,9.7043>4.065,9.725/confort'
    """
    return f"{pickup.lat!r},{pickup.lng!r}>{dropoff.lat!r},{dropoff.lng!r}/{vehicle_type}"


def step_changes(step: pool.Step, before: Order, *events: object) -> ChangeSet:
    """A pool step as the change set of an order stored at ``before.version``."""
    return ChangeSet(
        orders=(OrderWrite(step.order, before.version),),
        reserve=step.reserve,
        release=step.release,
        stats=step.stats,
        events=(*events, *step.events),  # type: ignore[arg-type]
    )


class Dispatching:
    """Orders and offers (see the module's documentation)."""

    def __init__(self, context: Context) -> None:
        self.ctx = context

    # -- the pool's reads ----------------------------------------------------

    def offer_next(self, order: Order, now: datetime) -> pool.Step:
        """The next offers of ``order`` to the best drivers not tried yet, or NO_DRIVER
        (in matching mode: the order waits for its next window)."""
        ctx = self.ctx
        settings = ctx.pool_settings(order, now)
        if settings.mode == "matching":
            return matching.wait(order, settings, now)
        room = pool.search_room(order, settings)
        ranker = ctx.ranker_for(order, settings)
        candidates: list[Candidate] = []
        if now < pool.search_deadline(order, settings) and room > 0:
            wanted = room if ranker is DISTANCE_FIRST else max(room, _CANDIDATES)
            found = ctx.drivers.nearest_available(
                order.pickup,
                wanted,
                settings.radii()[-1],
                (order.vehicle_type,),
                exclude=order.tried,
                seen_since=ctx.heard_since(now),
            )
            # A ranker by distance reads no position: one storage read less per offer.
            positioned = reads_positions(ranker)
            candidates = [
                Candidate(
                    driver_id, km, ctx.drivers.get(driver_id).position if positioned else None
                )
                for driver_id, km in pool.first_step(found, settings.radii())
            ]
        return pool.offer_next(order, candidates, settings, ranker, now)

    def match_window(self, orders: Sequence[Order], now: datetime) -> list[pool.Step]:
        """The steps of the orders of one matching window (one city and vehicle type),
        decided together; one per order, in the order given."""
        ctx = self.ctx
        settings = ctx.pool_settings(orders[0], now)
        radii = settings.radii()
        positions: dict[str, LatLng] = {}
        waiting = []
        heard_since = ctx.heard_since(now)
        for order in orders:
            found = ctx.drivers.nearest_available(
                order.pickup,
                settings.match_candidates,
                radii[-1],
                (order.vehicle_type,),
                exclude=order.tried,
                seen_since=heard_since,
            )
            candidates = []
            for driver_id, km in pool.first_step(found, radii):
                position = positions.get(driver_id)
                if position is None:
                    position = positions[driver_id] = ctx.drivers.get(driver_id).position
                candidates.append(Candidate(driver_id, km, position))
            waiting.append(matching.Waiting(order, tuple(candidates)))
        acceptance = {d: ctx.stats.get(d).acceptance_rate(now) for d in positions}
        estimator = ctx.pricer.route_estimator(orders[0].quote.city)
        return matching.match_window(waiting, settings, estimator, acceptance, now)

    def match_again(self, order_id: str, now: datetime) -> tuple[Decision, int]:
        """One order of a window whose commit lost a race, decided again on fresh reads
        (a window of its own); how many offers it made."""
        order = self.ctx.orders.get(order_id)
        if not order.waits_for_window(now):
            return Decision(order), 0
        step = self.match_window([order], now)[0]
        return Decision(step.order, step_changes(step, order)), step.handled

    def go_on(self, step: pool.Step, now: datetime) -> pool.Step:
        """``step``, followed by the next offers when its order is left without any."""
        return step.then(self.offer_next(step.order, now)) if step.needs_offer else step

    # -- commands ------------------------------------------------------------

    def replaced_order(self, customer_id: str, vehicle_type: str) -> Order | None:
        """The customer's ride no driver took, which a new ride of ``vehicle_type``
        replaces (the service closes it in the same commit); ``None`` when he has none.

        One ride at a time per customer (Forbidden while another is active);
        shippers and merchants place many orders.  Read before
        :meth:`create_order`, which does not read it again.
        """
        if self.ctx.kind_of(vehicle_type) is not OrderKind.RIDE:
            return None
        active = self.ctx.orders.find("customer", customer_id, active=True, limit=1)
        if not active:
            return None
        if active[0].phase != RideState.NO_DRIVER:
            raise Forbidden(
                f"customer {shown(customer_id)} already has an active order {shown(active[0].id)}"
            )
        return active[0]

    def create_order(
        self,
        customer_id: str,
        pickup: LatLng,
        dropoff: LatLng,
        vehicle_type: str,
        payment_method: str,
        supplements: Sequence[str],
        now: datetime,
        *,
        merchant_id: str | None = None,
        goods_amount: Decimal | None = None,
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.create_order` (after
        :meth:`replaced_order`)."""
        ctx = self.ctx
        kind = ctx.kind_of(vehicle_type)
        spec = KINDS[kind]
        if kind is OrderKind.DELIVERY and merchant_id is None:
            raise InvalidArgument(
                f"a delivery ({shown(vehicle_type)}) needs its merchant_id", argument="merchant_id"
            )
        if kind is not OrderKind.DELIVERY and (merchant_id, goods_amount) != (None, None):
            raise InvalidArgument(
                f"merchant_id and goods_amount belong to deliveries, not to a {kind} order",
                argument="merchant_id" if merchant_id is not None else "goods_amount",
            )
        methods = ctx.payment_methods(pickup)
        if payment_method not in methods:
            raise PaymentRefused(
                f"payment method {shown(payment_method)} is not enabled here"
                f" (enabled: {', '.join(methods)})"
            )
        quote = self._quote(pickup, dropoff, vehicle_type, supplements, now)
        order_id = ctx.new_order_id()
        wallet: tuple[WalletHold, ...] = ()
        if payment_method == "WALLET":
            op_id = f"hold-{order_id}"
            wallet = (WalletHold(op_id, customer_id, quote.estimate, quote.currency, order_id),)
        first_price = PriceChange(None, quote.estimate, "quoted", quote.at)
        lifecycle = spec.machine.start(order_id, now)
        for event in spec.opening:
            lifecycle = lifecycle.fire(event, actor="customer", at=now, actor_id=customer_id)
        order = Order(
            id=order_id,
            customer_id=customer_id,
            vehicle_type=vehicle_type,
            pickup=pickup,
            dropoff=dropoff,
            payment_method=payment_method,
            quote=quote,
            lifecycle=lifecycle,
            created_at=now,
            price_history=(first_price,),
            payment_status=PaymentStatus.HELD if wallet else PaymentStatus.NONE,
            wallet_hold=hold_id_for(wallet[0].op_id) if wallet else None,
            merchant_id=merchant_id,
            goods_amount=goods_amount,
            delivery_code=ctx.new_code() if "code" in spec.proof else None,
        )
        created = OrderCreated(
            order_id, customer_id, vehicle_type, pickup, dropoff, payment_method, quote, now
        )
        if order.phase != RideState.SEARCHING:  # a draft, or a delivery its merchant prepares
            changes = ChangeSet(
                new_orders=(order,),
                wallet=wallet,
                events=(created, PriceChanged(order_id, first_price)),
            )
            return Decision(order, changes)
        step = self.offer_next(order, now)
        changes = ChangeSet(
            new_orders=(step.order,),
            reserve=step.reserve,
            stats=step.stats,
            wallet=wallet,
            events=(
                created,
                PriceChanged(order_id, first_price),
                SearchStarted(order_id, now),
                *step.events,
            ),
        )
        return Decision(step.order, changes)

    def search_from(self, order: Order, event: str, actor: str, now: datetime) -> Decision:
        """``order`` (stored) fires ``event`` into its searching state and makes its first
        offers: a load posted, a parcel ready."""
        lifecycle = order.lifecycle.fire(event, actor=actor, at=now)
        step = self.offer_next(evolve(order, lifecycle=lifecycle, offers_made=0), now)
        return Decision(step.order, step_changes(step, order, SearchStarted(order.id, now)))

    def _quote(
        self,
        pickup: LatLng,
        dropoff: LatLng,
        vehicle_type: str,
        supplements: Sequence[str],
        now: datetime,
    ) -> FareQuote:
        """The quote ``search`` showed for this trip when still valid, else a new one."""
        valid_s = self.ctx.settings.quote_valid_s
        if not supplements and valid_s > 0:
            shown = self.ctx.quotes.recall(quote_key(pickup, dropoff, vehicle_type))
            if shown is not None and 0.0 <= (now - shown.at).total_seconds() <= valid_s:
                return shown
        return self.ctx.pricer.quote(pickup, dropoff, vehicle_type, now, supplements=supplements)

    def search_again(self, customer_id: str, order_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.search_again`."""
        order = self.ctx.owned(Actor.customer(customer_id), order_id)
        lifecycle = order.lifecycle.fire(
            RideEvent.SEARCH_AGAIN, actor="customer", at=now, actor_id=customer_id
        )
        step = self.offer_next(evolve(order, lifecycle=lifecycle, offers_made=0), now)
        return Decision(step.order, step_changes(step, order, SearchStarted(order.id, now)))

    def accept(self, driver_id: str, order_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.accept`."""
        # The offer reserves him for the order: one read gives both.
        try:
            status, held, _ = self.ctx.rides.ride_of(driver_id)
        except NotFound:  # never seen: the order says why he may not accept
            status, held = None, None
        order = held if held is not None and held.id == order_id else self.ctx.orders.get(order_id)
        if order.driver_id == driver_id and order.state in DRIVING_STATES:
            return Decision(order)  # the winner's retry: the answer he missed
        pool.check_answer(order, driver_id, now)
        if self.ctx.pool_settings(order, now).mode == "bidding":
            raise Forbidden(f"order {shown(order_id)} takes bids: send a bid, the customer chooses")
        return self._assign(order, driver_id, now, status=status)

    def _assign(
        self,
        order: Order,
        driver_id: str,
        now: datetime,
        price: Decimal | None = None,
        *,
        status: DriverStatus | None = None,
    ) -> Decision:
        if status is None:
            status = self.ctx.drivers.get(driver_id)
        position = status.position
        eta = self.ctx.eta_s(order, haversine_km(position, order.pickup))
        card = self.ctx.card(driver_id, status)
        step = pool.assign(order, driver_id, position, eta, now, price=price, card=card)
        return Decision(step.order, step_changes(step, order))

    def reject(self, driver_id: str, order_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.reject`."""
        order = self.ctx.orders.get(order_id)
        pool.check_answer(order, driver_id, now)
        step = self.go_on(pool.drop_offer(order, driver_id, now, expired=False), now)
        return Decision(step.order, step_changes(step, order))

    def submit_bid(
        self,
        driver_id: str,
        order_id: str,
        amount: Decimal,
        now: datetime,
        valid_until: datetime | None = None,
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.submit_bid`."""
        order = self.ctx.orders.get(order_id)
        offer = pool.check_answer(order, driver_id, now)
        if self.ctx.pool_settings(order, now).mode != "bidding":
            raise Forbidden(f"order {shown(order_id)} takes no bids: accept or reject the offer")
        if not (isinstance(amount, Decimal) and amount.is_finite() and amount > 0):
            raise InvalidMoney(f"a bid must be a Decimal > 0, got {shown(amount)}")
        bids = (
            *(b for b in order.bids if b.driver_id != driver_id),
            Bid(driver_id, amount, now, valid_until),
        )
        bid = BidSubmitted(
            order.id,
            driver_id,
            order.customer_id,
            amount,
            order.quote.currency,
            offer.distance_km,
            now,
            valid_until,
        )
        bidding = evolve(order, bids=bids)
        return Decision(
            bidding,
            ChangeSet(orders=(OrderWrite(bidding, order.version),), events=(bid,)),
        )

    def accept_bid(
        self, customer_id: str, order_id: str, driver_id: str, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.accept_bid`."""
        order = self.ctx.owned(Actor.customer(customer_id), order_id)
        amount = pool.accept_bid(order, driver_id, now)
        return self._assign(order, driver_id, now, price=amount)

    def expire(self, order_id: str, now: datetime) -> tuple[Decision, int]:
        """The due offers of one order shown or expired; how many were."""
        order = self.ctx.orders.get(order_id)
        step = pool.advance(order, now)
        if order.phase == RideState.SEARCHING:
            step = self.go_on(step, now)
        if step.order == order:
            return Decision(order), 0
        return Decision(step.order, step_changes(step, order)), step.handled
