"""What must hold in a tenant's Redis whatever failed: one function per invariant.

Each function reads a :class:`~vtc_dispatch_redis.RedisStorage` (best
without fault injection in between) and returns the problems it found as
sentences, empty when the invariant holds.  They read through the
adapter's ports; the few things no port tells (the wallet holds, the
streams, which drivers have active orders) go through the adapter's key
names (``settings.key``, ``stream_name``) in the layout of ``docs/redis.md``,
each in one helper here.

>>> from vtc_dispatch.fsm import RideState
>>> sorted(ENDED) == sorted([RideState.DONE, RideState.CANCELLED, RideState.NO_DRIVER])
True
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from vtc_dispatch.errors import NotFound
from vtc_dispatch.fsm import RideState
from vtc_dispatch.order import Order
from vtc_dispatch_redis import RedisSettings, RedisStorage, stream_name

__all__ = [
    "ENDED",
    "ONCE_PER_ORDER",
    "ON_ORDER",
    "drivers_not_reserved_for_their_ride",
    "drivers_on_two_orders",
    "duplicate_messages",
    "money_not_conserved",
    "orders_not_ended_once",
    "orders_of",
    "rating_totals_wrong",
    "watch_drivers",
]

ENDED = frozenset({RideState.DONE, RideState.CANCELLED, RideState.NO_DRIVER})
ON_ORDER = frozenset({RideState.ACCEPTED, RideState.ARRIVED, RideState.IN_PROGRESS})
ONCE_PER_ORDER = frozenset(
    {
        "offer",
        "offer_withdrawn",
        "driver_assigned",
        "driver_arrived",
        "trip_started",
        "trip_completed",
        "order_cancelled",
        "no_driver_found",
    }
)
"""Messages a recipient gets at most once per order when no driver withdraws and no
customer searches again (each of them is the answer to one command)."""

_ALL = 1000


def orders_of(storage: RedisStorage, customer_id: str) -> list[Order]:
    """Every order of a customer, newest first."""
    return storage.orders.find("customer", customer_id, limit=_ALL)


def _active_driver_orders(storage: RedisStorage, driver_ids: list[str]) -> dict[str, int]:
    """Driver -> how many active orders name him (``P:ad:<driver>``), one pipeline."""
    pipe: Any = storage.client.pipeline(transaction=False)
    for driver_id in driver_ids:
        pipe.zcard(storage.settings.key("ad", driver_id))
    return {d: int(n) for d, n in zip(driver_ids, pipe.execute(), strict=True) if int(n) > 1}


def drivers_on_two_orders(storage: RedisStorage, driver_ids: Iterable[str]) -> list[str]:
    """No driver is the driver of two orders at once (accepted, arrived or on the trip)."""
    problems = []
    for driver_id in _active_driver_orders(storage, list(driver_ids)):
        found = storage.orders.find("driver", driver_id, active=True, limit=_ALL)
        on = [o.id for o in found if o.driver_id == driver_id and o.state in ON_ORDER]
        if len(on) > 1:
            problems.append(f"driver {driver_id} is on {len(on)} orders at once: {on}")
    return problems


def drivers_not_reserved_for_their_ride(
    storage: RedisStorage, driver_ids: Iterable[str]
) -> list[str]:
    """A driver on an order (accepted, arrived, on the trip) is reserved for it in the registry.

    One MULTI/EXEC snapshot of every driver's active orders (``P:ad:``) and
    reservation (``P:d:`` field ``o``); what it flags is read again through
    the ports (the driver, then the order) before it is reported.
    """
    ids = list(driver_ids)
    pipe: Any = storage.client.pipeline(transaction=True)
    for driver_id in ids:
        pipe.zrange(storage.settings.key("ad", driver_id), 0, -1)
        pipe.hget(storage.settings.key("d", driver_id), "o")
    flat = pipe.execute()
    problems = []
    for i, driver_id in enumerate(ids):
        active, held = flat[2 * i], flat[2 * i + 1] or None
        for order_id in active:
            if order_id == held:
                continue
            now_held = storage.drivers.get(driver_id).order_id
            order = storage.orders.get(order_id)
            if order.state in ON_ORDER and order.driver_id == driver_id and now_held != order_id:
                problems.append(
                    f"driver {driver_id} is on order {order_id} ({order.state}) but the registry"
                    f" reserves him for {now_held!r}"
                )
    return problems


def _holds(storage: RedisStorage) -> dict[str, Decimal]:
    """Customer -> the sum of his open wallet holds (``P:wh:<hold>``: ``c``, ``amt``)."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    client: Any = storage.client
    for key in client.scan_iter(match=storage.settings.key("wh", "*"), count=1000):
        hold = client.hgetall(key)
        if hold:
            held[hold["c"]] += Decimal(hold["amt"])
    return held


