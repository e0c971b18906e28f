"""Redis reads records stored in an earlier format through the core codec's read path."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis_support
from make_fixtures import facts, load

from vtc_dispatch.codec import FORMAT, CodecError

ENTRIES = [e for e in load(2) if e["record"] in ("order", "ride progress")]


@pytest.fixture(autouse=True)
def _clean() -> Any:
    yield
    redis_support.clean_up()


def _stored_text(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))  # as the adapter writes it


def test_records_of_format_2_set_in_redis_read_back_as_they_were() -> None:
    storage = redis_support.fresh_storage()
    prefix, client = storage.settings.prefix, storage.client
    for entry in ENTRIES:
        data = entry["data"]
        if entry["record"] == "order":
            client.hset(
                f"{prefix}:o:{data['id']}", mapping={"v": entry["version"], "d": _stored_text(data)}
            )
            assert facts(storage.orders.get(data["id"])) == entry["facts"], entry["where"]
            assert storage.orders.get(data["id"]).version == entry["version"]
        else:
            key = f"{prefix}:p:{data['order_id']}"
            client.hset(key, mapping={"v": entry["version"], "d": _stored_text(data)})
            assert facts(storage.progress.get(data["order_id"])) == entry["facts"], entry["where"]


def test_redis_reads_an_older_record_with_defaults_and_refuses_a_newer_format() -> None:
    storage = redis_support.fresh_storage()
    prefix, client = storage.settings.prefix, storage.client
    rated = next(e for e in ENTRIES if e["step"] == "rated")
    older = {k: v for k, v in rated["data"].items() if k not in ("ratings", "tried")}
    client.hset(f"{prefix}:o:older", mapping={"v": 1, "d": _stored_text({**older, "id": "older"})})
    order = storage.orders.get("older")
    assert (order.ratings, order.tried, order.state) == ((), frozenset(), "done")
    newer = {**rated["data"], "id": "newer", "format": FORMAT + 1}
    client.hset(f"{prefix}:o:newer", mapping={"v": 1, "d": _stored_text(newer)})
    with pytest.raises(CodecError, match=f"order 'newer': stored in format {FORMAT + 1}"):
        storage.orders.get("newer")
