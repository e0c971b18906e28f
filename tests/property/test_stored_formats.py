"""Records stored by earlier code read back with today's codec (tests/fixtures/stored).

The fixtures were written once by ``tests/fixtures/stored/make_fixtures.py``
with the code of their format; they are never regenerated.  Growing the
form is simulated the way a change would make it: a field deleted from a
record (stored before the field existed), a class given a field and the
codec's table one line (``_ORDER_ADDED``), a format bump with its upgrade
steps (``FORMAT`` and ``_UPGRADES``), each under ``monkeypatch``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from make_fixtures import HERE, facts, load

from vtc_dispatch import codec
from vtc_dispatch.codec import (
    FORMAT,
    OLDEST_FORMAT,
    CodecError,
    order_from_data,
    order_to_data,
    progress_from_data,
    progress_to_data,
    quote_from_data,
    quote_to_data,
)
from vtc_dispatch.order import Order, RideProgress
from vtc_dispatch.pricing.quote import FareQuote

Entry = dict[str, Any]


FORMAT2 = load(2)
STORED = [e for fmt in range(OLDEST_FORMAT, FORMAT + 1) for e in load(fmt)]
"""Every record kept, of every format this code reads (a bump adds the fixtures of its own)."""
ORDERS = [e for e in FORMAT2 if e["record"] == "order"]
FORMAT3 = load(3)
ORDERS3 = [e for e in FORMAT3 if e["record"] == "order"]
"""Orders as this code writes them (format 3: history entries name the actor's id)."""


def read(entry: Entry, data: Any = None) -> Order | RideProgress | FareQuote:
    """The record of ``entry`` (or ``data`` in its place) read with the codec."""
    data = entry["data"] if data is None else data
    if entry["record"] == "order":
        return order_from_data(data, version=entry["version"])
    if entry["record"] == "ride progress":
        return progress_from_data(data, version=entry["version"])
    return quote_from_data(data)


def write(record: Order | RideProgress | FareQuote) -> Any:
    """``record`` as stored, through JSON text (as every store gives it back)."""
    if isinstance(record, Order):
        data = order_to_data(record)
    elif isinstance(record, RideProgress):
        data = progress_to_data(record)
    else:
        data = quote_to_data(record)
    return json.loads(json.dumps(data))


def test_the_fixtures_hold_every_kind_of_record() -> None:
    kinds = {e["record"] for e in FORMAT2}
    states = {e["facts"]["state"] for e in ORDERS}
    assert kinds == {"order", "ride progress", "quote"}
    assert {"searching", "accepted", "arrived", "in_progress", "done", "cancelled"} <= states
    assert any(e["facts"]["bids"] for e in ORDERS)
    assert any(e["facts"]["ratings"] for e in ORDERS)
    assert any(e["facts"]["cancellation"] and e["facts"]["payment"][0] == "paid" for e in ORDERS)
    assert any(e["record"] == "ride progress" and e["facts"]["trip"] for e in FORMAT2)


@pytest.mark.parametrize(
    "entry", STORED, ids=[f"{e['data']['format']}/{e['where']}" for e in STORED]
)
def test_a_stored_record_reads_back_as_it_was_stored(entry: Entry) -> None:
    record = read(entry)
    assert facts(record) == entry["facts"]
    if not isinstance(record, FareQuote):
        assert record.version == entry["version"]
    again = write(record)
    assert again["format"] == FORMAT
    assert read(entry, again) == record
    if entry["data"]["format"] == FORMAT:
        assert again == entry["data"]


def class_default(cls: type, name: str) -> Any:
    default: Any = attrs.fields_dict(cls)[name].default
    factory = getattr(default, "factory", None)  # attrs.Factory (typed as a function)
    return default if factory is None else factory()


DEFAULTED = {
    "order": [a.name for a in attrs.fields(Order) if a.default is not attrs.NOTHING],
    "ride progress": [a.name for a in attrs.fields(RideProgress) if a.default is not attrs.NOTHING],
}
for names in DEFAULTED.values():
    names.remove("version")  # kept beside the data, never in it

RECORDS_WITH_DEFAULTS = [e for e in FORMAT2 if e["record"] in DEFAULTED]


@settings(max_examples=100, deadline=None)
@given(entry=st.sampled_from(RECORDS_WITH_DEFAULTS), data=st.data())
def test_a_record_stored_before_a_field_was_added_reads_with_the_field_s_default(
    entry: Entry, data: st.DataObject
) -> None:
    kind = Order if entry["record"] == "order" else RideProgress
    gone = data.draw(st.sets(st.sampled_from(DEFAULTED[entry["record"]]), min_size=1), label="gone")
    older = {k: v for k, v in entry["data"].items() if k not in gone}
    record = read(entry, older)
    expected = attrs.evolve(read(entry), **{name: class_default(kind, name) for name in gone})
    assert record == expected


def test_a_record_missing_a_field_without_default_is_refused_naming_it() -> None:
    stored = ORDERS[0]["data"]
    with pytest.raises(
        CodecError, match=r"bidding-1': missing fields \['lifecycle', 'created_at'\]$"
    ):
        order_from_data(
            {k: v for k, v in stored.items() if k not in ("lifecycle", "created_at")}, version=1
        )


@pytest.mark.parametrize("fmt", [0, 1, FORMAT + 1, 99, -2])
@pytest.mark.parametrize("record", ["order", "ride progress", "quote"])
def test_an_unknown_format_number_is_refused_naming_it(record: str, fmt: int) -> None:
    entry = next(e for e in FORMAT2 if e["record"] == record)
    with pytest.raises(CodecError) as refusal:
        read(entry, {**entry["data"], "format": fmt})
    message = str(refusal.value)
    assert message.startswith(record)
    assert f"stored in format {fmt}, this code reads formats {OLDEST_FORMAT} to {FORMAT}" in message
    assert ("written by newer code" in message) == (fmt > FORMAT)


# A field added to a class: the two lines the module's docstring shows, made by monkeypatch.


@attrs.frozen
class TipOrder(Order):
    tip: str = "none"


@attrs.frozen
class PromoQuote(FareQuote):
    promo: str | None = None


@contextmanager
def with_added_fields() -> Iterator[None]:
    """The codec as it would be with ``Order.tip`` and ``FareQuote.promo`` added."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(codec, "Order", TipOrder)
        patch.setattr(codec, "_ORDER_ADDED", (codec._Field("tip", codec._str, "none"),))
        patch.setattr(codec, "FareQuote", PromoQuote)
        patch.setattr(codec, "_QUOTE_ADDED", (codec._Field("promo", codec._opt_str, None),))
        yield


@pytest.mark.parametrize("entry", ORDERS3, ids=[e["where"] for e in ORDERS3])
def test_an_added_field_reads_as_its_default_and_is_written_only_when_not_its_default(
    entry: Entry,
) -> None:
    with with_added_fields():
        order = read(entry)
        assert isinstance(order, TipOrder)
        assert isinstance(order.quote, PromoQuote)
        assert (order.tip, order.quote.promo) == ("none", None)
        assert write(order) == entry["data"]  # older workers still read it
        tipped = attrs.evolve(order, tip="500", quote=attrs.evolve(order.quote, promo="NOEL"))
        newer = write(tipped)
        assert newer["tip"] == "500"
        assert newer["quote"][-1] == "NOEL"
        assert read(entry, newer) == tipped
    # A worker of the release before refuses it instead of dropping what it does not know.
    with pytest.raises(CodecError, match=r"unknown fields \['tip'\]"):
        read(entry, newer)
    without_tip = {k: v for k, v in newer.items() if k != "tip"}
    with pytest.raises(CodecError, match=r"field 'quote'.*1 more values than this code knows"):
        read(entry, without_tip)


# A format bump: FORMAT raised to 4 with two upgrade steps, as a change would add them.
ACTOR_IDS = codec._UPGRADES[2]
"""The real step 2 to 3 (history entries get the actor's id): the pretend one runs it too."""


def test_format_3_gives_the_history_entries_of_format_2_an_unknown_actor_id() -> None:
    entry = next(e for e in ORDERS if e["facts"]["state"] == "done")
    upgraded = ACTOR_IDS("order", entry["data"])
    history = upgraded["lifecycle"][3]
    assert history == [[*e, None] for e in entry["data"]["lifecycle"][3]]
    order = read(entry)
    assert isinstance(order, Order)
    assert {h.actor_id for h in order.lifecycle.history} == {None}
    assert ACTOR_IDS("quote", {"q": 1}) == {"q": 1}


def step_2_to_3(record: str, data: dict[str, Any]) -> dict[str, Any]:
    """(Pretend) format 3 also called the payment status "none" "unpaid"."""
    data = ACTOR_IDS(record, data)
    if record == "order" and data.get("payment_status", "none") == "none":
        return {**data, "payment_status": "unpaid"}
    return data


def step_3_to_4(record: str, data: dict[str, Any]) -> dict[str, Any]:
    """(Pretend) format 4 went back to "none"."""
    if record == "order" and data.get("payment_status") == "unpaid":
        return {**data, "payment_status": "none"}
    return data


@contextmanager
def format_4(calls: list[tuple[int, str]] | None = None) -> Iterator[None]:
    """The codec as it would be after two format bumps, each with its upgrade step."""

    def logged(fmt: int, step: codec._Upgrade) -> codec._Upgrade:
        def run(record: str, data: dict[str, Any]) -> dict[str, Any]:
            assert data["format"] == fmt, "a step is given a record of its own format"
            if calls is not None:
                calls.append((fmt, record))
            return step(record, data)

        return run

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(codec, "FORMAT", 4)
        patch.setattr(codec, "_UPGRADES", {2: logged(2, step_2_to_3), 3: logged(3, step_3_to_4)})
        yield


def test_the_upgrade_steps_run_in_order_and_only_the_current_format_is_written() -> None:
    entry = ORDERS[0]
    calls: list[tuple[int, str]] = []
    with format_4(calls):
        order = read(entry)
        assert calls == [(2, "order"), (3, "order")]
        assert facts(order) == entry["facts"]
        stored = write(order)
        assert stored["format"] == 4
        calls.clear()
        assert read(entry, stored) == order
        assert calls == []  # a record of the current format goes through no step
        in_3 = {**step_2_to_3("order", entry["data"]), "format": 3}
        assert read(entry, in_3) == order
        assert calls == [(3, "order")]
        with pytest.raises(CodecError, match="stored in format 5, this code reads formats 2 to 4"):
            read(entry, {**entry["data"], "format": 5})
        with pytest.raises(CodecError, match="stored in format 1, this code reads formats 2 to 4"):
            read(entry, {**entry["data"], "format": 1})


def test_a_step_that_fails_is_refused_naming_the_formats() -> None:
    entry = ORDERS[0]
    with format_4(), pytest.MonkeyPatch.context() as patch:
        patch.setitem(codec._UPGRADES, 3, lambda record, data: data["no such field"])
        with pytest.raises(CodecError, match=r"order '.*': cannot be upgraded from format 3 to 4"):
            read(entry)


def test_there_is_one_step_per_format_from_the_oldest_read_to_the_current() -> None:
    assert set(codec._UPGRADES) == set(range(OLDEST_FORMAT, FORMAT))
    assert OLDEST_FORMAT <= FORMAT
    kept = {int(p.name.removeprefix("format")) for p in HERE.glob("format*")}
    assert kept >= set(range(OLDEST_FORMAT, FORMAT + 1)), "make_fixtures.py writes the new ones"


@contextmanager
def codec_along(path: str, added: bool) -> Iterator[int]:
    """The codec along ``path``, with the added fields or not; yields the format it writes."""
    with ExitStack() as patches:
        if path != "today":
            patches.enter_context(format_4())
        if added:
            patches.enter_context(with_added_fields())
        yield codec.FORMAT


@settings(max_examples=150, deadline=None)
@given(
    entry=st.sampled_from(FORMAT2),
    path=st.sampled_from(["today", "format 4 from 2", "format 4 from 3"]),
    added=st.booleans(),
    data=st.data(),
)
def test_writing_what_was_read_is_stable_along_the_upgrade_path(
    entry: Entry, path: str, added: bool, data: st.DataObject
) -> None:
    stored = entry["data"]
    names = DEFAULTED.get(entry["record"], [])
    gone = data.draw(st.sets(st.sampled_from(names)) if names else st.just(set()), label="gone")
    stored = {k: v for k, v in stored.items() if k not in gone}
    with codec_along(path, added) as current:
        if path == "format 4 from 3":
            stored = {**step_2_to_3(entry["record"], stored), "format": 3}
        record = read(entry, stored)
        once = write(record)
        assert once["format"] == current
        back = read(entry, once)
        assert back == record
        assert write(back) == once
