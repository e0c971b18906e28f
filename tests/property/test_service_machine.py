"""Random drivers, customers and commands against the service, checking its invariants."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.events import OfferSent
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryWallet,
    ManualClock,
    RecordingNotifier,
)
from vtc_dispatch.order import Actor
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings
from vtc_dispatch.wire import parse_customer_outbound, parse_driver_outbound

DRIVERS = [f"d{i}" for i in range(5)]
CUSTOMERS = [f"c{i}" for i in range(4)]
TYPES = ["taxi_jaune", "confort"]
CONFIG = douala_config()
near_akwa = st.builds(LatLng, st.floats(4.045, 4.060), st.floats(9.700, 9.712))
ON_RIDE = {RideState.ACCEPTED, RideState.ARRIVED, RideState.IN_PROGRESS}


class ServiceMachine(RuleBasedStateMachine):
    pool = PoolConfig()
    check_ranking = True

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
        self.wallet = InMemoryWallet()
        self.orders = InMemoryOrderRepository()
        self.drivers = InMemoryDriverRegistry()
        self.notifier = RecordingNotifier()
        self.checked = 0
        self.service = DispatchService(
            pricing=CONFIG,
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
            self.wallet.credit(customer, Decimal(3000), "XAF")
        self.order_ids: list[str] = []

    def _offer_went_to_the_nearest(self, event: object) -> None:
        """At the moment an offer is made, no untried available driver is nearer."""
        if not isinstance(event, OfferSent):
            return
        order = self.orders.get(event.order_id)
        radius = self.service.pool.default.radius_max_km
        for driver_id, km in self.drivers.nearest_available(
            order.pickup, 50, radius, (order.vehicle_type,), exclude=order.tried
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

    @initialize(where=st.lists(near_akwa, min_size=3, max_size=3))
    def some_drivers_start_online(self, where: list[LatLng]) -> None:
        for driver, vt, point in zip(
            DRIVERS, ["taxi_jaune", "taxi_jaune", "confort"], where, strict=False
        ):
            self.service.driver_online(driver, vt, point)

    @rule(driver=st.sampled_from(DRIVERS), vt=st.sampled_from(TYPES), where=near_akwa)
    def online(self, driver: str, vt: str, where: LatLng) -> None:
        self.attempt(self.service.driver_online, driver, vt, where)

    @rule(driver=st.sampled_from(DRIVERS))
    def offline(self, driver: str) -> None:
        self.attempt(self.service.driver_offline, driver)

    @rule(driver=st.sampled_from(DRIVERS), where=near_akwa)
    def move(self, driver: str, where: LatLng) -> None:
        self.attempt(self.service.update_position, driver, where)

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        vt=st.sampled_from(TYPES),
        pay=st.sampled_from(["CASH", "WALLET", "OM"]),
        a=near_akwa,
        b=near_akwa,
    )
    def order(self, customer: str, vt: str, pay: str, a: LatLng, b: LatLng) -> None:
        before = self._state()
        try:
            order = self.service.create_order(customer, a, b, vt, pay)
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
        riding = [o for o in self.orders._orders.values() if o.state in ON_RIDE]
        if riding:
            order = data.draw(st.sampled_from(riding))
            verb = {
                RideState.ACCEPTED: self.service.arrived,
                RideState.ARRIVED: self.service.start_trip,
                RideState.IN_PROGRESS: self.service.complete_trip,
            }[RideState(order.state)]
            self.attempt(verb, order.driver_id, order.id)

    @rule(data=st.data(), stars=st.integers(1, 5), by_customer=st.booleans())
    def parties_rate(self, data: st.DataObject, stars: int, by_customer: bool) -> None:
        done = [o for o in self.orders._orders.values() if o.state == RideState.DONE]
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
                assert order.state == RideState.SEARCHING
                assert order.driver_id is None
            if not order.is_active:
                continue
            if order.state in ON_RIDE:
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
            if order.state != RideState.SEARCHING:
                continue
            started = order.lifecycle.time_in(RideState.SEARCHING)
            assert started is not None
            deadline = started + timedelta(seconds=self.service.pool.default.search_timeout_s)
            if not order.offers:  # only in matching mode: waiting for its window
                assert order.window_at is not None, order
                assert now < order.window_at <= deadline
                continue
            assert order.window_at is None
            for offer in order.offers:
                assert offer.expires_at <= deadline
                assert now <= (offer.expires_at if offer.shown else offer.sent_at)

    @invariant()
    def money_is_decimal_in_xaf(self) -> None:
        for order in self.orders._orders.values():
            quote = order.quote
            assert quote.currency == "XAF"
            assert all(
                isinstance(a, Decimal) for a in (quote.estimate, quote.minimum, quote.maximum)
            )
            if order.final_fare is not None:
                assert isinstance(order.final_fare.amount, Decimal)
                assert order.final_fare.currency == "XAF"
            assert isinstance(order.amount_paid, Decimal)
        for (_, currency), balance in self.wallet._balances.items():
            assert currency == "XAF"
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
