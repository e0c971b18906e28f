"""Orders and ride progress to compact JSON and back, for storage in Redis.

Positional arrays keep a stored order small (see ``docs/redis.md`` for the
bytes per order).  Times are integer microseconds since the epoch when they
are in UTC (the service's clocks give UTC), an ISO 8601 string otherwise;
amounts are Decimal strings, so nothing is rounded.  A quote's breakdown is
worked out lazily by the pricer; it is stored as its lines and rebuilt as a
closure returning them, so the decoded quote explains itself the same way.

>>> import attrs
>>> from datetime import UTC, datetime
>>> from vtc_dispatch.fsm import RIDE
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.order import Order
>>> from vtc_dispatch.pricing import Pricer, douala_config
>>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
>>> a, b = LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250)
>>> quote = Pricer(douala_config()).quote(a, b, "taxi_jaune", t0)
>>> order = Order("o1", "alice", "taxi_jaune", a, b, "CASH", quote, RIDE.start("o1", t0), t0)
>>> back = decode_order(encode_order(order), version=3)
>>> back == attrs.evolve(order, version=3), back.quote.breakdown == quote.breakdown
(True, True)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from vtc_dispatch.fsm import DELIVERY, FREIGHT, RIDE, Lifecycle, StateMachine
from vtc_dispatch.fsm.machine import HistoryEntry
from vtc_dispatch.geo import LatLng
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
    "CodecError",
    "decode_order",
    "decode_progress",
    "encode_order",
    "encode_progress",
    "json_id",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MACHINES: dict[str, StateMachine] = {m.name: m for m in (RIDE, FREIGHT, DELIVERY)}

Json = Any


class CodecError(ValueError):
    """A stored record cannot be read back (corrupt, or written by another version)."""


def _t(moment: datetime) -> Json:
    if moment.tzinfo is UTC:
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return moment.isoformat()


def _dt(value: Json) -> datetime:
    if isinstance(value, int):
        return _EPOCH + timedelta(microseconds=value)
    return datetime.fromisoformat(value)


def _opt_t(moment: datetime | None) -> Json:
    return None if moment is None else _t(moment)


def _opt_dt(value: Json) -> datetime | None:
    return None if value is None else _dt(value)


def _p(point: LatLng) -> Json:
    return [point.lat, point.lng]


def _ll(value: Json) -> LatLng:
    return LatLng(value[0], value[1])


def _d(amount: Decimal | None) -> Json:
    return None if amount is None else str(amount)


def _dec(value: Json) -> Decimal:
    return Decimal(value)


def _opt_dec(value: Json) -> Decimal | None:
    return None if value is None else Decimal(value)


def _lines(lines: tuple[BreakdownLine, ...]) -> Json:
    return [[line.code, line.label, str(line.amount)] for line in lines]


def _unlines(value: Json) -> tuple[BreakdownLine, ...]:
    return tuple(BreakdownLine(code, label, Decimal(amount)) for code, label, amount in value)


def _changes(changes: tuple[PriceChange, ...]) -> Json:
    return [[_d(c.from_amount), str(c.to_amount), c.reason, _t(c.at)] for c in changes]


def _unchanges(value: Json) -> tuple[PriceChange, ...]:
    return tuple(PriceChange(_opt_dec(f), Decimal(to), r, _dt(at)) for f, to, r, at in value)


def _explained(lines: tuple[BreakdownLine, ...]) -> Callable[[], tuple[BreakdownLine, ...]]:
    return lambda: lines


def _quote(q: FareQuote) -> Json:
    r = q.route
    return [
        q.vehicle_type,
        q.city,
        q.currency,
        str(q.estimate),
        str(q.minimum),
        str(q.maximum),
        q.display,
        list(q.rules_applied),
        [
            r.distance_km,
            r.duration_min,
            r.distance_low_km,
            r.distance_high_km,
            r.duration_low_min,
            r.duration_high_min,
        ],
        str(q.distance_km),
        str(q.duration_min),
        _p(q.pickup),
        _p(q.dropoff),
        _t(q.at),
        str(q.demand_multiplier),
        list(q.supplements),
        q.fixed_route,
        _lines(q.breakdown),
    ]


def _unquote(v: Json) -> FareQuote:
    return FareQuote(
        vehicle_type=v[0],
        city=v[1],
        currency=v[2],
        estimate=Decimal(v[3]),
        minimum=Decimal(v[4]),
        maximum=Decimal(v[5]),
        display=v[6],
        rules_applied=tuple(v[7]),
        route=RouteEstimate(*v[8]),
        distance_km=Decimal(v[9]),
        duration_min=Decimal(v[10]),
        pickup=_ll(v[11]),
        dropoff=_ll(v[12]),
        at=_dt(v[13]),
        demand_multiplier=Decimal(v[14]),
        supplements=tuple(v[15]),
        fixed_route=v[16],
        explain=_explained(_unlines(v[17])),
    )


def _lifecycle(life: Lifecycle) -> Json:
    return [
        life.machine.name,
        life.subject_id,
        life.state,
        [[h.event, h.source, h.target, h.actor, _t(h.at), h.reason] for h in life.history],
        {state: _t(at) for state, at in life.entered_at.items()},
        _t(life.created_at),
    ]


def _unlifecycle(v: Json) -> Lifecycle:
    try:
        machine = _MACHINES[v[0]]
    except KeyError:
        raise CodecError(f"unknown state machine {v[0]!r} in a stored order") from None
    return Lifecycle(
        machine=machine,
        subject_id=v[1],
        state=v[2],
        history=tuple(HistoryEntry(e, s, t, a, _dt(at), r) for e, s, t, a, at, r in v[3]),
        entered_at={state: _dt(at) for state, at in v[4].items()},
        created_at=_dt(v[5]),
    )


def _track(track: Track) -> Json:
    policy = track.policy
    return [
        [[p.position.lat, p.position.lng, _t(p.at), p.flag] for p in track.points],
        [policy.max_speed_kmh, policy.max_delay_s, policy.corridor_km, policy.max_clock_skew_s],
    ]


_EMPTY_TRACK = Track()


def _untrack(v: Json) -> Track:
    points = tuple(
        TrackPoint(LatLng(lat, lng), _dt(at), None if flag is None else Flag(flag))
        for lat, lng, at, flag in v[0]
    )
    return Track(points, TrackPolicy(*v[1]))


def _final(fare: FinalFare | None) -> Json:
    if fare is None:
        return None
    return [
        str(fare.amount),
        fare.currency,
        fare.vehicle_type,
        fare.city,
        fare.reason,
        _lines(fare.breakdown),
        list(fare.rules_applied),
        str(fare.distance_km),
        str(fare.duration_min),
        _changes(fare.changes),
    ]


def _unfinal(v: Json) -> FinalFare | None:
    if v is None:
        return None
    return FinalFare(
        amount=Decimal(v[0]),
        currency=v[1],
        vehicle_type=v[2],
        city=v[3],
        reason=v[4],
        breakdown=_unlines(v[5]),
        rules_applied=tuple(v[6]),
        distance_km=Decimal(v[7]),
        duration_min=Decimal(v[8]),
        changes=_unchanges(v[9]),
    )


def json_id(text: str) -> str:
    """The id of the order stored as ``text``, without decoding the rest (it comes first).

    >>> json_id('["ord-1","alice"]')
    'ord-1'
    """
    return str(json.JSONDecoder().raw_decode(text, 1)[0])


def encode_order(order: Order) -> str:
    """The order as JSON text, without its version (the store keeps it beside)."""
    cancellation = order.cancellation
    fields: list[Json] = [
        order.id,
        order.customer_id,
        order.vehicle_type,
        _p(order.pickup),
        _p(order.dropoff),
        order.payment_method,
        _quote(order.quote),
        _lifecycle(order.lifecycle),
        _t(order.created_at),
        order.driver_id,
        [
            [o.driver_id, o.distance_km, _t(o.sent_at), _t(o.expires_at), o.shown]
            for o in order.offers
        ],
        order.offers_made,
        [[b.driver_id, str(b.amount), _t(b.at)] for b in order.bids],
        _d(order.agreed_price),
        sorted(order.tried),
        None if order.approach == _EMPTY_TRACK else _track(order.approach),
        None if order.trip == _EMPTY_TRACK else _track(order.trip),
        order.route_changed,
        _final(order.final_fare),
        _changes(order.price_history),
        order.payment_status.value,
        order.wallet_hold,
        str(order.amount_paid),
        None
        if cancellation is None
        else [
            cancellation.by.role,
            cancellation.by.id,
            cancellation.reason,
            str(cancellation.fee),
            _t(cancellation.at),
        ],
        [[r.by.role, r.by.id, r.about_id, r.stars, r.comment, _t(r.at)] for r in order.ratings],
    ]
    return json.dumps(fields, separators=(",", ":"))


def decode_order(text: str | bytes, *, version: int) -> Order:
    """The order stored as ``text`` (by :func:`encode_order`), at ``version``."""
    try:
        v = json.loads(text)
        c = v[23]
        return Order(
            id=v[0],
            customer_id=v[1],
            vehicle_type=v[2],
            pickup=_ll(v[3]),
            dropoff=_ll(v[4]),
            payment_method=v[5],
            quote=_unquote(v[6]),
            lifecycle=_unlifecycle(v[7]),
            created_at=_dt(v[8]),
            version=version,
            driver_id=v[9],
            offers=tuple(
                LiveOffer(d, km, _dt(sent), _dt(exp), shown) for d, km, sent, exp, shown in v[10]
            ),
            offers_made=v[11],
            bids=tuple(Bid(d, Decimal(amount), _dt(at)) for d, amount, at in v[12]),
            agreed_price=_opt_dec(v[13]),
            tried=frozenset(v[14]),
            approach=Track() if v[15] is None else _untrack(v[15]),
            trip=Track() if v[16] is None else _untrack(v[16]),
            route_changed=v[17],
            final_fare=_unfinal(v[18]),
            price_history=_unchanges(v[19]),
            payment_status=PaymentStatus(v[20]),
            wallet_hold=v[21],
            amount_paid=Decimal(v[22]),
            cancellation=None
            if c is None
            else Cancellation(Actor(c[0], c[1]), c[2], Decimal(c[3]), _dt(c[4])),
            ratings=tuple(
                Rating(Actor(role, by), about, stars, comment, _dt(at))
                for role, by, about, stars, comment, at in v[24]
            ),
        )
    except CodecError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError) as exc:
        raise CodecError(f"a stored order cannot be read back: {exc}") from exc


def encode_progress(progress: RideProgress) -> str:
    """A ride's live progress as JSON text, without its version."""
    return json.dumps(
        [
            progress.order_id,
            _track(progress.approach),
            _track(progress.trip),
            progress.route_changed,
            _opt_t(progress.last_location_sent_at),
            progress.arriving_sent,
        ],
        separators=(",", ":"),
    )


def decode_progress(text: str | bytes, *, version: int) -> RideProgress:
    """The progress stored as ``text`` (by :func:`encode_progress`), at ``version``."""
    try:
        v = json.loads(text)
        return RideProgress(
            order_id=v[0],
            approach=_untrack(v[1]),
            trip=_untrack(v[2]),
            route_changed=v[3],
            last_location_sent_at=_opt_dt(v[4]),
            arriving_sent=v[5],
            version=version,
        )
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError) as exc:
        raise CodecError(f"a stored ride progress cannot be read back: {exc}") from exc
