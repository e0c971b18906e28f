"""Presence never lets a silent driver receive an offer.

Drivers go online and offline, send fixes and pings, lose their
connection, and time passes; customers order, drivers refuse, the
scheduler calls ``expire_due`` when it likes.  Whenever an offer goes out,
its driver was heard from within the presence timeout, on no connection
that closed since.  Main had no presence: a phone that died kept getting
offers forever.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from places import AKWA, DEIDO, T0

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.events import Event, OfferSent
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import ManualClock, NullNotifier
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings

TIMEOUT_S = 60.0
DRIVERS = ("d0", "d1", "d2", "d3")
PLACES = [destination_point(AKWA, bearing, 0.5) for bearing in (0.0, 90.0, 180.0, 270.0)]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("online"), st.sampled_from(DRIVERS), st.integers(0, 3)),
        st.tuples(st.just("offline"), st.sampled_from(DRIVERS)),
        st.tuples(st.just("fix"), st.sampled_from(DRIVERS), st.integers(0, 3)),
        st.tuples(st.just("ping"), st.sampled_from(DRIVERS)),
        st.tuples(st.just("closed"), st.sampled_from(DRIVERS)),
        st.tuples(st.just("wait"), st.integers(1, 90)),
        st.tuples(st.just("order")),
        st.tuples(st.just("reject"), st.sampled_from(DRIVERS)),
        st.tuples(st.just("expire")),
    ),
    max_size=60,
)


class Model:
    """The service, and when each driver was last heard from as his phone knows it."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.service = DispatchService(
            pricing=douala_config(),
            settings=ServiceSettings(presence_timeout_s=TIMEOUT_S, offline_after_s=150),
            pool=PoolConfig.model_validate({"default": {"max_waiting_time_s": 20}}),
            clock=self.clock,
            notifier=NullNotifier(),
        )
        self.heard: dict[str, object] = {}
        self.closed: set[str] = set()
        self.offered: list[str] = []
        self.customers = itertools.count()
        self.service.subscribe(self.check)

    def check(self, event: Event) -> None:
        if not isinstance(event, OfferSent):
            return
        driver = event.driver_id
        heard = self.heard[driver]
        assert isinstance(heard, type(T0))
        assert (event.at - heard).total_seconds() <= TIMEOUT_S, (driver, heard, event.at)
        assert driver not in self.closed, driver
        self.offered.append(driver)

    def heard_from(self, driver: str) -> None:
        self.heard[driver] = self.clock.now()
        self.closed.discard(driver)

    def step(self, step: tuple[object, ...]) -> None:
        service, kind = self.service, step[0]
        if kind == "online":
            service.driver_online(str(step[1]), "taxi_jaune", PLACES[int(step[2])])  # type: ignore[call-overload]
            self.heard_from(str(step[1]))
        elif kind == "offline":
            service.driver_offline(str(step[1]))
        elif kind == "fix":
            driver = str(step[1])
            answer = service.update_position(driver, PLACES[int(step[2])])  # type: ignore[call-overload]
            if answer.reason != "offline":
                self.heard_from(driver)
        elif kind == "ping":
            service.ping(str(step[1]))
            self.heard_from(str(step[1]))
        elif kind == "closed":
            driver = str(step[1])
            heard = self.heard.get(driver)
            service.driver_unreachable(driver, heard_until=heard)  # type: ignore[arg-type]
            if driver in self.heard:
                self.closed.add(driver)
        elif kind == "wait":
            self.clock.advance(timedelta(seconds=int(step[1])))  # type: ignore[call-overload]
        elif kind == "order":
            service.create_order(f"c{next(self.customers)}", AKWA, DEIDO, "taxi_jaune", "CASH")
        elif kind == "reject":
            driver = str(step[1])
            held = service.drivers.get(driver).order_id
            if held is not None:
                service.reject(driver, held)
        else:
            service.expire_due()


@given(steps)
def test_presence_never_lets_a_silent_driver_receive_an_offer(
    plan: list[tuple[object, ...]],
) -> None:
    model = Model()
    for step in plan:
        try:
            model.step(step)
        except DispatchError:
            continue  # a refused step (a driver never online, an offer over): nothing done
