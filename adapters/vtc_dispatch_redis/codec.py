"""Orders and ride progress as compact JSON text for Redis: the core's stored form.

The records' data comes from :mod:`vtc_dispatch.codec` (shared with every
other store); this module only turns it into text and back, and reads an
order's id without decoding the rest.

>>> from datetime import UTC, datetime
>>> from vtc_dispatch.order import RideProgress
>>> progress = RideProgress("o1", last_location_sent_at=datetime(1970, 1, 1, tzinfo=UTC))
>>> text = encode_progress(progress)
>>> text
'{"order_id":"o1","format":3,"approach":null,"trip":null,"route_changed":false,...}'
>>> decode_progress(text, version=2).last_location_sent_at
datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> decode_order("[1, 2", version=3)
Traceback (most recent call last):
...
vtc_dispatch.codec.CodecError: a stored order is not JSON: ...
"""

from __future__ import annotations

import json
import threading

from vtc_dispatch.codec import (
    CodecError,
    Data,
    order_from_data,
    order_to_data,
    progress_from_data,
    progress_to_data,
    track_points_to_data,
)
from vtc_dispatch.order import Order, RideProgress
from vtc_dispatch.tracking import Track, TrackPoint

__all__ = [
    "CodecError",
    "ProgressEncoder",
    "decode_order",
    "decode_progress",
    "encode_order",
    "encode_progress",
    "json_id",
]

_COMPACT = (",", ":")
_dumps = json.JSONEncoder(separators=_COMPACT).encode
"""json.dumps(..., separators=_COMPACT) without building an encoder at each call (at every
fix of a ride)."""
_ID_FIRST = '{"id":'


def _loads(text: str | bytes, what: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CodecError(f"a stored {what} is not JSON: {exc} in {text[:80]!r}") from exc


def json_id(text: str) -> str:
    """The id of the order stored as ``text``, without decoding the rest (it comes first).

    >>> json_id('{"id":"ord-1","format":3}')
    'ord-1'
    """
    if text.startswith(_ID_FIRST):
        return str(json.JSONDecoder().raw_decode(text, len(_ID_FIRST))[0])
    data = _loads(text, "order")
    return str(data.get("id") if isinstance(data, dict) else None)


def encode_order(order: Order) -> str:
    """The order as JSON text, without its version (the store keeps it beside)."""
    return _dumps(order_to_data(order))


def decode_order(text: str | bytes, *, version: int) -> Order:
    """The order stored as ``text`` (by :func:`encode_order`), at ``version``."""
    return order_from_data(_loads(text, "order"), version=version)


def encode_progress(progress: RideProgress) -> str:
    """A ride's live progress as JSON text, without its version."""
    return _dumps(progress_to_data(progress))


class ProgressEncoder:
    """:func:`encode_progress` that keeps the text of each ride's track points.

    A progress is stored whole at every GPS fix of its ride, and a ride of
    twenty minutes has hundreds of points: encoding them all again made a
    fix cost in proportion to the ride's length.  This encoder keeps, for
    the last ``size`` tracks it encoded, their points and text; a track
    that starts with the points kept (a fix adds one at the end) has only
    the new ones encoded, the others' text reused.  Any other track (a
    resynchronisation rewrote recent points, another process wrote the
    ride) is encoded whole.  The text is :func:`encode_progress`'s; only
    a kept point equal to the new one but timed in another zone object
    (``ZoneInfo("UTC")`` for ``UTC``) keeps the form it was first written
    in, which reads back equal.  Thread-safe.

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.geo import LatLng
    >>> encoder = ProgressEncoder(100)
    >>> track, _ = Track().add(LatLng(4.05, 9.7), datetime(2026, 1, 1, tzinfo=UTC))
    >>> track, _ = track.add(LatLng(4.06, 9.7), datetime(2026, 1, 1, 0, 2, tzinfo=UTC))
    >>> progress = RideProgress("o1", trip=track)
    >>> encoder.encode(progress) == encode_progress(progress)
    True
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._tracks: dict[tuple[str, str], tuple[tuple[TrackPoint, ...], str]] = {}
        self._lock = threading.Lock()

    def encode(self, progress: RideProgress) -> str:
        """The progress as :func:`encode_progress` writes it."""
        if not self._size:
            return encode_progress(progress)
        texts: dict[str, str] = {}

        def points(name: str, track: Track) -> Data:
            texts[name] = self._points_text((progress.order_id, name), track.points)
            return _MARKS[name]

        text = _dumps(progress_to_data(progress, points=points))
        for name, points_text in texts.items():
            text = text.replace(_MARKED[name], f'"{name}":[{points_text}', 1)
        return text

    def forget(self, order_id: str) -> None:
        """Drop what is kept of the ride of ``order_id`` (it ended)."""
        with self._lock:
            for name in _MARKS:
                self._tracks.pop((order_id, name), None)

    def _points_text(self, key: tuple[str, str], points: tuple[TrackPoint, ...]) -> str:
        kept = self._tracks.get(key)
        # Points are immutable and a track shares its predecessor's: the tuples'
        # comparison finds them identical one by one, without looking inside.
        if kept is not None and len(points) >= len(kept[0]) and points[: len(kept[0])] == kept[0]:
            added = points[len(kept[0]) :]
            if not added:
                text = kept[1]
            else:
                tail = _dumps(track_points_to_data(added))
                text = f"{kept[1][:-1]},{tail[1:]}"  # kept tracks are never empty
        else:
            text = _dumps(track_points_to_data(points))
        with self._lock:
            self._tracks.pop(key, None)  # the most recent last, the oldest evicted first
            self._tracks[key] = (points, text)
            if len(self._tracks) > self._size:
                del self._tracks[next(iter(self._tracks))]
        return text


_MARKS = {name: f"\x00{name}" for name in ("approach", "trip")}
"""What stands for a track's points in the data :class:`ProgressEncoder` encodes."""
# The mark as encoded, after its field's name: no text inside a JSON string can look
# like that (its quotes would be escaped), whatever an id holds.
_MARKED = {name: f'"{name}":[{json.dumps(mark)}' for name, mark in _MARKS.items()}


def decode_progress(text: str | bytes, *, version: int) -> RideProgress:
    """The progress stored as ``text`` (by :func:`encode_progress`), at ``version``."""
    return progress_from_data(_loads(text, "ride progress"), version=version)
