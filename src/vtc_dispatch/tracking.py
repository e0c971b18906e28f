"""A trip's GPS track: which reported positions are kept, and distances to the planned line.

Pure domain code: no I/O and no clock; every time is an argument and must be
a timezone-aware :class:`~datetime.datetime`.

Each position given to :meth:`Track.add` is kept in :attr:`Track.points`,
in arrival order, with a :class:`Flag` saying why it was set aside, or no
flag when it is accepted.  Only accepted points count for the distance, the
duration and the comparisons that follow.  A point is classified against
the last *accepted* point, with the first rule that matches:

* ``stale``: it was taken more than :attr:`TrackPolicy.max_delay_s` before
  it was received (a phone that was offline replays its buffer); too old to
  show the customer where the car is now.
* ``future``: it claims to be taken more than
  :attr:`TrackPolicy.max_clock_skew_s` after it was received (a phone whose
  clock runs fast); accepting it would make every real fix after it look
  out of order until real time caught up.
* ``duplicate``: same time and same position as the last accepted point
  (the same fix delivered twice).
* ``out_of_order``: not later than the last accepted point (messages
  overtaking each other); accepting it would make the path go back in time.
* ``jump``: reaching it from the last accepted point would take more than
  :attr:`TrackPolicy.max_speed_kmh` (a GPS glitch, such as a fix snapping
  to a cell tower); it would add kilometres that were never driven.

Because a jump is measured from the last accepted point, a real move after
a long GPS outage is accepted again as soon as the elapsed time makes the
implied speed plausible.  A glitch that was accepted (the first fix of a
track, say) cannot set every real fix after it aside either: when
:attr:`TrackPolicy.resync_fixes` jumps in a row are plausible from one to
the next, the track *resynchronises* to them: they are accepted, the first
of them marked ``resync`` (:attr:`TrackPoint.resync`), and the distance
starts again from it, the implausible step left out.

A point the caller sets aside for a reason of its own
(:meth:`Track.set_aside`: ``inaccurate``, a fix whose reported accuracy is
too poor) is kept flagged the same way.

Below, a car in Douala (UTC+1) reports every ten seconds; the third fix
lands 11 km away and a late message arrives out of order:

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=1)))
>>> track = Track()
>>> track, _ = track.add(LatLng(4.0500, 9.7000), t0)
>>> track, _ = track.add(LatLng(4.0510, 9.7010), t0 + timedelta(seconds=10))
>>> track, glitch = track.add(LatLng(4.1500, 9.7010), t0 + timedelta(seconds=20))
>>> track, late = track.add(LatLng(4.0505, 9.7005), t0 + timedelta(seconds=5))
>>> track, _ = track.add(LatLng(4.0520, 9.7020), t0 + timedelta(seconds=30))
>>> glitch.flag, late.flag
(<Flag.JUMP: 'jump'>, <Flag.OUT_OF_ORDER: 'out_of_order'>)
>>> len(track), len(track.accepted_points)
(5, 3)
>>> round(track.distance_km, 3), track.duration_s
(0.314, 30.0)

The first fix of a track is a glitch 11 km away; three real fixes follow,
each a plausible drive from the one before:

>>> track, _ = Track().add(LatLng(4.1500, 9.7000), t0)
>>> for i in range(1, 4):
...     track, point = track.add(LatLng(4.0500 + i / 1000, 9.7000), t0 + timedelta(seconds=10 * i))
>>> [(p.flag, p.resync) for p in track.points[1:]]
[(None, True), (None, False), (None, False)]
>>> round(track.distance_km, 3), track.last.position
(0.222, LatLng(4.053, 9.7))
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum

import attrs

from vtc_dispatch.errors import InvalidCoordinates, shown
from vtc_dispatch.geo.sphere import EARTH_RADIUS_KM, LatLng, haversine_km, initial_bearing_deg

__all__ = [
    "Flag",
    "Track",
    "TrackPoint",
    "TrackPolicy",
    "cross_track_km",
    "eta_s",
    "location_due",
    "off_corridor",
]

_RAD = math.pi / 180.0
_ELLIPSE_MAX_KM = 100.0
_ELLIPSE_MARGIN = 0.9


def _require(name: str, value: object, *, allow_zero: bool) -> float:
    """``value`` as a float if it is a finite number above (or at) zero, else a named error."""
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCoordinates(f"{name} must be a finite number {bound}, got {shown(value)}")
    number = float(value)
    if not (math.isfinite(number) and (number >= 0.0 if allow_zero else number > 0.0)):
        raise InvalidCoordinates(f"{name} must be a finite number {bound}, got {shown(value)}")
    return number


def _require_aware(name: str, value: object) -> None:
    # UTC first: the clock and phones give UTC, and utcoffset() is the costly test.
    if isinstance(value, datetime) and (value.tzinfo is UTC or value.utcoffset() is not None):
        return
    raise InvalidCoordinates(f"{name} must be timezone-aware, got {shown(value)}")


@attrs.frozen
class TrackPolicy:
    """Thresholds for classifying GPS points and for the corridor around the planned line.

    ``max_speed_kmh``: a point implying a faster move from the last accepted
    point is a ``jump``.  ``max_delay_s``: a point taken longer than this
    before it was received is ``stale``.  ``max_clock_skew_s``: a point
    dated further than this after it was received is ``future``.
    ``corridor_km``: half-width of the corridor around the planned line (see
    :func:`off_corridor`).  Each must be a finite number above zero.

    >>> TrackPolicy()  # doctest: +NORMALIZE_WHITESPACE
    TrackPolicy(max_speed_kmh=200.0, max_delay_s=120.0, corridor_km=1.0,
                max_clock_skew_s=30.0, resync_fixes=3)
    >>> TrackPolicy(max_speed_kmh=0)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: max_speed_kmh must be a finite number > 0, got 0
    """

    max_speed_kmh: float = 200.0
    max_delay_s: float = 120.0
    corridor_km: float = 1.0
    max_clock_skew_s: float = 30.0
    resync_fixes: int = 3
    """Jumps in a row, each plausible from the one before, that resynchronise the track
    (an integer >= 2)."""

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(TrackPolicy):
            if field.name != "resync_fixes":
                _require(field.name, getattr(self, field.name), allow_zero=False)
        fixes = self.resync_fixes
        if isinstance(fixes, bool) or not isinstance(fixes, int) or fixes < 2:
            raise InvalidCoordinates(f"resync_fixes must be an integer >= 2, got {shown(fixes)}")

    def plausible(self, km: float, elapsed_s: float) -> bool:
        """Whether ``km`` in ``elapsed_s`` seconds (> 0) is within the speed limit."""
        return elapsed_s > 0.0 and km / elapsed_s * 3600.0 <= self.max_speed_kmh


class Flag(StrEnum):
    """Why a GPS point was set aside; see the module docstring for the rules.

    >>> Flag.JUMP == "jump"
    True
    >>> [flag.value for flag in Flag]
    ['jump', 'stale', 'out_of_order', 'duplicate', 'future', 'inaccurate']
    """

    JUMP = "jump"
    STALE = "stale"
    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    FUTURE = "future"
    INACCURATE = "inaccurate"
    """Set aside by the caller: the fix's reported accuracy was too poor."""


