"""A service with rides in every state, and a snapshot of everything it stores.

Importable from every test folder as ``worlds`` (``tests/support`` is on the
path).  The input tests call a command with bad values and compare the
snapshot taken before with the one taken after: a refused call must leave
orders, drivers, positions, ride progress, wallets, statistics, ratings,
the command log, the quote book and the messages sent exactly as they were.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

from places import AKWA, DEIDO, T0

from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock, RecordingNotifier
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings

__all__ = ["World", "near_akwa"]

CONFIG = douala_config()


def near_akwa(km: float, bearing: float = 0.0) -> LatLng:
    """A point ``km`` from AKWA (the pickup of every order of the world)."""
    return destination_point(AKWA, bearing, km)


class World:
    """Drivers and orders in each state, on one set of in-memory stores.

    ``orders`` maps a state (``done``, ``in_progress``, ``accepted``,
    ``searching``) to its order's id; ``drivers`` maps the same keys to
    the driver concerned (``searching``: the driver offered the order) and
    ``free`` to an available driver; ``customers`` likewise.
    """

    def __init__(
        self, *, settings: ServiceSettings | None = None, pool: PoolConfig | None = None
    ) -> None:
        self.clock = ManualClock(T0)
        self.stores = InMemoryStores(self.clock)
        self.notifier = RecordingNotifier()
        self.service = DispatchService(
            pricing=CONFIG,
            settings=settings or ServiceSettings(arrive_radius_km=0.5),
            pool=pool,
            clock=self.clock,
            notifier=self.notifier,
            **self.stores.ports(),
        )
        self.orders: dict[str, str] = {}
        self.drivers: dict[str, str] = {}
        self.customers: dict[str, str] = {}
        self.stores.wallet.credit("c-done", Decimal(20_000), "XAF")
        for state in ("done", "in_progress", "accepted", "searching"):
            self._order_in(state)
        self.drivers["free"] = "d-free"
        self.service.driver_online("d-free", "confort", near_akwa(0.2, 90))
        self.stores.stats.record("d-free", "refused", self.clock.now())

    def _order_in(self, state: str) -> None:
        s = self.service
        driver, customer = f"d-{state}", f"c-{state}"
        self.drivers[state], self.customers[state] = driver, customer
        s.driver_online(driver, "taxi_jaune", near_akwa(0.1))
        method = "WALLET" if state == "done" else "CASH"
        order = s.create_order(customer, AKWA, DEIDO, "taxi_jaune", method).id
        self.orders[state] = order
        if state == "searching":
            return
        s.accept(driver, order)
        self.clock.advance(timedelta(seconds=5))
        s.update_position(driver, near_akwa(0.05))
        if state == "accepted":
            return
        s.arrived(driver, order)
        s.start_trip(driver, order)
        self.clock.advance(timedelta(minutes=4))
        s.update_position(driver, destination_point(DEIDO, 180, 0.5))
        if state == "in_progress":
            return
        s.complete_trip(driver, order)

    def snapshot(self) -> object:
        """Everything the world stores, copied (compare two with ``==``).

        Orders, statuses and progress are frozen records: copying their
        dictionaries is enough; the mutable rest is copied deeply.
        """
        st = self.stores
        index = st.drivers._index
        return (
            dict(st.orders._orders),
            dict(st.orders._deadlines),
            dict(st.drivers._drivers),
            sorted((d, index.position(d), index.vehicle_type(d)) for d in index),
            dict(st.progress._progress),
            list(st.commands._records.items()),
            list(st.quotes._quotes.items()),
            [(r, m.model_dump_json()) for r, m in self.notifier.sent],
            copy.deepcopy(
                (
                    dict(st.orders._by_party),
                    dict(st.wallet._balances),
                    st.wallet._holds,
                    st.wallet._ops,
                    st.stats._stats,
                    st.ratings._totals,
                )
            ),
        )
