"""The ProgressStore contract: empty by default, versioned saves, discard."""

from __future__ import annotations

import attrs
import pytest
from places import AKWA, T0

from vtc_dispatch.errors import ConcurrencyConflict
from vtc_dispatch.ports import ProgressStore


def test_progress_versions_and_discard(progress_store: ProgressStore) -> None:
    fresh = progress_store.get("o1")
    assert (fresh.order_id, fresh.version, len(fresh.trip)) == ("o1", 0, 0)
    trip, _ = fresh.trip.add(AKWA, T0)
    saved = progress_store.save(attrs.evolve(fresh, trip=trip), expected_version=0)
    assert saved.version == 1
    assert progress_store.get("o1").trip.last is not None
    with pytest.raises(ConcurrencyConflict, match="version 1, not 0"):
        progress_store.save(attrs.evolve(fresh, arriving_sent=True), expected_version=0)
    assert progress_store.get("o1") == saved
    progress_store.discard("o1")
    progress_store.discard("o1")  # idempotent
    assert progress_store.get("o1").version == 0
