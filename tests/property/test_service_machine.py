"""Random drivers, customers and commands against the service, checking its invariants."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.events import OfferSent
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng, haversine_km
from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryWallet,
    ManualClock,
    RecordingNotifier,
)
from vtc_dispatch.order import Actor, Order, ProofOfDelivery
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import dakar_config, douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings
from vtc_dispatch.wire import parse_customer_outbound, parse_driver_outbound

DRIVERS = [f"d{i}" for i in range(5)]
CUSTOMERS = [f"c{i}" for i in range(4)]
TYPES = ("taxi_jaune", "confort")
CONFIG = douala_config()
near_akwa = st.builds(LatLng, st.floats(4.045, 4.060), st.floats(9.700, 9.712))
ON_RIDE = {RideState.ACCEPTED, RideState.ARRIVED, RideState.IN_PROGRESS}


near_plateau = st.builds(LatLng, st.floats(14.665, 14.680), st.floats(-17.445, -17.430))
DAKAR = dakar_config()


class ServiceMachine(RuleBasedStateMachine):
    """Rides in Douala; the subclasses below run the same rules and invariants on other
    pool modes and on the other kinds (freight, delivery), whose steps they add."""

    pool = PoolConfig()
    check_ranking = True
    config = CONFIG
    types: tuple[str, ...] = TYPES
    currency = "XAF"
    near = near_akwa
    first_types = ("taxi_jaune", "taxi_jaune", "confort")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
        self.wallet = InMemoryWallet()
        self.orders = InMemoryOrderRepository()
        self.drivers = InMemoryDriverRegistry()
        self.notifier = RecordingNotifier()
        self.checked = 0
        # Numbered order ids, not random ones: ties (offers expiring at the same
        # instant) are broken by id, so random ids made a replayed example take
        # another path and Hypothesis report the machine as flaky.
        numbers = itertools.count(1)
        self.service = DispatchService(
            new_order_id=lambda: f"ord-{next(numbers):04d}",
            pricing=self.config,
            settings=ServiceSettings(rating_min_count=2, arrive_radius_km=2.0),
            clock=self.clock,
            wallet=self.wallet,
            orders=self.orders,
            drivers=self.drivers,
            pool=self.pool,
            notifier=self.notifier,
        )
        self.misranked: list[str] = []
        if self.check_ranking:
            self.service.subscribe(self._offer_went_to_the_nearest)
        for customer in CUSTOMERS[:2]:
            self.wallet.credit(customer, Decimal(3000), self.currency)
        self.order_ids: list[str] = []

    def _offer_went_to_the_nearest(self, event: object) -> None:
        """At the moment an offer is made, no untried available driver is nearer."""
        if not isinstance(event, OfferSent):
            return
        order = self.orders.get(event.order_id)
        radius = self.service.pool.default.radius_max_km
        # Drivers not heard from within the presence timeout get no offer, even before the
        # sweep of expire_due marks them silent.
        timeout_s = self.service.settings.presence_timeout_s
        heard_since = None if timeout_s is None else event.at - timedelta(seconds=timeout_s)
        for driver_id, km in self.drivers.nearest_available(
            order.pickup,
            50,
            radius,
            (order.vehicle_type,),
            exclude=order.tried,
            seen_since=heard_since,
        ):
            if (km, driver_id) < (event.distance_to_pickup_km, event.driver_id):
                self.misranked.append(f"{event.driver_id} offered while {driver_id} was nearer")

    def _state(self) -> object:
        # The in-memory stores' contents: equal before and after a refused command.
        return (
            copy.copy(self.orders._orders),
            copy.copy(self.drivers._drivers),
            copy.copy(self.wallet._balances),
        )

    def attempt(self, command: object, *args: object, **kwargs: object) -> None:
        before = self._state()
        try:
            command(*args, **kwargs)  # type: ignore[operator]
        except DispatchError:
            assert self._state() == before, "a refused command changed the state"

    def pick(self, data: st.DataObject) -> str | None:
        return data.draw(st.sampled_from(self.order_ids)) if self.order_ids else None

    @initialize(data=st.data())
    def some_drivers_start_online(self, data: st.DataObject) -> None:
        for driver, vt in zip(DRIVERS, self.first_types, strict=False):
            self.service.driver_online(driver, vt, data.draw(self.near))

    @rule(data=st.data(), driver=st.sampled_from(DRIVERS))
    def online(self, data: st.DataObject, driver: str) -> None:
        vt = data.draw(st.sampled_from(self.types))
        self.attempt(self.service.driver_online, driver, vt, data.draw(self.near))

    @rule(driver=st.sampled_from(DRIVERS))
    def offline(self, driver: str) -> None:
        self.attempt(self.service.driver_offline, driver)

    @rule(data=st.data(), driver=st.sampled_from(DRIVERS))
    def move(self, data: st.DataObject, driver: str) -> None:
        self.attempt(self.service.update_position, driver, data.draw(self.near))

    def create(self, customer: str, a: LatLng, b: LatLng, vt: str, pay: str) -> Order:
        return self.service.create_order(customer, a, b, vt, pay)

    @rule(
        data=st.data(),
        customer=st.sampled_from(CUSTOMERS),
        pay=st.sampled_from(["CASH", "WALLET", "OM"]),
    )
    def order(self, data: st.DataObject, customer: str, pay: str) -> None:
        vt = data.draw(st.sampled_from(self.types))
        a, b = data.draw(self.near), data.draw(self.near)
        before = self._state()
        try:
            order = self.create(customer, a, b, vt, pay)
        except DispatchError:
            assert self._state() == before
        else:
            self.order_ids.append(order.id)

    @rule(
        data=st.data(),
        driver=st.sampled_from(DRIVERS),
        verb=st.sampled_from(["accept", "reject", "arrived", "start_trip", "complete_trip"]),
    )
    def driver_acts(self, data: st.DataObject, driver: str, verb: str) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            self.attempt(getattr(self.service, verb), driver, order_id)

    @rule(
        data=st.data(),
        role=st.sampled_from(["customer", "driver", "operator", "system"]),
        who=st.sampled_from(CUSTOMERS + DRIVERS + ["ops"]),
    )
    def cancel(self, data: st.DataObject, role: str, who: str) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            self.attempt(self.service.cancel, Actor(role, who), order_id, "test")

    @rule(
        data=st.data(),
        role=st.sampled_from(["customer", "driver"]),
        who=st.sampled_from(CUSTOMERS + DRIVERS),
        stars=st.integers(0, 6),
    )
    def rate(self, data: st.DataObject, role: str, who: str, stars: int) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            self.attempt(self.service.rate, Actor(role, who), order_id, stars)

    @rule(data=st.data(), customer=st.sampled_from(CUSTOMERS))
    def search_again(self, data: st.DataObject, customer: str) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            self.attempt(self.service.search_again, customer, order_id)

    @rule(data=st.data(), accept=st.booleans())
    def offered_driver_answers(self, data: st.DataObject, accept: bool) -> None:
        offered = [
            (order.id, offer.driver_id)
            for order in self.orders._orders.values()
            for offer in order.offers
        ]
        if offered:
            order_id, driver = data.draw(st.sampled_from(offered))
            verb = self.service.accept if accept else self.service.reject
            self.attempt(verb, driver, order_id)

    @rule(data=st.data())
    def assigned_driver_moves_on(self, data: st.DataObject) -> None:
        riding = [o for o in self.orders._orders.values() if o.phase in ON_RIDE]
        if riding:
            order = data.draw(st.sampled_from(riding))
            self.move_on(data, order)

    def move_on(self, data: st.DataObject, order: Order) -> None:
        """The assigned driver's next step on ``order`` (a ride's: arrive, start, complete)."""
        verb = {
            RideState.ACCEPTED: self.service.arrived,
            RideState.ARRIVED: self.service.start_trip,
            RideState.IN_PROGRESS: self.service.complete_trip,
        }[order.phase]
        self.attempt(verb, order.driver_id, order.id)

    @rule(data=st.data(), stars=st.integers(1, 5), by_customer=st.booleans())
    def parties_rate(self, data: st.DataObject, stars: int, by_customer: bool) -> None:
        done = [o for o in self.orders._orders.values() if o.phase == RideState.DONE]
        if done:
            order = data.draw(st.sampled_from(done))
            actor = (
                Actor.customer(order.customer_id)
                if by_customer
                else Actor.driver(str(order.driver_id))
            )
            self.attempt(self.service.rate, actor, order.id, stars)

    @rule(data=st.data(), amount=st.integers(-10, 5000))
    def carrier_bids(self, data: st.DataObject, amount: int) -> None:
        invited = [
            (order.id, offer.driver_id)
            for order in self.orders._orders.values()
            for offer in order.offers
        ]
        if invited:
            order_id, driver = data.draw(st.sampled_from(invited))
            self.attempt(self.service.submit_bid, driver, order_id, Decimal(amount))

    @rule(data=st.data())
    def customer_takes_a_bid(self, data: st.DataObject) -> None:
        bids = [
            (order.customer_id, order.id, bid.driver_id)
            for order in self.orders._orders.values()
            for bid in order.bids
        ]
        if bids:
            self.attempt(self.service.accept_bid, *data.draw(st.sampled_from(bids)))

    @rule(seconds=st.sampled_from([1, 10, 31, 300]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.service.expire_due()

    @invariant()
    def one_order_per_driver_and_one_driver_per_order(self) -> None:
        holding: dict[str, list[str]] = {}
        for order in self.orders._orders.values():
            if order.offers:
                assert order.phase == RideState.SEARCHING
                assert order.driver_id is None
            if not order.is_active:
                continue
            if order.phase in ON_RIDE:
                assert order.driver_id is not None
                holding.setdefault(order.driver_id, []).append(order.id)
            for offer in order.offers:
                # A driver is reserved by every offer, shown or not.
                holding.setdefault(offer.driver_id, []).append(order.id)
        for driver, orders in holding.items():
            assert len(orders) == 1, (driver, orders)
            assert self.drivers.get(driver).order_id == orders[0]
        for status in self.drivers._drivers.values():
            if status.order_id is not None:
                assert holding.get(status.driver_id) == [status.order_id]

    @invariant()
    def every_message_sent_is_valid_on_the_wire(self) -> None:
        # Each message must pass its own validator and come back equal from JSON.
        sent = list(self.notifier.sent)
        for recipient, message in sent[self.checked :]:
            assert type(message).model_validate(message.model_dump()) == message
            parse = parse_driver_outbound if recipient.role == "driver" else parse_customer_outbound
            assert parse(message.model_dump_json()) == message
        self.checked = len(sent)

    @invariant()
    def offers_go_to_the_best_ranked_driver(self) -> None:
        assert self.misranked == []

    @invariant()
    def every_search_ends_by_its_total_timeout(self) -> None:
        now = self.clock.now()
        for order in self.orders._orders.values():
            if order.phase != RideState.SEARCHING:
                continue
            started = order.time_in_phase(RideState.SEARCHING)
            assert started is not None
            settings = self.service.pool.settings_for(
                order.quote.city, order.vehicle_type, order.spec.default_mode
            )
            deadline = started + timedelta(seconds=settings.search_timeout_s)
            if not order.offers:  # only in matching mode: waiting for its window
                assert order.window_at is not None, order
                assert now < order.window_at <= deadline
                continue
            assert order.window_at is None
            for offer in order.offers:
                assert offer.expires_at <= deadline
                assert now <= (offer.expires_at if offer.shown else offer.sent_at)

    @invariant()
    def money_is_decimal_in_the_city_currency(self) -> None:
        for order in self.orders._orders.values():
            quote = order.quote
            assert quote.currency == self.currency
            assert all(
                isinstance(a, Decimal) for a in (quote.estimate, quote.minimum, quote.maximum)
            )
            if order.final_fare is not None:
                assert isinstance(order.final_fare.amount, Decimal)
                assert order.final_fare.currency == self.currency
            assert isinstance(order.amount_paid, Decimal)
        for (_, currency), balance in self.wallet._balances.items():
            assert currency == self.currency
            assert isinstance(balance, Decimal)
            assert balance >= 0

    def teardown(self) -> None:
        for order in self.orders._orders.values():
            event(f"reached {order.state}")


TestServiceMachine = ServiceMachine.TestCase
TestServiceMachine.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)


class BatchMachine(ServiceMachine):
    """The same checks with offers made three at a time, shown 10 s apart."""

    pool = PoolConfig.model_validate(
        {"default": {"mode": "batch", "batch_size": 3, "stagger_s": 10}}
    )
    # Staggered offers are shown later, after drivers may have moved.
    check_ranking = False


TestBatchMachine = BatchMachine.TestCase
TestBatchMachine.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)


class BiddingMachine(ServiceMachine):
    """The same checks with carriers invited to bid for 60 s."""

    pool = PoolConfig.model_validate(
        {"default": {"mode": "bidding", "bidders": 3, "bidding_window_s": 60}}
    )

    @invariant()
    def bids_come_from_invited_carriers(self) -> None:
        for order in self.orders._orders.values():
            invited = {offer.driver_id for offer in order.offers}
            assert {bid.driver_id for bid in order.bids} <= invited
            assert all(bid.amount > 0 for bid in order.bids)


TestBiddingMachine = BiddingMachine.TestCase
TestBiddingMachine.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)


class MatchingMachine(ServiceMachine):
    """The same checks with the waiting orders matched together every 3 s."""

    pool = PoolConfig.model_validate({"default": {"mode": "matching", "window_s": 3}})
    # A window gives the least total cost, not each order its nearest driver.
    check_ranking = False

    @rule(seconds=st.sampled_from([1, 2, 3]))
    def a_window_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.service.expire_due()

    @invariant()
    def offers_go_to_drivers_within_the_radius(self) -> None:
        radius = self.service.pool.default.radius_max_km
        for order in self.orders._orders.values():
            for offer in order.offers:
                assert offer.distance_km <= radius
                assert offer.driver_id not in order.tried

    def teardown(self) -> None:
        super().teardown()
        for order in self.orders._orders.values():
            if order.offers_made:
                event("an order was matched in a window")


TestMatchingMachine = MatchingMachine.TestCase
TestMatchingMachine.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)


class FreightMachine(BiddingMachine):
    """The same checks on freight loads in Dakar (XOF): posted from their drafts, bid on by
    invited carriers (bidding is freight's default mode), delivered with a proof, then
    confirmed or disputed."""

    pool = PoolConfig.model_validate({"default": {"bidders": 3, "bidding_window_s": 60}})
    config = DAKAR
    types: tuple[str, ...] = ("camion_10t", "camionnette_3t")
    currency = "XOF"
    near = near_plateau
    first_types = ("camion_10t", "camion_10t", "camionnette_3t")

    def __init__(self) -> None:
        super().__init__()
        self.delivered_by: dict[str, str] = {}
        self.disputed_after: dict[str, str] = {}

    @rule(data=st.data(), role=st.sampled_from(["customer", "operator", "driver"]))
    def shipper_posts(self, data: st.DataObject, role: str) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            order = self.orders.get(order_id)
            who = {"customer": order.customer_id, "operator": "ops", "driver": DRIVERS[0]}[role]
            self.attempt(self.service.post_load, Actor(role, who), order_id)

    def proof_for(self, data: st.DataObject, order: Order) -> ProofOfDelivery:
        where = order.dropoff if data.draw(st.booleans()) else data.draw(self.near)
        code = order.delivery_code if data.draw(st.booleans()) else "000000"
        reference = data.draw(st.sampled_from([None, "pod/1.jpg"]))
        return ProofOfDelivery(where, self.clock.now(), code=code, reference=reference)

    def deliver(
        self, data: st.DataObject, driver: str, order: Order, *, honest: bool = False
    ) -> None:
        before = self.orders.get(order.id)
        proof = (
            ProofOfDelivery(order.dropoff, self.clock.now(), order.delivery_code, "pod/2.jpg")
            if honest
            else self.proof_for(data, order)
        )
        self.attempt(self.service.deliver, driver, order.id, proof)
        after = self.orders.get(order.id)
        if after.proof is not None and before.proof is None:
            self.delivered_by[order.id] = driver
            assert before.driver_id == driver

    def move_on(self, data: st.DataObject, order: Order) -> None:
        if order.state == "picked_up":
            self.attempt(self.service.depart, order.driver_id, order.id)
        elif order.phase == RideState.IN_PROGRESS:
            self.deliver(data, str(order.driver_id), order)
        else:
            super().move_on(data, order)

    @rule(data=st.data(), driver=st.sampled_from(DRIVERS))
    def any_driver_delivers(self, data: st.DataObject, driver: str) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            self.deliver(data, driver, self.orders.get(order_id))

    @rule(data=st.data(), verb=st.sampled_from(["confirm", "dispute", "resolve"]))
    def after_delivery(self, data: st.DataObject, verb: str) -> None:
        order_id = self.pick(data)
        if order_id is None:
            return
        before = self.orders.get(order_id)
        shipper = Actor.customer(before.customer_id)
        if verb == "confirm":
            self.attempt(self.service.confirm_delivery, shipper, order_id)
        elif verb == "dispute":
            self.attempt(self.service.dispute, shipper, order_id, "damaged")
        else:
            self.attempt(self.service.resolve_dispute, "ops", order_id, "refund 10 %")
        after = self.orders.get(order_id)
        if after.state == "disputed" and before.state != "disputed":
            self.disputed_after[order_id] = before.state

    def next_step(self, data: st.DataObject, order: Order) -> None:
        """The step a willing party takes next on ``order`` (so that runs reach the end)."""
        shipper = Actor.customer(order.customer_id)
        if order.state == "draft":
            self.attempt(self.service.post_load, shipper, order.id)
        elif order.phase == RideState.NO_DRIVER:
            self.attempt(self.service.search_again, order.customer_id, order.id)
        elif order.phase == RideState.SEARCHING and order.offers:
            take: bool = data.draw(st.booleans())
            if order.bids and take:
                bid = data.draw(st.sampled_from(order.bids))
                self.attempt(self.service.accept_bid, order.customer_id, order.id, bid.driver_id)
            else:
                offer = data.draw(st.sampled_from(order.offers))
                amount = Decimal(data.draw(st.integers(20_000, 90_000)))
                self.attempt(self.service.submit_bid, offer.driver_id, order.id, amount)
        elif order.phase == RideState.IN_PROGRESS and order.state != "picked_up":
            self.deliver(data, str(order.driver_id), order, honest=True)
        elif order.phase in ON_RIDE:
            self.move_on(data, order)
        elif order.state == "delivered":
            if data.draw(st.booleans()):
                self.attempt(self.service.confirm_delivery, shipper, order.id)
            else:
                self.attempt(self.service.dispute, shipper, order.id, "two pallets short")
                self.disputed_after.setdefault(order.id, "delivered")

    @rule(data=st.data())
    def the_flow_goes_on(self, data: st.DataObject) -> None:
        """Every order not over takes its next step (one rule among twenty would rarely
        carry an order through its eight steps)."""
        for order_id in self.order_ids:  # in the order created: ids are random
            order = self.orders.get(order_id)
            if not order.lifecycle.is_terminal:
                self.next_step(data, order)

    @invariant()
    def proofs_are_near_the_destination_and_by_the_assigned_driver(self) -> None:
        radius = self.service.settings.proof_radius_km
        for order in self.orders._orders.values():
            if order.proof is None:
                continue
            assert haversine_km(order.proof.position, order.dropoff) <= radius
            assert order.proof.code == order.delivery_code
            assert self.delivered_by[order.id] == order.driver_id

    @invariant()
    def disputes_only_after_delivery(self) -> None:
        assert set(self.disputed_after.values()) <= {"delivered"}
        for order in self.orders._orders.values():
            events = [h.event for h in order.lifecycle.history]
            if "dispute" in events:
                assert "deliver" in events[: events.index("dispute")]


TestFreightMachine = FreightMachine.TestCase
TestFreightMachine.settings = settings(max_examples=100, stateful_step_count=80, deadline=None)


class DeliveryMachine(FreightMachine):
    """The same checks on deliveries in Dakar: the merchant's states, then a rider offered
    one at a time (delivery's default mode), delivered with the receiver's code."""

    pool = PoolConfig()
    types: tuple[str, ...] = ("moto_livraison",)
    first_types = ("moto_livraison",) * 3

    def create(self, customer: str, a: LatLng, b: LatLng, vt: str, pay: str) -> Order:
        return self.service.create_order(
            customer, a, b, vt, pay, merchant_id="resto", goods_amount=Decimal(4500)
        )

    @rule(
        data=st.data(),
        role=st.sampled_from(["merchant", "customer", "operator"]),
        verb=st.sampled_from(["confirm", "prepare", "mark_ready"]),
    )
    def merchant_reports(self, data: st.DataObject, role: str, verb: str) -> None:
        order_id = self.pick(data)
        if order_id is not None:
            who = {"merchant": "resto", "customer": "c0", "operator": "ops"}[role]
            self.attempt(self.service.merchant_update, Actor(role, who), order_id, verb)

    def next_step(self, data: st.DataObject, order: Order) -> None:
        merchant_next = {"waiting": "confirm", "confirmed": "prepare", "preparing": "mark_ready"}
        if order.state in merchant_next:
            verb = merchant_next[order.state]
            self.attempt(self.service.merchant_update, Actor.merchant("resto"), order.id, verb)
        elif order.phase == RideState.SEARCHING and order.offers:
            offer = data.draw(st.sampled_from(order.offers))
            self.attempt(self.service.accept, offer.driver_id, order.id)
        else:
            super().next_step(data, order)


TestDeliveryMachine = DeliveryMachine.TestCase
TestDeliveryMachine.settings = settings(max_examples=100, stateful_step_count=80, deadline=None)


class MatchingByHourMachine(MatchingMachine):
    """Matching whose windows lengthen at 10:00 in Douala (an override naming the hour on top
    of one for a vehicle type), the clock starting a minute before: orders wait across the
    change, and the same invariants hold."""

    pool = PoolConfig.model_validate(
        {
            "default": {"mode": "matching", "window_s": 3},
            "overrides": [
                {"vehicle_type": "confort", "settings": {"radius_max_km": 4}},
                {"hours": [10], "settings": {"window_s": 7}},
            ],
        }
    )

    def __init__(self) -> None:
        super().__init__()
        self.clock.set(datetime(2026, 11, 21, 8, 59, tzinfo=UTC))  # 09:59 in Douala

    @invariant()
    def a_window_is_one_of_its_hour(self) -> None:
        timeout = timedelta(seconds=self.pool.default.search_timeout_s)
        for order in self.orders._orders.values():
            window = order.window_at
            started = order.lifecycle.time_in(RideState.SEARCHING)
            if window is None or started is None or window == started + timeout:
                continue  # no window, or the search's own end
            seconds = round((window - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
            if window < datetime(2026, 11, 21, 9, 0, 3, tzinfo=UTC):  # 3 s after 10:00 local
                assert seconds % 3 == 0 or seconds % 7 == 0, window
            else:
                assert seconds % 7 == 0, window
                event("an order waited for a 7 s window")

    @invariant()
    def offers_stay_within_the_vehicle_type_s_radius(self) -> None:
        for order in self.orders._orders.values():
            radius = self.service.pool.settings_for("douala", order.vehicle_type).radius_max_km
            for offer in order.offers:
                assert offer.distance_km <= radius


TestMatchingByHourMachine = MatchingByHourMachine.TestCase
TestMatchingByHourMachine.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None
)
