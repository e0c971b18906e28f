"""The customer's search screen: vehicle types with drivers nearby, their counts and prices."""

from __future__ import annotations

from vtc_dispatch.commands.context import Context
from vtc_dispatch.commands.dispatching import quote_key
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.settings import Availability

__all__ = ["search"]


def search(ctx: Context, pickup: LatLng, dropoff: LatLng) -> list[Availability]:
    """See :meth:`vtc_dispatch.service.DispatchService.search`."""
    now = ctx.clock.now()
    radius = ctx.settings.search_radius_km
    cap = ctx.settings.search_count_cap
    heard = ctx.heard_since(now)
    # One more than the cap tells "exactly cap" from "more than cap".
    counts = ctx.drivers.count_available(
        pickup, radius, cap=None if cap is None else cap + 1, seen_since=heard
    )
    if not counts:
        # Nothing to price, yet a trip outside the priced cities is refused all the same.
        ctx.pricer.city_at(pickup, "pickup")
        ctx.pricer.city_at(dropoff, "dropoff")
        return []
    quotes = ctx.pricer.quote_all(pickup, dropoff, now, vehicle_types=counts)
    valid_s = ctx.settings.quote_valid_s
    lines = []
    for vehicle_type, quote in quotes.items():
        nearest = ctx.drivers.nearest_available(
            pickup, 1, radius, (vehicle_type,), seen_since=heard
        )
        if not nearest:
            continue  # the driver left between the count and now
        if valid_s > 0:
            ctx.quotes.remember(quote_key(pickup, dropoff, vehicle_type), quote, valid_s)
        km = nearest[0][1]
        lines.append(
            Availability(
                vehicle_type=vehicle_type,
                label=ctx.pricer.config.vehicle_types[vehicle_type].label,
                count=counts[vehicle_type] if cap is None else min(counts[vehicle_type], cap),
                nearest_km=km,
                eta_s=ctx.eta_s_in(quote.city, km),
                quote=quote,
                count_capped=cap is not None and counts[vehicle_type] > cap,
            )
        )
    return lines