def money_not_conserved(
    storage: RedisStorage, credited: Mapping[str, Decimal], currency: str
) -> list[str]:
    """For each customer: balance + open holds + paid by wallet = what was credited."""
    holds = _holds(storage)
    problems = []
    for customer_id, amount in sorted(credited.items()):
        balance = storage.wallet.balance(customer_id, currency)
        paid = sum(
            (
                o.amount_paid
                for o in orders_of(storage, customer_id)
                if o.payment_method == "WALLET"
            ),
            Decimal(0),
        )
        held = holds.get(customer_id, Decimal(0))
        if balance + held + paid != amount:
            problems.append(
                f"customer {customer_id}: balance {balance} + holds {held} + paid {paid}"
                f" = {balance + held + paid} {currency}, credited {amount}"
                f" (off by {balance + held + paid - amount})"
            )
    return problems


def rating_totals_wrong(
    storage: RedisStorage, customer_ids: Iterable[str], driver_ids: Iterable[str]
) -> list[str]:
    """Each party's rating total and count equal the sum and number of the stored ratings."""
    customers = list(customer_ids)
    given: dict[str, list[int]] = defaultdict(list)
    for customer_id in customers:
        for order in orders_of(storage, customer_id):
            for rating in order.ratings:
                given[rating.about_id].append(rating.stars)
    problems = []
    for customer_id in customers:
        total, count = storage.ratings.totals(customer_id)
        stars = given.get(customer_id, [])
        if (total, count) != (sum(stars), len(stars)):
            problems.append(
                f"customer {customer_id}: rating total {total} over {count},"
                f" stored ratings {sum(stars)} over {len(stars)}"
            )
    for driver_id in driver_ids:
        try:
            status = storage.drivers.get(driver_id)
        except NotFound:
            continue
        stars = given.get(driver_id, [])
        if (status.rating_sum, status.rating_count) != (sum(stars), len(stars)):
            problems.append(
                f"driver {driver_id}: rating total {status.rating_sum} over"
                f" {status.rating_count}, stored ratings {sum(stars)} over {len(stars)}"
            )
    return problems


def duplicate_messages(storage: RedisStorage) -> list[str]:
    """No message appended twice: an entry repeated, or a once-per-order message repeated."""
    problems = []
    client: Any = storage.client
    for role in ("driver", "customer", "watchers"):
        stream = stream_name(storage.settings, role)
        entries = client.xrange(stream)
        exact = Counter((f["to"], f["json"]) for _, f in entries)
        for (to, body), n in exact.items():
            if n > 1:
                problems.append(f"{stream}: the same entry {n} times for {to}: {body[:120]}")
        # Told twice in different words (a command run twice at different times).
        once: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for _, fields in entries:
            if fields["type"] in ONCE_PER_ORDER:
                order_id = json.loads(fields["json"]).get("order_id", "?")
                once[fields["to"], fields["type"], order_id].add(fields["json"])
        for (to, kind, order_id), bodies in once.items():
            if len(bodies) > 1:
                problems.append(
                    f"{stream}: {len(bodies)} different {kind!r} messages to {to}"
                    f" for order {order_id}"
                )
    return problems


def orders_not_ended_once(storage: RedisStorage, customer_ids: Iterable[str]) -> list[str]:
    """Each customer has at most one order; it ended once, or is still legitimately live.

    Live means searching with a live offer or a deadline due, or on a ride
    with its driver reserved for it in the registry.
    """
    problems = []
    for customer_id in customer_ids:
        orders = orders_of(storage, customer_id)
        if len(orders) > 1:
            problems.append(
                f"customer {customer_id} ordered once and has {len(orders)} orders:"
                f" {[(o.id, str(o.state)) for o in orders]}"
            )
        for order in orders:
            states = [h.target for h in order.lifecycle.history]
            endings = sum(states.count(s) for s in (RideState.DONE, RideState.CANCELLED))
            if endings > 1:
                problems.append(f"order {order.id} ended {endings} times: {states}")
            if order.state in ENDED:
                continue
            if order.state == RideState.SEARCHING:
                if not order.offers and order.next_deadline is None:
                    problems.append(f"order {order.id} is searching with no offer and no deadline")
                    continue
                holders = [o.driver_id for o in order.offers]
            elif order.state in ON_ORDER and order.driver_id is not None:
                holders = [order.driver_id]
            else:
                problems.append(f"order {order.id} is stuck {order.state}")
                continue
            for driver_id in holders:
                held = storage.drivers.get(driver_id).order_id
                if held != order.id:
                    problems.append(
                        f"order {order.id} is {order.state} with {driver_id},"
                        f" whom the registry reserves for {held!r}"
                    )
    return problems


def watch_drivers(
    settings: dict[str, Any], driver_ids: list[str], stop: Any, out: Any, interval_s: float = 0.05
) -> None:
    """Check the drivers' two invariants every ``interval_s`` until ``stop`` is set.

    Meant for a side process (``multiprocessing``, spawn): puts on ``out``
    the problems seen (each once) and then the number of sweeps.
    """
    storage = RedisStorage(RedisSettings(**settings))
    seen: set[str] = set()
    sweeps = 0
    while not stop.is_set():
        began = time.monotonic()
        found = drivers_on_two_orders(storage, driver_ids)
        found += drivers_not_reserved_for_their_ride(storage, driver_ids)
        for problem in found:
            if problem not in seen:
                seen.add(problem)
                out.put(("problem", f"at sweep {sweeps}: {problem}"))
        sweeps += 1
        time.sleep(max(0.0, interval_s - (time.monotonic() - began)))
    out.put(("sweeps", sweeps))
