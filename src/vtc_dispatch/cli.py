"""The ``vtc-dispatch`` command: ``simulate`` (the default) and ``demo``.

``vtc-dispatch`` alone simulates a day of dispatch in Douala
(:mod:`vtc_dispatch.sim.cli`); ``demo`` shows the in-memory driver index:

>>> main(["demo", "--drivers", "200", "--seed", "7", "--nearest", "2"])  # doctest: +ELLIPSIS
200 drivers online within 15 km of Douala (seed 7)
...
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence

from vtc_dispatch.geo.index import DriverIndex
from vtc_dispatch.geo.sphere import LatLng, destination_point, initial_bearing_deg
from vtc_dispatch.sim import cli as sim_cli

__all__ = ["main"]

DOUALA = LatLng(4.05, 9.70)
AKWA = LatLng(4.0511, 9.7043)
VEHICLE_TYPES = ("taxi_jaune", "confort", "moto", "van")
# Share of each type in a Douala fleet, roughly: yellow taxis dominate.
TYPE_WEIGHTS = (0.55, 0.2, 0.2, 0.05)
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _demo(drivers: int, seed: int, vehicle_type: str, radius_km: float, nearest: int) -> None:
    rng = random.Random(seed)
    index = DriverIndex()
    for i in range(drivers):
        # Uniform over the disc: the square root keeps the density even.
        where = destination_point(DOUALA, rng.uniform(0.0, 360.0), 15.0 * math.sqrt(rng.random()))
        index.upsert(f"driver-{i:05d}", where, rng.choices(VEHICLE_TYPES, TYPE_WEIGHTS)[0])
    print(f"{len(index)} drivers online within 15 km of Douala (seed {seed})")
    print(f"Pickup: Akwa {AKWA.lat:.4f}, {AKWA.lng:.4f}; search radius {radius_km:g} km")
    print()
    counts = index.count_within(AKWA, radius_km)
    print(f"{'vehicle type':<12} {'drivers':>7}")
    for vt in VEHICLE_TYPES:
        if vt in counts:
            print(f"{vt:<12} {counts[vt]:>7}")
    print()
    found = index.nearest(AKWA, nearest, radius_km, vehicle_types={vehicle_type})
    print(f"Nearest {vehicle_type} drivers:")
    print(f"{'#':>2}  {'driver':<12} {'km':>6}  {'from':<4}")
    for rank, (driver_id, km) in enumerate(found, start=1):
        bearing = initial_bearing_deg(AKWA, index.position(driver_id))
        side = COMPASS[round(bearing / 45.0) % 8]
        print(f"{rank:>2}  {driver_id:<12} {km:>6.3f}  {side:<4}")
    if not found:
        print(f"   none within {radius_km:g} km")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="vtc-dispatch", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="drivers online around Douala, nearest of a type")
    demo.add_argument("--drivers", type=int, default=2000, help="drivers to put online")
    demo.add_argument("--seed", type=int, default=1, help="random seed")
    demo.add_argument("--type", dest="vehicle_type", default="confort", choices=VEHICLE_TYPES)
    demo.add_argument("--radius-km", type=float, default=3.0, help="search radius")
    demo.add_argument("--nearest", type=int, default=5, help="how many drivers to list")
    simulate = sim_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command in (None, "simulate"):
        if args.command is None:
            args = simulate.parse_args([])
        return sim_cli.run(args, simulate)
    if args.command == "demo":
        if args.drivers < 0 or args.nearest < 0 or not args.radius_km >= 0.0:
            parser.error("--drivers, --nearest and --radius-km must be >= 0")
        _demo(args.drivers, args.seed, args.vehicle_type, args.radius_km, args.nearest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
