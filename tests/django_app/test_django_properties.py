"""Properties of the Django adapter: the ORM finds the drivers the in-memory index finds (poles
and antimeridian included).  Stored orders reading back equal is a property of the core's codec
(tests/property/test_codec_property.py), which the app's JSON column holds as it is."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import points, radii_km

from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import InMemoryDriverRegistry
from vtc_dispatch.order import DriverStatus

T0 = datetime(2026, 11, 21, 21, 50, tzinfo=UTC)


drivers = st.lists(
    st.tuples(points, st.sampled_from(["taxi_jaune", "confort"]), st.booleans()),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fleet=drivers, center=points, radius=radii_km, k=st.integers(0, 30))
@example(
    fleet=[(LatLng(0.0, 0.0), "taxi_jaune", True)],
    center=LatLng(0.0, 1.5195897556596139e-304),
    radius=0.0,
    k=1,
)
def test_the_orm_registry_finds_what_the_index_finds(
    db: object, fleet: list[tuple[LatLng, str, bool]], center: LatLng, radius: float, k: int
) -> None:
    from vtc_dispatch_django.models import DriverPresence
    from vtc_dispatch_django.repositories import DjangoDriverRegistry

    DriverPresence.objects.all().delete()
    orm, memory = DjangoDriverRegistry(), InMemoryDriverRegistry()
    for i, (position, vehicle, online) in enumerate(fleet):
        status = DriverStatus(f"d{i:02}", vehicle, position, online, T0)
        orm.put(status)
        memory.put(status)
    found = orm.nearest_available(center, k, radius)
    expected = memory.nearest_available(center, k, radius)
    assert [d for d, _ in found] == [d for d, _ in expected]
    for (_, km), (_, expected_km) in zip(found, expected, strict=True):
        assert abs(km - expected_km) < 1e-9
    assert orm.count_available(center, radius) == memory.count_available(center, radius)
    only = orm.nearest_available(center, k, radius, ["confort"], exclude={"d00"})
    assert only == list(memory.nearest_available(center, k, radius, ["confort"], exclude={"d00"}))
