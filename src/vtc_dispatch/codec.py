"""Orders, ride progress and fare quotes as plain JSON-able data, and back: one stored form.

Every storage adapter keeps the same data (Redis as compact JSON text, the
Django app in a JSON column) and reads it back through this module, so
adding a field to a record changes this module only.  The data holds
``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts, so
:func:`json.dumps` takes it as it is:

* a record is a dict with its ``format`` and its fields by name; the parts
  inside it (quote, lifecycle, track points, offers, bids...) are
  positional lists, which are smaller and quicker to build and read than
  dicts;
* amounts are :class:`~decimal.Decimal` strings, so nothing is rounded;
* a UTC time is an integer of microseconds since the epoch (the service's
  clocks give UTC), any other time its ISO 8601 text with its offset (a
  naive time stays naive); both read back equal, with the same offset;
* a quote works its breakdown out lazily (a closure over the pricing
  configuration); its lines are stored, and the quote read back returns
  them, so it explains itself the same way without the configuration.

Versions are not part of the data: stores keep them beside (a hash field,
a column) and give them back to :func:`order_from_data`.  Malformed data
raises :class:`CodecError` naming the record, the field and the value.

>>> import attrs, json
>>> from datetime import UTC, datetime
>>> from vtc_dispatch.fsm import RIDE
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.order import Order
>>> from vtc_dispatch.pricing import Pricer, douala_config
>>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
>>> a, b = LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250)
>>> quote = Pricer(douala_config()).quote(a, b, "taxi_jaune", t0)
>>> order = Order("o1", "alice", "taxi_jaune", a, b, "CASH", quote, RIDE.start("o1", t0), t0)
>>> data = json.loads(json.dumps(order_to_data(order)))
>>> data["format"], data["id"], data["created_at"]
(3, 'o1', 1795248000000000)
>>> back = order_from_data(data, version=3)
>>> back == attrs.evolve(order, version=3), back.quote.breakdown == quote.breakdown
(True, True)
>>> order_from_data({**data, "amount_paid": "12,5"}, version=3)
Traceback (most recent call last):
...
vtc_dispatch.codec.CodecError: order 'o1': field 'amount_paid' cannot be read from '12,5' (...)

How the stored form grows
-------------------------

Records outlive the code that wrote them, and during a rolling deploy
workers of two releases share one store, so the form changes by rules
(``docs/storage.md`` tells the operator's side):

* **A field that is absent reads as its default.**  Every field of a
  record with a default in the class has the same default here, so a
  record stored before a field existed reads as the class would build it:

  >>> del data["ratings"], data["amount_paid"]
  >>> order_from_data(data, version=3) == attrs.evolve(order, version=3)
  True

* **A field this code does not know is refused, never dropped.**  Such a
  record comes from a newer worker (rolling deploy).  Dropping the field
  would let this worker save the order again without it (the newer
  worker's command ids, a delivery's proof...), or act on an order it
  does not understand; refusing fails one command, which its caller
  retries on a newer worker or after the deploy, and loses nothing:

  >>> order_from_data({**data, "tip": "500"}, version=3)
  Traceback (most recent call last):
  ...
  vtc_dispatch.codec.CodecError: order 'o1': unknown fields ['tip'] (...)

  So a field added after format 2 is written only when its value is not
  its default: a record stays readable by older workers until it uses
  what they do not know.

* **A format number this code does not read is refused**, naming it:

  >>> order_from_data({**data, "format": 4}, version=3)
  Traceback (most recent call last):
  ...
  vtc_dispatch.codec.CodecError: order 'o1': stored in format 4, this code reads formats 2 to 3 ...

**Adding a field** (no format change): give it a default in the class,
and one line in this module's table of added fields (``_ORDER_ADDED``,
``_PROGRESS_ADDED``, or ``_QUOTE_ADDED`` for a quote's field, stored at
the end of the quote's values): its name, how to read it (the readers
above), the default that says what the records stored before it meant,
and, unless the value is JSON-able as it is, how to write it.  For an order's
``merchant_id``::

    # src/vtc_dispatch/order.py, class Order:
    merchant_id: str | None = None
    # src/vtc_dispatch/codec.py, _ORDER_ADDED:
    _Field("merchant_id", _opt_str, None),

and for a tuple of command ids,
``_Field("command_ids", _strs, (), list)``.  Nothing else changes: the
fixtures of format 2 (``tests/fixtures/stored/format2``) keep reading, now
with the default.

**Changing a field** (its meaning, its shape, a rename, a positional
part's layout, a removal): raise :data:`FORMAT` by one and add one small
function to ``_UPGRADES``, keyed by the old format, that turns a record of
the old format into the new one (for example: fill a new element of every
track point, rename a field, convert a unit).  Readers apply the steps in
order from the record's format up to :data:`FORMAT`; writers write
:data:`FORMAT` only, so a record is rewritten in the new format at its
next save.  Keep every step and keep :data:`OLDEST_FORMAT` where it is
while records of that format may exist; generate the fixtures of the new
format beside the old ones (``make_fixtures.py``).  Workers of the
previous release refuse the new format, so a format change is not rolled
out like a field (see ``docs/storage.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from vtc_dispatch.errors import DispatchError, shown
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
    ProofOfDelivery,
    Rating,
    RideProgress,
)
from vtc_dispatch.pricing.quote import BreakdownLine, FareQuote, FinalFare, PriceChange
from vtc_dispatch.routing import RouteEstimate
from vtc_dispatch.tracking import Flag, Track, TrackPoint, TrackPolicy

__all__ = [
    "FORMAT",
    "OLDEST_FORMAT",
    "CodecError",
    "datetime_from_data",
    "datetime_to_data",
    "order_from_data",
    "order_to_data",
    "progress_from_data",
    "progress_to_data",
    "quote_from_data",
    "quote_to_data",
    "track_points_to_data",
]

FORMAT = 3
"""The format of the stored form this code writes (see the module's docstring to change it).

Format 3: a lifecycle's history entries have a seventh item, the id of the
actor who fired the transition (``null`` for the system)."""

OLDEST_FORMAT = 2
"""The oldest format this code reads: from it to :data:`FORMAT`, through the upgrade steps.

Format 1 was the Django app's own form, replaced by this module before any
release: it is refused like any other unknown format.
"""

Data = Any
"""Plain JSON-able data (``str``, ``int``, ``float``, ``bool``, ``None``, lists, dicts)."""

_T = TypeVar("_T")

_REQUIRED: Any = object()
"""The default of a field that has none (the record is refused without it)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MACHINES: dict[str, StateMachine] = {m.name: m for m in (RIDE, FREIGHT, DELIVERY)}
_DEFAULT_RESYNC = TrackPolicy().resync_fixes
_EMPTY_TRACK = Track()
_BROKEN = (
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    ArithmeticError,
    OverflowError,
    DispatchError,
)
"""What reading a malformed value raises (DispatchError: the records' own checks)."""


class CodecError(DispatchError, ValueError):
    """Stored data cannot be read back as a record: malformed, or of another :data:`FORMAT`."""


def _as_is(value: _T) -> _T:
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# Scalars ---------------------------------------------------------------------------------


def datetime_to_data(moment: datetime) -> int | str:
    """A time as stored: microseconds since the epoch in UTC, else ISO 8601 text.

    >>> from datetime import timedelta, timezone
    >>> datetime_to_data(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    1000000
    >>> datetime_to_data(datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=1))))
    '2026-01-01T09:00:00+01:00'
    """
    if moment.tzinfo is UTC:
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return moment.isoformat()


def datetime_from_data(value: Data) -> datetime:
    """The time stored as ``value`` by :func:`datetime_to_data` (ValueError/TypeError if not one).

    >>> datetime_from_data(1000000)
    datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc)
    """
    kind = type(value)
    if kind is int:
        return _EPOCH + timedelta(0, 0, value)  # positional: quicker than microseconds=
    if kind is str:
        return datetime.fromisoformat(value)
    raise TypeError(f"a time must be epoch microseconds or ISO 8601 text, got {_short(value)}")


def _opt_t(moment: datetime | None) -> int | str | None:
    return None if moment is None else datetime_to_data(moment)


def _opt_dt(value: Data) -> datetime | None:
    return None if value is None else datetime_from_data(value)


def _exactly(kind: type[_T], what: str) -> Callable[[Data], _T]:
    """A reader of a JSON scalar of exactly ``kind`` (``True`` is no integer here)."""

    def read(value: Data) -> _T:
        if type(value) is not kind:
            raise TypeError(f"expected {what}, got {_short(value)}")
        return value

    return read


_str = _exactly(str, "text")
_int = _exactly(int, "an integer")
_bool = _exactly(bool, "true or false")


def _opt_str(value: Data) -> str | None:
    return None if value is None else _str(value)


def _float(value: Data) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise TypeError(f"expected a number, got {_short(value)}")


def _dec(value: Data) -> Decimal:
    if type(value) is not str:
        raise TypeError(f"an amount must be decimal text, got {_short(value)}")
    return Decimal(value)


def _opt_d(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _opt_dec(value: Data) -> Decimal | None:
    return None if value is None else _dec(value)


def _strs(value: Data) -> tuple[str, ...]:
    if type(value) is not list:
        raise TypeError(f"expected a list of text, got {_short(value)}")
    return tuple(_str(x) for x in value)


def _list(value: Data) -> list[Any]:
    if type(value) is not list:
        raise TypeError(f"expected a list, got {_short(value)}")
    return value


def _p(point: LatLng) -> list[float]:
    return [point.lat, point.lng]


def _ll(value: Data) -> LatLng:
    lat, lng = value
    return LatLng(lat, lng)  # LatLng refuses anything but finite numbers in range


# Parts of records --------------------------------------------------------------------------


def _lines(lines: tuple[BreakdownLine, ...]) -> list[Data]:
    return [[line.code, line.label, str(line.amount)] for line in lines]


def _unlines(value: Data) -> tuple[BreakdownLine, ...]:
    return tuple(
        BreakdownLine(_str(code), _str(label), _dec(amount)) for code, label, amount in _list(value)
    )


def _changes(changes: tuple[PriceChange, ...]) -> list[Data]:
    return [
        [_opt_d(c.from_amount), str(c.to_amount), c.reason, datetime_to_data(c.at)] for c in changes
    ]


def _unchanges(value: Data) -> tuple[PriceChange, ...]:
    return tuple(
        PriceChange(_opt_dec(f), _dec(to), _str(r), datetime_from_data(at))
        for f, to, r, at in _list(value)
    )


def _explained(lines: tuple[BreakdownLine, ...]) -> Callable[[], tuple[BreakdownLine, ...]]:
    return lambda: lines


class _Field(NamedTuple):
    """A field of a record, or of a quote's values: its name, reader and default.

    Read with ``default`` when absent (a record stored before the field
    existed); without a default, the record is refused.  The fields of
    format 2 are always written (the tables ``_*_FIELDS``, by the writers
    below); a field added since (the tables ``_*_ADDED``, see the module's
    docstring: no format bump) is written by ``write`` and only when its
    value is not ``default``, so workers that do not know it yet still
    read the record (``docs/storage.md``).  ``default`` is the value that
    means what the records stored before the field meant: keep it even if
    the class's own default changes later.
    """

    name: str
    read: Callable[[Data], Any]
    default: Any = _REQUIRED
    write: Callable[[Any], Data] = _as_is


def _tail(record: object, added: tuple[_Field, ...]) -> list[Data]:
    """The added values of a positional part, its trailing defaults left out."""
    values = [getattr(record, field.name) for field in added]
    while values and values[-1] == added[len(values) - 1].default:
        values.pop()
    return [field.write(value) for field, value in zip(added, values, strict=False)]


def _untail(tail: list[Data], added: tuple[_Field, ...]) -> dict[str, Any]:
    """The added values of a positional part by name, their defaults where the tail ends."""
    if len(tail) > len(added):
        raise ValueError(
            f"{len(tail) - len(added)} more values than this code knows, {_short(tail)}"
            " (a value this code does not know is refused, never dropped)"
        )
    return {
        field.name: field.read(tail[i]) if i < len(tail) else field.default
        for i, field in enumerate(added)
    }


_QUOTE_ADDED: tuple[_Field, ...] = ()
"""Fields of :class:`~vtc_dispatch.pricing.quote.FareQuote` added since format 2, stored after
the quote's 18 values in the order added (an order's quote and a quote record alike)."""


def _quote(q: FareQuote) -> list[Data]:
    r = q.route
    values = [
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
        datetime_to_data(q.at),
        str(q.demand_multiplier),
        list(q.supplements),
        q.fixed_route,
        _lines(q.breakdown),
    ]
    return [*values, *_tail(q, _QUOTE_ADDED)] if _QUOTE_ADDED else values


def _unquote(v: Data) -> FareQuote:
    (
        vehicle_type,
        city,
        currency,
        estimate,
        minimum,
        maximum,
        display,
        rules,
        route,
        distance_km,
        duration_min,
        pickup,
        dropoff,
        at,
        demand,
        supplements,
        fixed_route,
        lines,
        *tail,
    ) = _list(v)
    return FareQuote(
        vehicle_type=_str(vehicle_type),
        city=_str(city),
        currency=_str(currency),
        estimate=_dec(estimate),
        minimum=_dec(minimum),
        maximum=_dec(maximum),
        display=_str(display),
        rules_applied=_strs(rules),
        route=RouteEstimate(*(_float(x) for x in _list(route))),
        distance_km=_dec(distance_km),
        duration_min=_dec(duration_min),
        pickup=_ll(pickup),
        dropoff=_ll(dropoff),
        at=datetime_from_data(at),
        demand_multiplier=_dec(demand),
        supplements=_strs(supplements),
        fixed_route=_opt_str(fixed_route),
        explain=_explained(_unlines(lines)),
        **(_untail(tail, _QUOTE_ADDED) if tail or _QUOTE_ADDED else {}),
    )


def _lifecycle(life: Lifecycle) -> list[Data]:
    return [
        life.machine.name,
        life.subject_id,
        life.state,
        [_history_entry(h) for h in life.history],
        {state: datetime_to_data(at) for state, at in life.entered_at.items()},
        datetime_to_data(life.created_at),
    ]


def _history_entry(h: HistoryEntry) -> list[Data]:
    return [h.event, h.source, h.target, h.actor, datetime_to_data(h.at), h.reason, h.actor_id]


def _unhistory_entry(v: Data) -> HistoryEntry:
    e, s, t, a, at, r, actor_id = _list(v)
    return HistoryEntry(
        _str(e), _str(s), _str(t), _str(a), datetime_from_data(at), _opt_str(r), _opt_str(actor_id)
    )


def _unlifecycle(v: Data) -> Lifecycle:
    name, subject, state, history, entered, created = _list(v)
    machine = _MACHINES.get(name)
    if machine is None:
        raise CodecError(f"unknown state machine {_short(name)} (known: {sorted(_MACHINES)})")
    if type(entered) is not dict:
        raise TypeError(f"entered_at must be a mapping, got {_short(entered)}")
    return Lifecycle(
        machine=machine,
        subject_id=_str(subject),
        state=_str(state),
        history=tuple(_unhistory_entry(entry) for entry in _list(history)),
        entered_at={_str(k): datetime_from_data(at) for k, at in entered.items()},
        created_at=datetime_from_data(created),
    )


_RESYNC = "resync"
"""Stored in a track point's flag place for an accepted point where the track resynchronised
(added after format 2: older readers refuse it as an unknown flag, never misread it)."""


def track_points_to_data(points: Sequence[TrackPoint]) -> list[Data]:
    """Track points in their stored form (inside a progress's ``approach`` and ``trip``).

    >>> from datetime import UTC, datetime
    >>> minute = datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    >>> track_points_to_data([TrackPoint(LatLng(4.05, 9.7), minute)])
    [[4.05, 9.7, 60000000, None]]
    """
    return [
        [p.position.lat, p.position.lng, datetime_to_data(p.at), _RESYNC if p.resync else p.flag]
        for p in points
    ]


PointsData = Callable[[str, Track], Data]
"""What stands in a progress's data for the points of its track named ``approach`` or
``trip`` (see :func:`progress_to_data`)."""


def _track(name: str, track: Track, points: PointsData | None) -> list[Data] | None:
    if track == _EMPTY_TRACK:
        return None
    policy = track.policy
    stored_policy: list[Data] = [
        policy.max_speed_kmh,
        policy.max_delay_s,
        policy.corridor_km,
        policy.max_clock_skew_s,
    ]
    if policy.resync_fixes != _DEFAULT_RESYNC:  # added after format 2: written when not default
        stored_policy.append(policy.resync_fixes)
    return [
        track_points_to_data(track.points) if points is None else points(name, track),
        stored_policy,
    ]


def _untrack(v: Data) -> Track:
    if v is None:
        return Track()
    points, policy = _list(v)
    epoch, delta = _EPOCH, timedelta  # the hot loop of a read: times inlined
    speed, delay, corridor, skew, *more = _list(policy)
    return Track(
        tuple(
            TrackPoint(
                LatLng(lat, lng),
                epoch + delta(0, 0, at) if type(at) is int else datetime_from_data(at),
                None if flag is None or flag == _RESYNC else Flag(flag),
                flag == _RESYNC,
            )
            for lat, lng, at, flag in _list(points)
        ),
        TrackPolicy(
            _float(speed),
            _float(delay),
            _float(corridor),
            _float(skew),
            *(_int(x) for x in more),
        ),
    )


def _final(fare: FinalFare | None) -> list[Data] | None:
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


def _unfinal(v: Data) -> FinalFare | None:
    if v is None:
        return None
    amount, currency, vehicle, city, reason, lines, rules, km, minutes, changes = _list(v)
    return FinalFare(
        amount=_dec(amount),
        currency=_str(currency),
        vehicle_type=_str(vehicle),
        city=_str(city),
        reason=_str(reason),
        breakdown=_unlines(lines),
        rules_applied=_strs(rules),
        distance_km=_dec(km),
        duration_min=_dec(minutes),
        changes=_unchanges(changes),
    )


def _offers(offers: tuple[LiveOffer, ...]) -> list[Data]:
    return [
        [
            o.driver_id,
            o.distance_km,
            datetime_to_data(o.sent_at),
            datetime_to_data(o.expires_at),
            o.shown,
        ]
        for o in offers
    ]


def _unoffers(v: Data) -> tuple[LiveOffer, ...]:
    return tuple(
        LiveOffer(
            _str(d), _float(km), datetime_from_data(sent), datetime_from_data(exp), _bool(shown)
        )
        for d, km, sent, exp, shown in _list(v)
    )


def _bids(bids: tuple[Bid, ...]) -> list[Data]:
    # valid_until (added after format 2) is a fourth value only when set: older readers
    # refuse such a bid (too many values), never misread it.
    return [
        [b.driver_id, str(b.amount), datetime_to_data(b.at)]
        if b.valid_until is None
        else [b.driver_id, str(b.amount), datetime_to_data(b.at), _opt_t(b.valid_until)]
        for b in bids
    ]


def _unbid(v: Data) -> Bid:
    values = _list(v)
    if len(values) not in (3, 4):
        raise ValueError(f"a bid has 3 or 4 values, got {_short(values)}")
    valid_until = _opt_dt(values[3]) if len(values) == 4 else None
    return Bid(_str(values[0]), _dec(values[1]), datetime_from_data(values[2]), valid_until)


def _unbids(v: Data) -> tuple[Bid, ...]:
    return tuple(_unbid(b) for b in _list(v))


def _proof(p: ProofOfDelivery | None) -> list[Data] | None:
    if p is None:
        return None
    return [_p(p.position), datetime_to_data(p.at), p.code, p.reference]


def _unproof(v: Data) -> ProofOfDelivery | None:
    if v is None:
        return None
    position, at, code, reference = _list(v)
    return ProofOfDelivery(
        _ll(position), datetime_from_data(at), _opt_str(code), _opt_str(reference)
    )


def _actor(value: Data) -> Actor:
    role, who = value
    return Actor(_str(role), _str(who))


def _cancellation(c: Cancellation | None) -> list[Data] | None:
    if c is None:
        return None
    return [c.by.role, c.by.id, c.reason, str(c.fee), datetime_to_data(c.at)]


def _uncancellation(v: Data) -> Cancellation | None:
    if v is None:
        return None
    role, who, reason, fee, at = _list(v)
    return Cancellation(
        Actor(_str(role), _str(who)), _str(reason), _dec(fee), datetime_from_data(at)
    )


def _ratings(ratings: tuple[Rating, ...]) -> list[Data]:
    return [
        [r.by.role, r.by.id, r.about_id, r.stars, r.comment, datetime_to_data(r.at)]
        for r in ratings
    ]


def _unratings(v: Data) -> tuple[Rating, ...]:
    return tuple(
        Rating(
            Actor(_str(role), _str(by)),
            _str(about),
            _int(stars),
            _opt_str(comment),
            datetime_from_data(at),
        )
        for role, by, about, stars, comment, at in _list(v)
    )


def _tried(v: Data) -> frozenset[str]:
    return frozenset(_strs(v))


# Records -------------------------------------------------------------------------------------


_ORDER_FIELDS: tuple[_Field, ...] = (
    _Field("id", _str),
    _Field("customer_id", _str),
    _Field("vehicle_type", _str),
    _Field("pickup", _ll),
    _Field("dropoff", _ll),
    _Field("payment_method", _str),
    _Field("quote", _unquote),
    _Field("lifecycle", _unlifecycle),
    _Field("created_at", datetime_from_data),
    _Field("driver_id", _opt_str, None),
    _Field("offers", _unoffers, ()),
    _Field("offers_made", _int, 0),
    _Field("bids", _unbids, ()),
    _Field("agreed_price", _opt_dec, None),
    _Field("tried", _tried, frozenset()),
    _Field("approach", _untrack, _EMPTY_TRACK),
    _Field("trip", _untrack, _EMPTY_TRACK),
    _Field("route_changed", _bool, False),
    _Field("final_fare", _unfinal, None),
    _Field("price_history", _unchanges, ()),
    _Field("payment_status", PaymentStatus, PaymentStatus.NONE),
    _Field("wallet_hold", _opt_str, None),
    _Field("amount_paid", _dec, Decimal(0)),
    _Field("cancellation", _uncancellation, None),
    _Field("ratings", _unratings, ()),
)

_ORDER_ADDED: tuple[_Field, ...] = (
    _Field("window_at", _opt_dt, None, _opt_t),
    _Field("merchant_id", _opt_str, None),
    _Field("goods_amount", _opt_dec, None, _opt_d),
    _Field("delivery_code", _opt_str, None),
    _Field("proof", _unproof, None, _proof),
)
"""Fields of :class:`~vtc_dispatch.order.Order` added since format 2, in the order added."""

_PROGRESS_FIELDS: tuple[_Field, ...] = (
    _Field("order_id", _str),
    _Field("approach", _untrack, _EMPTY_TRACK),
    _Field("trip", _untrack, _EMPTY_TRACK),
    _Field("route_changed", _bool, False),
    _Field("last_location_sent_at", _opt_dt, None),
    _Field("arriving_sent", _bool, False),
)

_PROGRESS_ADDED: tuple[_Field, ...] = ()
"""Fields of :class:`~vtc_dispatch.order.RideProgress` added since format 2."""

_QUOTE_FIELDS: tuple[_Field, ...] = (_Field("quote", _unquote),)


# Upgrades ------------------------------------------------------------------------------------

_Upgrade = Callable[[str, dict[str, Data]], dict[str, Data]]


def _actor_ids(record: str, data: dict[str, Data]) -> dict[str, Data]:
    """Format 2 to 3: an order's history entries get the actor's id, unknown (``null``)."""
    if record != "order" or "lifecycle" not in data:
        return data  # a record without one is refused by the reader, naming what it misses
    name, subject, state, history, entered, created = _list(data["lifecycle"])
    entries = [[*_list(entry), None] for entry in _list(history)]
    return {**data, "lifecycle": [name, subject, state, entries, entered, created]}


_UPGRADES: dict[int, _Upgrade] = {2: _actor_ids}
"""Step ``N`` turns a record of format ``N`` into format ``N + 1``, for every ``N`` from
:data:`OLDEST_FORMAT` to ``FORMAT - 1``.

A step takes the record's kind (``"order"``, ``"ride progress"``,
``"quote"``) and its fields, and returns the fields of the next format
(:func:`_upgraded` stamps the new format number); records it does not
change come back as they are.  A field with a default may be absent from
the record (stored before the field existed): read it with
``data.get(name, default)``.
"""


def _refused_format(what: str, fmt: Data) -> CodecError:
    reads = FORMAT if OLDEST_FORMAT == FORMAT else f"formats {OLDEST_FORMAT} to {FORMAT}"
    message = f"{what}: stored in format {_short(fmt)}, this code reads {reads}"
    if type(fmt) is int and fmt > FORMAT:
        message += " (written by newer code: see docs/storage.md on deploying a format change)"
    return CodecError(message)


def _upgraded(what: str, record: str, data: Mapping[str, Data]) -> Mapping[str, Data]:
    """``data`` brought to :data:`FORMAT` by the steps of ``_UPGRADES``, one format at a time."""
    fmt = data.get("format")
    if type(fmt) is not int or not OLDEST_FORMAT <= fmt <= FORMAT:
        raise _refused_format(what, fmt)
    while fmt < FORMAT:
        try:
            data = {**_UPGRADES[fmt](record, dict(data)), "format": fmt + 1}
        except _BROKEN as exc:
            raise CodecError(
                f"{what}: cannot be upgraded from format {fmt} to {fmt + 1} ({exc})"
            ) from exc
        fmt += 1
    return data


def _misfit(what: str, data: Mapping[str, Data], every: tuple[_Field, ...]) -> CodecError:
    """The refusal of a record with fields missing (and no default) or unknown."""
    known = {"format"} | {field.name for field in every}
    unknown = sorted(map(str, set(data) - known))
    missing = [f.name for f in every if f.default is _REQUIRED and f.name not in data]
    problems = [f"missing fields {missing}"] if missing else []
    if unknown:
        problems.append(
            f"unknown fields {unknown} (this code refuses what it does not know rather than"
            " drop it: written by newer code? see docs/storage.md)"
        )
    return CodecError(f"{what}: {', '.join(problems)}")


def _read(
    record: str,
    data: Data,
    fields: tuple[_Field, ...],
    added: tuple[_Field, ...],
    make: Callable[..., _T],
    **extra: Any,
) -> _T:
    """``make(**fields read from data, **extra)``, or a :class:`CodecError` naming what is wrong."""
    what = record
    if not isinstance(data, Mapping):
        raise CodecError(f"{what}: expected a mapping of fields, got {_short(data)}")
    subject = data.get("id", data.get("order_id"))
    if subject is not None:
        what = f"{what} {_short(subject)}"
    fmt = data.get("format")
    if type(fmt) is not int or fmt != FORMAT:
        data = _upgraded(what, record, data)
    values: dict[str, Any] = {}
    absent, lacking = 0, False
    every = fields + added if added else fields
    if len(data) > len(every) + 1:  # unknown fields, surely: say so before reading any
        raise _misfit(what, data, every)
    for name, read, default, _ in every:
        try:
            value = data[name]
        except KeyError:
            absent += 1
            lacking = lacking or default is _REQUIRED
            values[name] = default
            continue
        try:
            values[name] = read(value)
        except _BROKEN as exc:
            if not data.keys() <= {"format", *(f.name for f in every)}:
                # A newer worker's record: its unknown fields say why better than this one.
                raise _misfit(what, data, every) from exc
            raise CodecError(
                f"{what}: field {shown(name)} cannot be read from {_short(value)} ({exc})"
            ) from exc
    if lacking or len(data) + absent != len(every) + 1:  # "format" is the one more
        raise _misfit(what, data, every)
    try:
        return make(**values, **extra)
    except _BROKEN as exc:
        raise CodecError(f"{what}: the fields do not make one ({exc})") from exc


def _with_added(
    data: dict[str, Data], record: object, added: tuple[_Field, ...]
) -> dict[str, Data]:
    """``data`` with the added fields of ``record`` whose value is not their default."""
    for field in added:
        value = getattr(record, field.name)
        if value != field.default:
            data[field.name] = field.write(value)
    return data


def order_to_data(order: Order) -> dict[str, Data]:
    """Every field of ``order`` but its version (stores keep it beside), in :data:`FORMAT`."""
    data = {
        "id": order.id,
        "format": FORMAT,
        "customer_id": order.customer_id,
        "vehicle_type": order.vehicle_type,
        "pickup": _p(order.pickup),
        "dropoff": _p(order.dropoff),
        "payment_method": order.payment_method,
        "quote": _quote(order.quote),
        "lifecycle": _lifecycle(order.lifecycle),
        "created_at": datetime_to_data(order.created_at),
        "driver_id": order.driver_id,
        "offers": _offers(order.offers),
        "offers_made": order.offers_made,
        "bids": _bids(order.bids),
        "agreed_price": _opt_d(order.agreed_price),
        "tried": sorted(order.tried),
        "approach": _track("approach", order.approach, None),
        "trip": _track("trip", order.trip, None),
        "route_changed": order.route_changed,
        "final_fare": _final(order.final_fare),
        "price_history": _changes(order.price_history),
        "payment_status": order.payment_status.value,
        "wallet_hold": order.wallet_hold,
        "amount_paid": str(order.amount_paid),
        "cancellation": _cancellation(order.cancellation),
        "ratings": _ratings(order.ratings),
    }
    return _with_added(data, order, _ORDER_ADDED) if _ORDER_ADDED else data


def order_from_data(data: Data, *, version: int) -> Order:
    """The order stored as ``data`` (by :func:`order_to_data`, now or in an older format), at
    ``version``.

    :class:`CodecError` if ``data`` is malformed, of a format this code does
    not read, or holds a field it does not know.
    """
    return _read("order", data, _ORDER_FIELDS, _ORDER_ADDED, Order, version=version)


def progress_to_data(
    progress: RideProgress, *, points: PointsData | None = None
) -> dict[str, Data]:
    """Every field of a ride's live progress but its version, in :data:`FORMAT`.

    ``points``, when given, gives what stands for each non-empty track's
    points instead of their data (:func:`track_points_to_data`): an encoder
    that keeps the text of the points it encoded before puts a mark there
    and splices the text in, so that a fix encodes one point, not the
    hundreds of a long ride.
    """
    data = {
        "order_id": progress.order_id,
        "format": FORMAT,
        "approach": _track("approach", progress.approach, points),
        "trip": _track("trip", progress.trip, points),
        "route_changed": progress.route_changed,
        "last_location_sent_at": _opt_t(progress.last_location_sent_at),
        "arriving_sent": progress.arriving_sent,
    }
    return _with_added(data, progress, _PROGRESS_ADDED) if _PROGRESS_ADDED else data


def progress_from_data(data: Data, *, version: int) -> RideProgress:
    """The progress stored as ``data`` (by :func:`progress_to_data`), at ``version``.

    >>> back = progress_from_data(progress_to_data(RideProgress("o1")), version=2)
    >>> back == RideProgress("o1", version=2)
    True
    """
    return _read(
        "ride progress", data, _PROGRESS_FIELDS, _PROGRESS_ADDED, RideProgress, version=version
    )


def quote_to_data(quote: FareQuote) -> dict[str, Data]:
    """A quote with its breakdown lines (the closure is not stored), in :data:`FORMAT`.

    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.pricing import Pricer, douala_config
    >>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    >>> quote = Pricer(douala_config()).quote(
    ...     LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250), "taxi_jaune", t0
    ... )
    >>> data = quote_to_data(quote)
    >>> sorted(data), quote_from_data(data) == quote
    (['format', 'quote'], True)
    """
    return {"format": FORMAT, "quote": _quote(quote)}


def _the_quote(quote: FareQuote) -> FareQuote:
    return quote


def quote_from_data(data: Data) -> FareQuote:
    """The quote stored as ``data`` by :func:`quote_to_data`; its breakdown is the stored lines."""
    return _read("quote", data, _QUOTE_FIELDS, (), _the_quote)
