"""Orders and ride progress as JSON-ready dicts, and back: what the ORM columns store.

A :class:`~vtc_dispatch.pricing.quote.FareQuote` explains its estimate
lazily (its breakdown is a cached property built from a closure); the
stored form keeps the breakdown lines themselves, so an order read back
explains its fare without the pricing configuration it was quoted with.

>>> from samples import new_order
>>> order = new_order("o-1")
>>> order_from_json(order_to_json(order)) == order
True
>>> order_to_json(order)["quote"]["breakdown"][0]["code"]
'base_fare'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from vtc_dispatch.errors import StorageUnavailable
from vtc_dispatch.fsm import RIDE, Lifecycle, StateMachine
from vtc_dispatch.fsm.machine import HistoryEntry
from vtc_dispatch.fsm.presets import DELIVERY, FREIGHT
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import (
    Actor,
    Bid,
    Cancellation,
    LiveOffer,
    Order,
    PaymentStatus,
    Rating,
    RideProgress,
)
from vtc_dispatch.ports import RouteEstimate
from vtc_dispatch.pricing.quote import BreakdownLine, FareQuote, FinalFare, PriceChange
from vtc_dispatch.tracking import Flag, Track, TrackPoint, TrackPolicy

__all__ = [
    "FORMAT",
    "order_from_json",
    "order_to_json",
    "progress_from_json",
    "progress_to_json",
    "quote_from_json",
    "quote_to_json",
]

FORMAT = 1
"""Version of the stored form; a record of another version is refused, not guessed."""

_MACHINES: dict[str, StateMachine] = {m.name: m for m in (RIDE, FREIGHT, DELIVERY)}

Json = dict[str, Any]


def _point(p: LatLng) -> list[float]:
    return [p.lat, p.lng]


def _latlng(v: Any) -> LatLng:
    return LatLng(float(v[0]), float(v[1]))


def _dt(v: datetime) -> str:
    return v.isoformat()


def _at(v: str) -> datetime:
    return datetime.fromisoformat(v)


def _opt_dt(v: datetime | None) -> str | None:
    return None if v is None else v.isoformat()


def _opt_at(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)


def _opt_dec(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _lines(lines: tuple[BreakdownLine, ...]) -> list[Json]:
    return [{"code": x.code, "label": x.label, "amount": str(x.amount)} for x in lines]


def _lines_back(v: list[Json]) -> tuple[BreakdownLine, ...]:
    return tuple(BreakdownLine(x["code"], x["label"], Decimal(x["amount"])) for x in v)


def _changes(changes: tuple[PriceChange, ...]) -> list[Json]:
    return [
        {
            "from": _opt_dec(c.from_amount),
            "to": str(c.to_amount),
            "reason": c.reason,
            "at": _dt(c.at),
        }
        for c in changes
    ]


def _changes_back(v: list[Json]) -> tuple[PriceChange, ...]:
    return tuple(
        PriceChange(
            None if c["from"] is None else Decimal(c["from"]),
            Decimal(c["to"]),
            c["reason"],
            _at(c["at"]),
        )
        for c in v
    )


def quote_to_json(quote: FareQuote) -> Json:
    """A quote with its breakdown lines materialised (the closure is not stored)."""
    r = quote.route
    return {
        "vehicle_type": quote.vehicle_type,
        "city": quote.city,
        "currency": quote.currency,
        "estimate": str(quote.estimate),
        "minimum": str(quote.minimum),
        "maximum": str(quote.maximum),
        "display": quote.display,
        "rules_applied": list(quote.rules_applied),
        "route": [
            r.distance_km,
            r.duration_min,
            r.distance_low_km,
            r.distance_high_km,
            r.duration_low_min,
            r.duration_high_min,
        ],
        "distance_km": str(quote.distance_km),
        "duration_min": str(quote.duration_min),
        "pickup": _point(quote.pickup),
        "dropoff": _point(quote.dropoff),
        "at": _dt(quote.at),
        "demand_multiplier": str(quote.demand_multiplier),
        "supplements": list(quote.supplements),
        "fixed_route": quote.fixed_route,
        "breakdown": _lines(quote.breakdown),
    }


def quote_from_json(v: Json) -> FareQuote:
    """The quote back; its breakdown is the stored lines."""
    lines = _lines_back(v["breakdown"])
    return FareQuote(
        vehicle_type=v["vehicle_type"],
        city=v["city"],
        currency=v["currency"],
        estimate=Decimal(v["estimate"]),
        minimum=Decimal(v["minimum"]),
        maximum=Decimal(v["maximum"]),
        display=v["display"],
        rules_applied=tuple(v["rules_applied"]),
        route=RouteEstimate(*(float(x) for x in v["route"])),
        distance_km=Decimal(v["distance_km"]),
        duration_min=Decimal(v["duration_min"]),
        pickup=_latlng(v["pickup"]),
        dropoff=_latlng(v["dropoff"]),
        at=_at(v["at"]),
        demand_multiplier=Decimal(v["demand_multiplier"]),
        supplements=tuple(v["supplements"]),
        fixed_route=v["fixed_route"],
        explain=lambda: lines,
    )


def _fare(f: FinalFare | None) -> Json | None:
    if f is None:
        return None
    return {
        "amount": str(f.amount),
        "currency": f.currency,
        "vehicle_type": f.vehicle_type,
        "city": f.city,
        "reason": f.reason,
        "breakdown": _lines(f.breakdown),
        "rules_applied": list(f.rules_applied),
        "distance_km": str(f.distance_km),
        "duration_min": str(f.duration_min),
        "changes": _changes(f.changes),
    }


def _fare_back(v: Json | None) -> FinalFare | None:
    if v is None:
        return None
    return FinalFare(
        amount=Decimal(v["amount"]),
        currency=v["currency"],
        vehicle_type=v["vehicle_type"],
        city=v["city"],
        reason=v["reason"],
        breakdown=_lines_back(v["breakdown"]),
        rules_applied=tuple(v["rules_applied"]),
        distance_km=Decimal(v["distance_km"]),
        duration_min=Decimal(v["duration_min"]),
        changes=_changes_back(v["changes"]),
    )


def _lifecycle(lc: Lifecycle) -> Json:
    return {
        "machine": lc.machine.name,
        "state": lc.state,
        "created_at": _dt(lc.created_at),
        "entered_at": {k: _dt(t) for k, t in lc.entered_at.items()},
        "history": [
            {
                "event": h.event,
                "source": h.source,
                "target": h.target,
                "actor": h.actor,
                "at": _dt(h.at),
                "reason": h.reason,
            }
            for h in lc.history
        ],
    }


def _lifecycle_back(order_id: str, v: Json) -> Lifecycle:
    machine = _MACHINES.get(v["machine"])
    if machine is None:
        raise StorageUnavailable(
            f"order {order_id!r} is stored with an unknown state machine {v['machine']!r}"
        )
    return Lifecycle(
        machine=machine,
        subject_id=order_id,
        state=v["state"],
        history=tuple(
            HistoryEntry(
                h["event"], h["source"], h["target"], h["actor"], _at(h["at"]), h["reason"]
            )
            for h in v["history"]
        ),
        entered_at={k: _at(t) for k, t in v["entered_at"].items()},
        created_at=_at(v["created_at"]),
    )


def _track(t: Track) -> Json:
    p = t.policy
    return {
        "policy": [p.max_speed_kmh, p.max_delay_s, p.corridor_km, p.max_clock_skew_s],
        "points": [
            [x.position.lat, x.position.lng, _dt(x.at), None if x.flag is None else str(x.flag)]
            for x in t.points
        ],
    }


def _track_back(v: Json) -> Track:
    speed, delay, corridor, skew = v["policy"]
    return Track(
        tuple(
            TrackPoint(LatLng(lat, lng), _at(at), None if flag is None else Flag(flag))
            for lat, lng, at, flag in v["points"]
        ),
        TrackPolicy(speed, delay, corridor, skew),
    )


def _actor(a: Actor) -> list[str]:
    return [a.role, a.id]


def order_to_json(order: Order) -> Json:
    """Every field of ``order`` but its version (the version is a column of its own)."""
    c = order.cancellation
    return {
        "format": FORMAT,
        "id": order.id,
        "customer_id": order.customer_id,
        "vehicle_type": order.vehicle_type,
        "pickup": _point(order.pickup),
        "dropoff": _point(order.dropoff),
        "payment_method": order.payment_method,
        "quote": quote_to_json(order.quote),
        "lifecycle": _lifecycle(order.lifecycle),
        "created_at": _dt(order.created_at),
        "driver_id": order.driver_id,
        "offers": [
            [o.driver_id, o.distance_km, _dt(o.sent_at), _dt(o.expires_at), o.shown]
            for o in order.offers
        ],
        "offers_made": order.offers_made,
        "bids": [[b.driver_id, str(b.amount), _dt(b.at)] for b in order.bids],
        "agreed_price": _opt_dec(order.agreed_price),
        "tried": sorted(order.tried),
        "approach": _track(order.approach),
        "trip": _track(order.trip),
        "route_changed": order.route_changed,
        "final_fare": _fare(order.final_fare),
        "price_history": _changes(order.price_history),
        "payment_status": str(order.payment_status),
        "wallet_hold": order.wallet_hold,
        "amount_paid": str(order.amount_paid),
        "cancellation": None
        if c is None
        else {"by": _actor(c.by), "reason": c.reason, "fee": str(c.fee), "at": _dt(c.at)},
        "ratings": [
            {
                "by": _actor(r.by),
                "about_id": r.about_id,
                "stars": r.stars,
                "comment": r.comment,
                "at": _dt(r.at),
            }
            for r in order.ratings
        ],
    }


def order_from_json(v: Mapping[str, Any], version: int = 0) -> Order:
    """The order stored as ``v``, at ``version``.

    A record of another :data:`FORMAT` or a broken one raises
    :class:`~vtc_dispatch.errors.StorageUnavailable` naming the order.
    """
    order_id = str(v.get("id"))
    if v.get("format") != FORMAT:
        raise StorageUnavailable(
            f"order {order_id!r} is stored in format {v.get('format')!r}, this code reads {FORMAT}"
        )
    try:
        c = v["cancellation"]
        return Order(
            id=v["id"],
            customer_id=v["customer_id"],
            vehicle_type=v["vehicle_type"],
            pickup=_latlng(v["pickup"]),
            dropoff=_latlng(v["dropoff"]),
            payment_method=v["payment_method"],
            quote=quote_from_json(v["quote"]),
            lifecycle=_lifecycle_back(v["id"], v["lifecycle"]),
            created_at=_at(v["created_at"]),
            version=version,
            driver_id=v["driver_id"],
            offers=tuple(
                LiveOffer(d, float(km), _at(sent), _at(exp), bool(shown))
                for d, km, sent, exp, shown in v["offers"]
            ),
            offers_made=int(v["offers_made"]),
            bids=tuple(Bid(d, Decimal(a), _at(at)) for d, a, at in v["bids"]),
            agreed_price=None if v["agreed_price"] is None else Decimal(v["agreed_price"]),
            tried=frozenset(v["tried"]),
            approach=_track_back(v["approach"]),
            trip=_track_back(v["trip"]),
            route_changed=bool(v["route_changed"]),
            final_fare=_fare_back(v["final_fare"]),
            price_history=_changes_back(v["price_history"]),
            payment_status=PaymentStatus(v["payment_status"]),
            wallet_hold=v["wallet_hold"],
            amount_paid=Decimal(v["amount_paid"]),
            cancellation=None
            if c is None
            else Cancellation(Actor(*c["by"]), c["reason"], Decimal(c["fee"]), _at(c["at"])),
            ratings=tuple(
                Rating(Actor(*r["by"]), r["about_id"], r["stars"], r["comment"], _at(r["at"]))
                for r in v["ratings"]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageUnavailable(f"order {order_id!r} is stored in a broken form: {exc!r}") from exc


def progress_to_json(progress: RideProgress) -> Json:
    """Every field of ``progress`` but its order id and version (columns of their own)."""
    return {
        "approach": _track(progress.approach),
        "trip": _track(progress.trip),
        "route_changed": progress.route_changed,
        "last_location_sent_at": _opt_dt(progress.last_location_sent_at),
        "arriving_sent": progress.arriving_sent,
    }


def progress_from_json(order_id: str, v: Mapping[str, Any], version: int) -> RideProgress:
    """The progress of ``order_id`` stored as ``v``, at ``version``."""
    return RideProgress(
        order_id=order_id,
        approach=_track_back(v["approach"]),
        trip=_track_back(v["trip"]),
        route_changed=bool(v["route_changed"]),
        last_location_sent_at=_opt_at(v["last_location_sent_at"]),
        arriving_sent=bool(v["arriving_sent"]),
        version=version,
    )
