"""What a customer's search screen shows in Douala: per vehicle type with drivers
nearby, how many there are, the nearest one, and the fare range.

Run it from the repository root after installing the package:

    python examples/search_screen.py
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from vtc_dispatch import DriverIndex, LatLng
from vtc_dispatch.geo import destination_point
from vtc_dispatch.pricing import Pricer, douala_config

SEARCH_RADIUS_KM = 3.0


def main() -> list[str]:
    """Print the search screen and return its lines."""
    rng = random.Random(2026)
    drivers = DriverIndex()
    centre = LatLng(4.05, 9.71)
    for i in range(300):
        where = destination_point(centre, rng.uniform(0, 360), rng.uniform(0, 6))
        drivers.upsert(f"driver-{i:03d}", where, rng.choice(["taxi_jaune", "confort"]))
    pricer = Pricer(douala_config())
    pickup = LatLng(4.0511, 9.7043)  # Akwa
    dropoff = LatLng(4.0100, 9.7200)  # the airport: a fixed price applies
    at = datetime(2026, 11, 21, 18, 30, tzinfo=UTC)
    counts = drivers.count_within(pickup, SEARCH_RADIUS_KM)
    quotes = pricer.quote_all(pickup, dropoff, at, vehicle_types=counts)
    screen = []
    for vehicle_type, quote in quotes.items():
        ((_, nearest_km),) = drivers.nearest(
            pickup, 1, SEARCH_RADIUS_KM, vehicle_types={vehicle_type}
        )
        label = pricer.config.vehicle_types[vehicle_type].label
        screen.append(
            f"{label:<11} {counts[vehicle_type]:>2} drivers, nearest {nearest_km:.1f} km,"
            f" {quote.display}"
        )
    print("\n".join(screen))
    return screen


if __name__ == "__main__":
    main()
