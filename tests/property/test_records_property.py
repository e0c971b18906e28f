"""The fast copies of hot records (``_records.slot_copier``) equal what attrs builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import given
from hypothesis import strategies as st
from strategies import anywhere

from vtc_dispatch._records import slot_builder, slot_copier
from vtc_dispatch.changes import ChangeSet, DriverPositioned, DriverSeen, DriverWrite
from vtc_dispatch.commands.context import Decision
from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import DriverStatus, Presence

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
instants = st.builds(lambda s: T0 + timedelta(seconds=s), st.integers(-86_400, 86_400))
ids = st.text(min_size=1, max_size=8)
maybe_ids = st.none() | ids

statuses = st.builds(
    DriverStatus,
    driver_id=ids,
    vehicle_type=ids,
    position=anywhere,
    online=st.booleans(),
    updated_at=instants,
    order_id=maybe_ids,
    blocked=st.booleans(),
    rating_sum=st.integers(0, 500),
    rating_count=st.integers(0, 100),
    seen_at=instants,
    presence=st.sampled_from(Presence),
    offline_reason=maybe_ids,
    suspended=st.booleans(),
)
STATUS_FIELDS = [a.name for a in attrs.fields(DriverStatus)]
values = {
    "driver_id": ids,
    "vehicle_type": ids,
    "position": anywhere,
    "online": st.booleans(),
    "updated_at": instants,
    "order_id": maybe_ids,
    "blocked": st.booleans(),
    "rating_sum": st.integers(0, 500),
    "rating_count": st.integers(0, 100),
    "seen_at": instants,
    "presence": st.sampled_from(Presence),
    "offline_reason": maybe_ids,
    "suspended": st.booleans(),
}


@given(statuses, st.data())
def test_a_copied_status_equals_the_one_attrs_builds(
    status: DriverStatus, data: st.DataObject
) -> None:
    changed = data.draw(st.lists(st.sampled_from(STATUS_FIELDS), unique=True))
    new = [data.draw(values[name]) for name in changed]
    copy = slot_copier(DriverStatus, *changed)(status, *new)
    expected = attrs.evolve(status, **dict(zip(changed, new, strict=True)))
    assert type(copy) is DriverStatus
    assert copy == expected
    assert attrs.astuple(copy, recurse=False) == attrs.astuple(expected, recurse=False)
    assert hash(copy) == hash(expected)


writes = st.lists(
    st.one_of(
        st.builds(DriverPositioned, ids, anywhere, instants),
        st.builds(DriverSeen, ids, instants),
    ),
    max_size=3,
).map(tuple)


@given(writes)
def test_a_change_set_of_drivers_equals_the_one_attrs_builds(
    drivers: tuple[DriverWrite, ...],
) -> None:
    fast = ChangeSet.of_drivers(drivers)
    assert fast == ChangeSet(drivers=drivers)
    assert attrs.astuple(fast, recurse=False) == attrs.astuple(
        ChangeSet(drivers=drivers), recurse=False
    )
    assert fast.is_empty is (not drivers)
    assert fast.drivers_only
    decision = Decision.of_drivers(drivers)
    assert decision == Decision(None, ChangeSet(drivers=drivers))
    assert decision.result is None


@given(ids, anywhere, instants)
def test_a_built_fix_write_equals_the_one_attrs_builds(
    driver_id: str, position: LatLng, at: datetime
) -> None:
    built = slot_builder(DriverPositioned)(driver_id, position, at)
    assert type(built) is DriverPositioned
    assert built == DriverPositioned(driver_id, position, at)
    assert hash(built) == hash(DriverPositioned(driver_id, position, at))
