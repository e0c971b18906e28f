"""A whole ride of seed 000 on the in-memory defaults, printed as the parties see it.

Two drivers go online in Douala; a customer searches, orders a Taxi Jaune
paid from her wallet; the nearest driver lets the offer expire, the next
one accepts, drives to the pickup, arrives, takes her to Deido and ends
the trip; both sides rate.  Run it from the repository root:

    python examples/full_ride.py
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.memory import InMemoryStores, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)


def drive(
    service: DispatchService,
    clock: ManualClock,
    driver: str,
    start: LatLng,
    end: LatLng,
    steps: int,
) -> None:
    """Move ``driver`` from ``start`` to ``end`` in ``steps`` GPS fixes, 10 s apart."""
    total = haversine_km(start, end)
    bearing = initial_bearing_deg(start, end)
    for i in range(1, steps + 1):
        clock.advance(timedelta(seconds=10))
        service.update_position(driver, destination_point(start, bearing, total * i / steps))


def main() -> Order:
    """Play the ride; print every message; return the finished order."""
    clock = ManualClock(datetime(2026, 11, 21, 17, 30, tzinfo=UTC))
    notifier = RecordingNotifier()
    stores = InMemoryStores()
    stores.wallet.credit("chantal", Decimal("10000"), "XAF")
    service = build_service(douala_config(), stores, clock=clock, notifier=notifier)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0540, 9.7060))
    service.driver_online("brice", "taxi_jaune", LatLng(4.0480, 9.7000))

    for line in service.search(AKWA, DEIDO):
        print(
            f"search: {line.label} x{line.count}, nearest {line.nearest_km:.2f} km,"
            f" {line.quote.display}"
        )
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    print(f"order {order.id}: {order.state}, offered to {order.offered_to}")

    clock.advance(timedelta(seconds=31))  # amadou does not answer
    service.expire_due()
    order = service.orders.get(order.id)
    print(f"no answer: offered to {order.offered_to}")
    assert order.offered_to is not None
    driver = order.offered_to
    service.accept(driver, order.id)
    drive(service, clock, driver, service.drivers.get(driver).position, AKWA, 6)
    service.arrived(driver, order.id)
    clock.advance(timedelta(minutes=2))
    service.start_trip(driver, order.id)
    drive(service, clock, driver, AKWA, DEIDO, 20)
    order = service.complete_trip(driver, order.id)
    service.rate(Actor.customer("chantal"), order.id, 5, "Très bien")
    order = service.rate(Actor.driver(driver), order.id, 4)

    for recipient, message in notifier.sent:
        if recipient.role in ("customer", "driver"):
            print(f"-> {recipient.role} {recipient.id}: {message.model_dump_json()[:110]}")
    assert order.final_fare is not None
    print(
        f"final: {order.final_fare.amount} {order.final_fare.currency}"
        f" ({order.final_fare.reason}), paid {order.amount_paid}, {order.payment_status}"
    )
    print(f"wallet left: {stores.wallet.balance('chantal', 'XAF')} XAF")
    return order


if __name__ == "__main__":
    main()