@attrs.frozen
class TrackPoint:
    """A GPS position reported at ``at`` (timezone-aware), with its classification.

    ``flag`` is ``None`` for an accepted point.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
    >>> TrackPoint(LatLng(4.05, 9.70), at).accepted
    True
    >>> TrackPoint(LatLng(4.05, 9.70), at, Flag.JUMP).accepted
    False
    >>> TrackPoint(LatLng(4.05, 9.70), datetime(2024, 5, 1, 7, 0))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: at must be timezone-aware, got
    datetime.datetime(2024, 5, 1, 7, 0)
    """

    position: LatLng
    at: datetime
    flag: Flag | None = None
    resync: bool = False
    """An accepted point where the track resynchronised (see the module): the
    distance from the point accepted before it is not counted."""

    def __attrs_post_init__(self) -> None:
        _require_aware("at", self.at)

    @property
    def accepted(self) -> bool:
        """True when the point has no flag and counts for the track.

        >>> from datetime import datetime, timezone
        >>> at = datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
        >>> TrackPoint(LatLng(4.05, 9.70), at, Flag.STALE).accepted
        False
        """
        return self.flag is None


@attrs.frozen
class _Summary:
    """What a :class:`Track` keeps about its accepted points, so that its properties are O(1).

    ``run`` holds the indexes of the jumps since the last accepted point that
    are plausible from one to the next (the latest ones): the candidates to
    resynchronise to.
    """

    distance_km: float = 0.0
    first: TrackPoint | None = None
    last: TrackPoint | None = None
    run: tuple[int, ...] = ()
    accepted: int = 0

    def then(self, point: TrackPoint, step_km: float | None = None) -> _Summary:
        """The summary once the accepted ``point`` follows the points summarised here.

        ``step_km``, when known, is the distance from the last accepted point.
        """
        if self.last is None:
            return _Summary(0.0, point, point, (), self.accepted + 1)
        if point.resync:
            step_km = 0.0
        elif step_km is None:
            step_km = haversine_km(self.last.position, point.position)
        return _Summary(self.distance_km + step_km, self.first, point, (), self.accepted + 1)

    def jumped(self, points: tuple[TrackPoint, ...], index: int, policy: TrackPolicy) -> _Summary:
        """The summary once the jump at ``index`` of ``points`` follows: the run goes on if
        the jump is plausible from the run's last point, else starts again from it."""
        run = self.run
        if run:
            before, point = points[run[-1]], points[index]
            elapsed_s = (point.at - before.at).total_seconds()
            if policy.plausible(haversine_km(before.position, point.position), elapsed_s):
                return attrs.evolve(self, run=(*run, index))
        return attrs.evolve(self, run=(index,))


