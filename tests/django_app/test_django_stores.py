"""The service's storage in the database: statistics and ratings outlive a rebuild; freight
and delivery orders come back whole at every step, with their kind; STORES.

The contract suites (tests/contract) check each ORM port alone; here the
drivers' statistics and customers' ratings are followed through the
service, and the ``VTC_DISPATCH["STORES"]`` setting's two forms.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django_demo import AKWA, DEIDO, LOAD_FROM, LOAD_TO, T0, Demo, with_dakar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import InMemoryOrderRepository, InMemoryRatingStore
from vtc_dispatch.order import Actor, Order, ProofOfDelivery
from vtc_dispatch.pool import StatsBook
from vtc_dispatch.pool.stats import Outcome

PICKUP = LatLng(AKWA["lat"], AKWA["lng"])
DESTINATION = LatLng(DEIDO["lat"], DEIDO["lng"])


def _between(a: LatLng, b: LatLng, share: float) -> LatLng:
    return LatLng(a.lat + (b.lat - a.lat) * share, a.lng + (b.lng - a.lng) * share)


def _rebuild_by_a_tariff_change() -> None:
    from vtc_dispatch_django.models import Tariff

    tariff = Tariff.objects.get(city_id="douala", vehicle_type_id="taxi_jaune")
    tariff.base_fare += Decimal(100)
    tariff.save()


def test_statistics_and_ratings_outlive_a_rebuild_of_the_service(demo: Demo) -> None:
    from vtc_dispatch_django.repositories import DjangoRatingStore, DjangoStatsStore

    service = demo.service
    assert isinstance(service.stats, DjangoStatsStore)
    assert isinstance(service.ratings, DjangoRatingStore)
    amadou, brice, chantal = demo.ids["amadou"], demo.ids["brice"], demo.ids["chantal"]
    service.driver_online(amadou, "taxi_jaune", destination_point(PICKUP, 0, 0.3))
    service.driver_online(brice, "taxi_jaune", destination_point(PICKUP, 90, 0.6))
    order = service.create_order(chantal, PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert order.offered_to == amadou
    service.reject(amadou, order.id)
    service.accept(brice, order.id)
    for i in (1, 2, 3):
        demo.clock.advance(timedelta(seconds=20))
        service.update_position(brice, destination_point(PICKUP, 90, (3 - i) * 0.2))
    service.arrived(brice, order.id)
    demo.clock.advance(timedelta(minutes=1))
    service.start_trip(brice, order.id)
    for i in range(1, 11):
        demo.clock.advance(timedelta(seconds=20))
        service.update_position(brice, _between(PICKUP, DESTINATION, i / 10))
    service.complete_trip(brice, order.id)
    service.rate(Actor.driver(brice), order.id, 2)

    _rebuild_by_a_tariff_change()
    rebuilt = demo.service
    assert rebuilt is not service
    assert rebuilt.customer_rating(chantal) == 2.0
    now = demo.clock.now()
    stats = rebuilt.stats.get(amadou)
    assert (stats.offered, stats.refused, stats.accepted) == (1, 1, 0)
    assert stats.acceptance_rate(now) == 0.0
    stats = rebuilt.stats.get(brice)
    assert (stats.offered, stats.accepted) == (1, 1)
    assert stats.acceptance_rate(now) == 1.0


def test_loads_and_deliveries_read_back_whole_at_every_step_with_their_kind(demo: Demo) -> None:
    """Bids (with their validity), the agreed price, the proof, a dispute and its resolution,
    a delivery's merchant, goods and merchant states: the row's JSON gives the order back
    as the service answered it, and its columns follow (kind, state, active)."""
    from vtc_dispatch_django.models import OrderRecord
    from vtc_dispatch_django.repositories import DjangoOrderRepository

    with_dakar()
    service, ids, clock = demo.service, demo.ids, demo.clock
    stored = DjangoOrderRepository()
    steps: list[str] = []

    def same(order: Order) -> Order:
        assert stored.get(order.id) == order, order.state
        row = OrderRecord.objects.get(order_id=order.id)
        assert (row.kind, row.state, row.active) == (order.kind, order.state, order.is_active)
        steps.append(order.state)
        return order

    amadou, brice, carine = ids["amadou"], ids["brice"], ids["carine"]
    service.driver_online(amadou, "camion_10t", destination_point(LOAD_FROM, 0, 0.05))
    service.driver_online(brice, "camion_10t", destination_point(LOAD_FROM, 90, 0.05))
    shipper = Actor.customer(ids["chantal"])
    load = same(service.create_order(ids["chantal"], LOAD_FROM, LOAD_TO, "camion_10t", "WAVE"))
    same(service.post_load(shipper, load.id))
    same(service.submit_bid(amadou, load.id, Decimal(61000), valid_for_s=600))
    bidding = same(service.submit_bid(brice, load.id, Decimal(58000)))
    assert [(b.driver_id, b.valid_until) for b in bidding.bids] == [
        (amadou, T0 + timedelta(seconds=600)),
        (brice, None),
    ]
    assert same(service.accept_bid(ids["chantal"], load.id, brice)).agreed_price == 58000
    same(service.arrived(brice, load.id))
    same(service.start_trip(brice, load.id))
    demo.clock.advance(timedelta(minutes=15))
    same(service.depart(brice, load.id))
    service.update_position(brice, LOAD_TO)
    proof = ProofOfDelivery(LOAD_TO, clock.now(), load.delivery_code, "pod/7.jpg")
    assert same(service.deliver(brice, load.id, proof)).proof == proof
    disputed = same(service.dispute(shipper, load.id, "two pallets short"))
    assert disputed.lifecycle.history[-1].reason == "two pallets short"
    same(service.resolve_dispute("ops-1", load.id, "refund 10 %"))

    service.driver_online(carine, "moto_livraison", destination_point(LOAD_FROM, 180, 0.05))
    parcel = same(
        service.create_order(
            ids["didier"], LOAD_FROM, LOAD_TO, "moto_livraison", "CASH",
            merchant_id=ids["chantal"], goods_amount=Decimal("7500"),
        )
    )  # fmt: skip
    assert (parcel.merchant_id, parcel.goods_amount) == (ids["chantal"], Decimal(7500))
    merchant = Actor.merchant(ids["chantal"])
    for event in ("confirm", "prepare", "mark_ready"):
        same(service.merchant_update(merchant, parcel.id, event))
    assert steps == [
        "draft", "bidding", "bidding", "bidding", "assigned", "pickup_pending", "picked_up",
        "in_transit", "delivered", "disputed", "resolved",
        "waiting", "confirmed", "preparing", "offered",
    ]  # fmt: skip
    kinds = OrderRecord.objects.values_list("kind", flat=True)
    assert sorted(kinds.filter(kind__in=["freight", "delivery"])) == ["delivery", "freight"]


answers = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2"]),
        st.sampled_from(["offered", "accepted", "refused", "expired", "cancelled_after_accept"]),
        st.integers(-90, 240),  # minutes from T0: out of order at times
    ),
    max_size=30,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=answers, later=st.integers(0, 300))
def test_the_orm_statistics_answer_as_the_stats_book(
    db: object, records: list[tuple[str, Outcome, int]], later: int
) -> None:
    from vtc_dispatch_django.models import DriverAnswer, StatsRecord
    from vtc_dispatch_django.repositories import DjangoStatsStore

    StatsRecord.objects.all().delete()
    DriverAnswer.objects.all().delete()
    window = timedelta(hours=1)
    orm, book = DjangoStatsStore(window=window), StatsBook(window=window)
    for driver, outcome, minutes in records:
        at = T0 + timedelta(minutes=minutes)
        orm.record(driver, outcome, at)
        book.record(driver, outcome, at)
    for driver in ("d1", "d2", "nobody"):
        got, expected = orm.get(driver), book.get(driver)
        assert list(got.recent) == list(expected.recent)
        assert (got.offered, got.accepted, got.refused, got.expired) == (
            expected.offered,
            expected.accepted,
            expected.refused,
            expected.expired,
        )
        assert got.cancelled_after_accept == expected.cancelled_after_accept
        for minutes in (0, later, 400):
            now = T0 + timedelta(minutes=minutes)
            assert got.acceptance_rate(now) == expected.acceptance_rate(now)
            assert got.cancellation_rate(now) == expected.cancellation_rate(now)


def test_the_window_and_the_stars_are_checked(db: object) -> None:
    from vtc_dispatch.service import InvalidRating
    from vtc_dispatch_django.repositories import DjangoRatingStore, DjangoStatsStore

    with pytest.raises(ValueError, match="window must be positive, got 0:00:00"):
        DjangoStatsStore(window=timedelta(0))
    ratings = DjangoRatingStore()
    with pytest.raises(InvalidRating, match=r"stars must be an integer, got 4\.5"):
        ratings.add("c", 4.5)  # type: ignore[arg-type]
    assert ratings.totals("c") == (0, 0)


# -- VTC_DISPATCH["STORES"] --------------------------------------------------------


def some_in_memory() -> dict[str, Any]:
    """A STORES factory: orders and statistics in memory, the rest in the database."""
    return {"orders": InMemoryOrderRepository(), "stats": StatsBook()}


def old_tuple_form() -> tuple[Any, Any, Any]:
    """A STORES factory of the first form: (orders, drivers, progress)."""
    from vtc_dispatch.memory import InMemoryDriverRegistry, InMemoryProgressStore

    return InMemoryOrderRepository(), InMemoryDriverRegistry(), InMemoryProgressStore()


def with_a_notifier() -> dict[str, Any]:
    return {"ratings": InMemoryRatingStore(), "notifier": object()}


def not_a_wallet() -> dict[str, Any]:
    return {"wallet": InMemoryRatingStore()}


def a_number() -> int:
    return 42


def _service_with(settings: Any, factory: str) -> Any:
    from vtc_dispatch_django.runtime import get_service, reset_service

    settings.VTC_DISPATCH = {"CONFIG_CHECK_S": 0.0, "STORES": f"{__name__}.{factory}"}
    reset_service()
    return get_service()


def test_a_mapping_of_stores_replaces_those_it_names(demo: Demo, settings: Any) -> None:
    from vtc_dispatch_django import repositories as orm

    service = _service_with(settings, "some_in_memory")
    assert isinstance(service.orders, InMemoryOrderRepository)
    assert isinstance(service.stats, StatsBook)
    assert isinstance(service.drivers, orm.DjangoDriverRegistry)
    assert isinstance(service.progress, orm.DjangoProgressStore)
    assert isinstance(service.ratings, orm.DjangoRatingStore)
    assert isinstance(service.wallet, orm.DjangoWallet)
    # The service works with the mix: the order in memory, the driver in the database.
    amadou, chantal = demo.ids["amadou"], demo.ids["chantal"]
    service.driver_online(amadou, "taxi_jaune", destination_point(PICKUP, 0, 0.3))
    order = service.create_order(chantal, PICKUP, DESTINATION, "taxi_jaune", "CASH")
    assert service.orders.get(order.id).offered_to == amadou
    assert service.stats.get(amadou).offered == 1
    assert orm.DjangoStatsStore().get(amadou).offered == 0


def test_the_tuple_form_still_gives_orders_drivers_and_progress(demo: Demo, settings: Any) -> None:
    from vtc_dispatch.memory import InMemoryDriverRegistry, InMemoryProgressStore
    from vtc_dispatch_django import repositories as orm

    service = _service_with(settings, "old_tuple_form")
    assert isinstance(service.orders, InMemoryOrderRepository)
    assert isinstance(service.drivers, InMemoryDriverRegistry)
    assert isinstance(service.progress, InMemoryProgressStore)
    assert isinstance(service.stats, orm.DjangoStatsStore)
    assert isinstance(service.ratings, orm.DjangoRatingStore)
    assert isinstance(service.wallet, orm.DjangoWallet)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("with_a_notifier", r"gave 'notifier': not a storage port, .*VTC_DISPATCH\['NOTIFIER'\]"),
        (
            "not_a_wallet",
            r"gave wallet=.*InMemoryRatingStore.*not a Wallet: no credit, balance",
        ),
        ("a_number", r"must return a mapping of storage ports .* got 42"),
    ],
)
def test_stores_that_cannot_be_used_are_refused_by_name(
    demo: Demo, settings: Any, factory: str, message: str
) -> None:
    from vtc_dispatch_django.runtime import BackendUnavailable

    with pytest.raises(BackendUnavailable, match=message):
        _service_with(settings, factory)


def test_the_migrations_match_the_models(db: object) -> None:
    from django.core.management import call_command

    # Exits with status 1 when a model changed without its migration.
    call_command("makemigrations", "vtc_dispatch", "--check", "--dry-run", verbosity=0)
