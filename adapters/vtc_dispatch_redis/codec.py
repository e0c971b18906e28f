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

from vtc_dispatch.codec import (
    CodecError,
    order_from_data,
    order_to_data,
    progress_from_data,
    progress_to_data,
)
from vtc_dispatch.order import Order, RideProgress

__all__ = [
    "CodecError",
    "decode_order",
    "decode_progress",
    "encode_order",
    "encode_progress",
    "json_id",
]

_COMPACT = (",", ":")
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
    return json.dumps(order_to_data(order), separators=_COMPACT)


def decode_order(text: str | bytes, *, version: int) -> Order:
    """The order stored as ``text`` (by :func:`encode_order`), at ``version``."""
    return order_from_data(_loads(text, "order"), version=version)


def encode_progress(progress: RideProgress) -> str:
    """A ride's live progress as JSON text, without its version."""
    return json.dumps(progress_to_data(progress), separators=_COMPACT)


def decode_progress(text: str | bytes, *, version: int) -> RideProgress:
    """The progress stored as ``text`` (by :func:`encode_progress`), at ``version``."""
    return progress_from_data(_loads(text, "ride progress"), version=version)