@attrs.frozen
class Track:
    """The GPS points of one trip; immutable, :meth:`add` returns a new track.

    ``points`` holds every point received, accepted or flagged, in arrival
    order; a track rebuilt from stored points keeps their flags as they are.
    ``len(track)`` counts all of them (so an empty track is falsy).

    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
    >>> track, point = Track().add(LatLng(4.05, 9.70), t0)
    >>> track, point = track.add(LatLng(4.06, 9.70), t0 + timedelta(minutes=1))
    >>> round(track.distance_km, 2), track.duration_s, len(track)
    (1.11, 60.0, 2)
    >>> Track(track.points) == track
    True
    """

    points: tuple[TrackPoint, ...] = ()
    policy: TrackPolicy = attrs.field(factory=TrackPolicy)
    _summary: _Summary = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        summary = _Summary()
        points, policy = self.points, self.policy
        for i, point in enumerate(points):
            if point.accepted:
                summary = summary.then(point)
            elif point.flag is Flag.JUMP:
                summary = summary.jumped(points, i, policy)
        object.__setattr__(self, "_summary", summary)

    def _appended(self, point: TrackPoint, summary: _Summary) -> Track:
        # Built without __init__ so that adding a point does not walk the whole
        # track again: __attrs_post_init__ would recompute the summary in O(n).
        track = object.__new__(Track)
        object.__setattr__(track, "points", (*self.points, point))
        object.__setattr__(track, "policy", self.policy)
        object.__setattr__(track, "_summary", summary)
        return track

    def _classify(
        self,
        position: LatLng,
        at: datetime,
        received_at: datetime | None,
        anchor: TrackPoint | None = None,
    ) -> tuple[Flag | None, float | None]:
        """The flag for a point reported now (``None`` to accept it; rules: module
        docstring) and, when measured, its distance from the last accepted point."""
        _require_aware("at", at)
        if received_at is not None:
            _require_aware("received_at", received_at)
            delay_s = (received_at - at).total_seconds()
            if delay_s > self.policy.max_delay_s:
                return Flag.STALE, None
            if -delay_s > self.policy.max_clock_skew_s:
                return Flag.FUTURE, None
        last = self._summary.last
        if last is None:
            if anchor is None or received_at is None:
                return None, None
            # The anchor was received, not measured: both times are the receiver's.
            _require_aware("anchor.at", anchor.at)
            elapsed_s = (received_at - anchor.at).total_seconds()
            km = haversine_km(anchor.position, position)
            if elapsed_s > 0.0 and not self.policy.plausible(km, elapsed_s):
                return Flag.JUMP, None
            return None, None
        elapsed_s = (at - last.at).total_seconds()
        if elapsed_s <= 0.0:
            if elapsed_s == 0.0 and position == last.position:
                return Flag.DUPLICATE, None
            return Flag.OUT_OF_ORDER, None
        step_km = haversine_km(last.position, position)
        if step_km / elapsed_s * 3600.0 > self.policy.max_speed_kmh:
            return Flag.JUMP, step_km
        return None, step_km

    def add(
        self,
        position: LatLng,
        at: datetime,
        *,
        received_at: datetime | None = None,
        anchor: TrackPoint | None = None,
    ) -> tuple[Track, TrackPoint]:
        """Classify a reported position and return the new track and the classified point.

        ``at`` is when the position was measured, ``received_at`` (optional)
        when it reached us; both timezone-aware.  The point is compared with
        the last accepted point as the module docstring describes; this
        track is left unchanged.  A point that resynchronises the track is
        returned accepted (the track's last point), with the jumps before it
        that it confirms.

        ``anchor`` stands for the last accepted point while the track has
        none: where the subject was known to be, and when that was
        *received* (so it is compared with ``received_at``): the first fix
        of a driver's way to a pickup is checked against the position he
        accepted from.

        >>> from datetime import datetime, timedelta, timezone
        >>> t0 = datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
        >>> track, first = Track().add(LatLng(4.05, 9.70), t0)
        >>> after, far = track.add(LatLng(4.50, 9.70), t0 + timedelta(seconds=30))
        >>> far.flag, len(track), len(after), after.last == first
        (<Flag.JUMP: 'jump'>, 1, 2, True)
        >>> track.add(LatLng(4.05, 9.70), t0)[1].flag
        <Flag.DUPLICATE: 'duplicate'>
        >>> track.add(LatLng(4.05, 9.70), t0, received_at=t0 + timedelta(minutes=5))[1].flag
        <Flag.STALE: 'stale'>
        """
        flag, step_km = self._classify(position, at, received_at, anchor)
        point = self._point(position, at, flag)
        if flag is None:
            return self._appended(point, self._summary.then(point, step_km)), point
        if flag is not Flag.JUMP:
            return self._appended(point, self._summary), point
        summary = self._summary.jumped((*self.points, point), len(self.points), self.policy)
        if len(summary.run) < self.policy.resync_fixes:
            return self._appended(point, summary), point
        return self._resynced(point, summary.run)

    @staticmethod
    def _point(position: LatLng, at: datetime, flag: Flag | None) -> TrackPoint:
        # _classify checked `at`: build the point without checking it twice.
        point = object.__new__(TrackPoint)
        object.__setattr__(point, "position", position)
        object.__setattr__(point, "at", at)
        object.__setattr__(point, "flag", flag)
        object.__setattr__(point, "resync", False)
        return point

    def _resynced(self, point: TrackPoint, run: tuple[int, ...]) -> tuple[Track, TrackPoint]:
        """The track once the jumps of ``run`` (``point`` the last) are taken as real."""
        points = [*self.points, point]
        for n, i in enumerate(run):
            points[i] = attrs.evolve(points[i], flag=None, resync=n == 0)
        track = Track(tuple(points), self.policy)
        return track, points[-1]

    def set_aside(self, position: LatLng, at: datetime, flag: Flag) -> tuple[Track, TrackPoint]:
        """Keep a point the caller refused for a reason of its own (``flag``), unaccepted.

        >>> from datetime import datetime, timezone
        >>> at = datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
        >>> track, point = Track().set_aside(LatLng(4.05, 9.70), at, Flag.INACCURATE)
        >>> point.accepted, len(track), track.last
        (False, 1, None)
        """
        _require_aware("at", at)
        point = self._point(position, at, Flag(flag))
        return self._appended(point, self._summary), point

    @property
    def accepted_points(self) -> tuple[TrackPoint, ...]:
        """The accepted points, in order (their times strictly increase).

        >>> Track().accepted_points
        ()
        """
        return tuple(point for point in self.points if point.accepted)

    @property
    def accepted_count(self) -> int:
        """How many points are accepted (a resynchronisation accepts several at once).

        >>> Track().accepted_count
        0
        """
        return self._summary.accepted

    @property
    def last(self) -> TrackPoint | None:
        """The last accepted point, ``None`` before any.

        >>> Track().last is None
        True
        """
        return self._summary.last

    @property
    def distance_km(self) -> float:
        """Path length over the accepted points: the sum of :func:`haversine_km` between them.

        >>> Track().distance_km
        0.0
        """
        return self._summary.distance_km

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last accepted point; 0 with fewer than two.

        >>> Track().duration_s
        0.0
        """
        first, last = self._summary.first, self._summary.last
        if first is None or last is None:
            return 0.0
        return (last.at - first.at).total_seconds()

    def __len__(self) -> int:
        return len(self.points)


def cross_track_km(point: LatLng, start: LatLng, end: LatLng) -> float:
    """Distance in km from ``point`` to the great-circle segment from ``start`` to ``end``.

    Where the perpendicular from ``point`` meets the great circle within the
    segment, this is the cross-track distance; otherwise the distance to the
    nearer endpoint.  A segment whose ends are equal gives the distance to
    ``start``.

    >>> round(cross_track_km(LatLng(0.01, 0.5), LatLng(0, 0), LatLng(0, 1)), 3)  # 0.01 deg north
    1.112
    >>> cross_track_km(LatLng(0, 2), LatLng(0, 0), LatLng(0, 1)) == haversine_km(
    ...     LatLng(0, 2), LatLng(0, 1))
    True
    """
    to_start_km = haversine_km(start, point)
    to_end_km = haversine_km(end, point)
    if start == end:
        return to_start_km
    d13 = to_start_km / EARTH_RADIUS_KM
    d12 = haversine_km(start, end) / EARTH_RADIUS_KM
    angle = (initial_bearing_deg(start, point) - initial_bearing_deg(start, end)) * _RAD
    cross = math.asin(max(-1.0, min(1.0, math.sin(d13) * math.sin(angle))))
    # Along-track angle from start, signed; atan2 keeps it accurate for short
    # distances, where the textbook acos(cos d13 / cos dxt) loses all digits.
    along = math.atan2(math.sin(d13) * math.cos(angle), math.cos(d13))
    if 0.0 <= along <= d12:
        # Never above an endpoint distance, which rounding could otherwise give.
        return min(abs(cross) * EARTH_RADIUS_KM, to_start_km, to_end_km)
    return min(to_start_km, to_end_km)


def off_corridor(point: LatLng, start: LatLng, end: LatLng, corridor_km: float) -> bool:
    """True when ``point`` is more than ``corridor_km`` from the segment ``start``-``end``.

    ``corridor_km`` is the half-width, a finite number above zero; a point
    exactly on the edge is inside.

    >>> off_corridor(LatLng(0.01, 0.5), LatLng(0, 0), LatLng(0, 1), corridor_km=1.0)
    True
    >>> off_corridor(LatLng(0.005, 0.5), LatLng(0, 0), LatLng(0, 1), corridor_km=1.0)
    False
    """
    if not (type(corridor_km) is float and 0.0 < corridor_km < math.inf):
        corridor_km = _require("corridor_km", corridor_km, allow_zero=False)
    to_start_km = haversine_km(start, point)
    to_end_km = haversine_km(end, point)
    if min(to_start_km, to_end_km) <= corridor_km:
        return False  # no farther from the segment than from its nearer end
    half_sum = (to_start_km + to_end_km) / 2.0
    if half_sum <= _ELLIPSE_MAX_KM:
        # The point lies on the ellipse whose foci are the ends; on a plane no
        # point of it is farther from the segment than its semi-minor axis.
        # Over city distances the sphere is that plane to well within the margin.
        half_length = haversine_km(start, end) / 2.0
        semi_minor = math.sqrt(max(0.0, half_sum * half_sum - half_length * half_length))
        if semi_minor <= _ELLIPSE_MARGIN * corridor_km:
            return False
    return cross_track_km(point, start, end) > corridor_km


def eta_s(distance_km: float, speed_kmh: float) -> float:
    """Seconds to cover ``distance_km`` (finite, >= 0) at ``speed_kmh`` (finite, > 0).

    >>> eta_s(5.0, 30.0)
    600.0
    >>> eta_s(5.0, 0.0)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: speed_kmh must be a finite number > 0, got 0.0
    """
    # Floats in range pass the first test (NaN fails every comparison).
    if not (
        type(distance_km) is float
        and type(speed_kmh) is float
        and 0.0 <= distance_km < math.inf
        and 0.0 < speed_kmh < math.inf
    ):
        distance_km = _require("distance_km", distance_km, allow_zero=True)
        speed_kmh = _require("speed_kmh", speed_kmh, allow_zero=False)
    return distance_km / speed_kmh * 3600.0


def location_due(last_sent_at: datetime | None, now: datetime, interval_s: float) -> bool:
    """Whether a driver's position should be forwarded to the customer at ``now``.

    True when nothing was sent yet, or at least ``interval_s`` (finite,
    >= 0) has passed since ``last_sent_at``.  Also true when ``last_sent_at``
    is later than ``now``: after a clock moved back, waiting for it to catch
    up would leave the customer without updates.

    >>> from datetime import datetime, timedelta, timezone
    >>> now = datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
    >>> location_due(None, now, 5.0)
    True
    >>> location_due(now - timedelta(seconds=3), now, 5.0)
    False
    >>> location_due(now - timedelta(seconds=5), now, 5.0)
    True
    """
    if not (type(interval_s) is float and 0.0 <= interval_s < math.inf):
        interval_s = _require("interval_s", interval_s, allow_zero=True)
    _require_aware("now", now)
    if last_sent_at is None:
        return True
    _require_aware("last_sent_at", last_sent_at)
    elapsed_s = (now - last_sent_at).total_seconds()
    return elapsed_s >= interval_s or elapsed_s < 0.0
