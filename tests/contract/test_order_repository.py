"""The OrderRepository contract: versions, conflicts, queries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from places import T0
from samples import new_order

from vtc_dispatch.errors import ConcurrencyConflict, InvalidArgument, NotFound
from vtc_dispatch.fsm import DELIVERY, FREIGHT, RideEvent
from vtc_dispatch.order import Bid, LiveOffer, Order, ProofOfDelivery
from vtc_dispatch.ports import OrderRepository


def test_add_get_and_versions(repository: OrderRepository) -> None:
    stored = repository.add(new_order("o1"))
    assert stored.version == 1
    assert repository.get("o1") == stored
    saved = repository.save(attrs.evolve(stored, offers_made=1), expected_version=1)
    assert saved.version == 2
    assert repository.get("o1").offers_made == 1
    with pytest.raises(ConcurrencyConflict, match="already exists"):
        repository.add(new_order("o1"))
    with pytest.raises(NotFound, match="no order 'o9'"):
        repository.get("o9")


def test_a_stale_save_is_refused_and_changes_nothing(repository: OrderRepository) -> None:
    stored = repository.add(new_order("o1"))
    first = repository.save(attrs.evolve(stored, offers_made=1), expected_version=1)
    with pytest.raises(ConcurrencyConflict, match="version 2, not 1"):
        repository.save(attrs.evolve(stored, offers_made=7), expected_version=1)
    assert repository.get("o1") == first


def test_find_by_party_newest_first_with_pages(repository: OrderRepository) -> None:
    for i in range(5):
        repository.add(new_order(f"o{i}", "alice"))
    repository.add(new_order("x", "bob"))
    assert [o.id for o in repository.find("customer", "alice")] == ["o4", "o3", "o2", "o1", "o0"]
    assert [o.id for o in repository.find("customer", "alice", offset=1, limit=2)] == ["o3", "o2"]
    done = repository.get("o2")
    cancelled = attrs.evolve(
        done, lifecycle=done.lifecycle.fire(RideEvent.CANCEL, actor="customer", at=T0)
    )
    repository.save(cancelled, expected_version=1)
    assert "o2" not in [o.id for o in repository.find("customer", "alice", active=True)]
    assert [o.id for o in repository.find("customer", "alice", active=False)] == ["o2"]
    assert repository.find("driver", "nobody") == []
    assert (repository.count("customer", "alice"), repository.count("customer", "bob")) == (5, 1)
    assert repository.count("driver", "nobody") == 0


def test_drivers_find_the_orders_they_drive(repository: OrderRepository) -> None:
    stored = repository.add(new_order("o1"))
    repository.save(attrs.evolve(stored, driver_id="d1"), expected_version=1)
    assert [o.id for o in repository.find("driver", "d1")] == ["o1"]
    assert repository.count("driver", "d1") == 1
    # The order goes back to searching: it is no longer his.
    repository.save(attrs.evolve(stored, driver_id=None), expected_version=2)
    assert (repository.find("driver", "d1"), repository.count("driver", "d1")) == ([], 0)


def offer(driver: str, seconds: float, *, shown_after: float = 0.0) -> LiveOffer:
    sent = T0 + timedelta(seconds=shown_after)
    return LiveOffer(driver, 1.0, sent, T0 + timedelta(seconds=seconds), shown=shown_after == 0)


def test_live_offers_by_deadline(repository: OrderRepository) -> None:
    a = repository.add(new_order("a"))
    b = repository.add(new_order("b"))
    c = repository.add(new_order("c"))
    repository.save(attrs.evolve(a, offers=(offer("d1", 30),)), 1)
    repository.save(attrs.evolve(b, offers=(offer("d2", 60),)), 1)
    # A staggered offer not shown yet is due when it must be shown.
    repository.save(attrs.evolve(c, offers=(offer("d3", 90), offer("d4", 100, shown_after=20))), 1)
    assert [o.id for o in repository.with_live_offer(T0 + timedelta(seconds=19))] == []
    assert repository.next_deadline() == T0 + timedelta(seconds=20)
    assert {o.id for o in repository.with_live_offer(T0 + timedelta(seconds=30))} == {"a", "c"}
    assert {o.id for o in repository.with_live_offer(T0 + timedelta(seconds=90))} == {"a", "b", "c"}
    repository.save(attrs.evolve(repository.get("a"), offers=()), 2)
    repository.save(attrs.evolve(repository.get("c"), offers=()), 2)
    assert repository.next_deadline() == T0 + timedelta(seconds=60)
    repository.save(attrs.evolve(repository.get("c"), offers=(offer("d3", 90),)), 3)
    assert {o.id for o in repository.with_live_offer(T0 + timedelta(seconds=90))} == {"b", "c"}


# Examples share the function-scoped repository on purpose: each works under its
# own id prefix and leaves no live offer behind, as the test checks at its end.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.none() | st.integers(0, 6)),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 7),
)
def test_deadlines_follow_every_save(
    repository: OrderRepository, changes: list[tuple[str, int | None]], probe: int
) -> None:
    # Offers appear, move (earlier, later, back to an old time) and go: the
    # earliest deadline and the due orders always match the orders as saved.
    prefix = f"p{uuid.uuid4().hex[:8]}-"
    for name in "abcd":
        repository.add(new_order(prefix + name))
    model: dict[str, int] = {}
    for name, seconds in changes:
        current = repository.get(prefix + name)
        offers = () if seconds is None else (offer("d-" + name, 10 * seconds),)
        repository.save(attrs.evolve(current, offers=offers), current.version)
        if seconds is None:
            model.pop(name, None)
        else:
            model[name] = seconds
        due = [o.id for o in repository.with_live_offer(T0 + timedelta(seconds=10 * probe))]
        assert len(due) == len(set(due))
        assert set(due) == {prefix + n for n, s in model.items() if s <= probe}
        earliest = T0 + timedelta(seconds=10 * min(model.values())) if model else None
        assert repository.next_deadline() == earliest
    for name in model:  # the repository outlives this example: leave no live offer
        current = repository.get(prefix + name)
        repository.save(attrs.evolve(current, offers=()), current.version)
    assert repository.next_deadline() is None


@pytest.mark.parametrize(
    ("role", "offset", "limit", "named"),
    [
        ("operator", 0, 20, "role"),
        ("Customer", 0, 20, "role"),
        ("customer", -1, 20, "offset"),
        ("customer", 0, -1, "limit"),
        ("customer", 1.5, 20, "offset"),
        ("customer", 0, "20", "limit"),
        ("customer", True, 20, "offset"),
    ],
)
def test_every_repository_refuses_the_same_pages(
    repository: OrderRepository, role: str, offset: object, limit: object, named: str
) -> None:
    with pytest.raises(InvalidArgument, match=f"^{named} must be"):
        repository.find(role, "c1", offset=offset, limit=limit)  # type: ignore[arg-type]


def test_freight_and_delivery_orders_come_back_whole(repository: OrderRepository) -> None:
    """Every store keeps an order's kind (its machine), a proof, a bid's validity, a
    delivery's merchant and goods amount, and finds its driver on every driving state."""
    base = new_order("f1")
    load_life = FREIGHT.start("f1", T0)
    for event, actor in [("post", "customer"), ("search", "system"), ("accept", "driver")]:
        load_life = load_life.fire(event, actor=actor, at=T0)
    load = attrs.evolve(
        base,
        lifecycle=load_life,
        driver_id="k1",
        bids=(Bid("k2", Decimal("55000"), T0, T0 + timedelta(hours=1)),),
        delivery_code="482913",
        proof=ProofOfDelivery(base.dropoff, T0, "482913", "pod/1.jpg"),
    )
    parcel = attrs.evolve(
        new_order("p1"),
        lifecycle=DELIVERY.start("p1", T0),
        merchant_id="resto",
        goods_amount=Decimal("7500"),
        delivery_code="000111",
    )
    stored_load = repository.add(load)
    stored_parcel = repository.add(parcel)
    assert repository.get("f1") == stored_load
    assert repository.get("f1").kind == "freight"
    assert repository.get("p1") == stored_parcel
    assert repository.get("p1").kind == "delivery"
    assert [o.id for o in repository.find("driver", "k1")] == ["f1"]
    assert {o.id for o in repository.find("customer", "c1", active=True)} == {"f1", "p1"}


# -- the operator's map: every active order (issue 17) -------------------------------


def _cancelled(order: Order) -> Order:
    return attrs.evolve(
        order, lifecycle=order.lifecycle.fire(RideEvent.CANCEL, actor="customer", at=T0)
    )


def test_active_orders_lists_every_active_order_the_newest_first(
    repository: OrderRepository,
) -> None:
    assert repository.active_orders() == []
    draft = repository.add(new_order("draft", "alice", searching=False))
    searching = repository.add(new_order("searching", "bob"))
    ended = repository.add(new_order("ended", "carol"))
    taken = repository.add(new_order("taken", "dan"))
    repository.add(_cancelled(new_order("born-ended", "erin")))
    repository.save(_cancelled(ended), ended.version)
    driven = repository.save(attrs.evolve(taken, driver_id="d1"), taken.version)
    active = repository.active_orders()
    assert [o.id for o in active] == ["taken", "searching", "draft"]
    assert active == [driven, searching, draft]
    assert [o.id for o in repository.active_orders(limit=2)] == ["taken", "searching"]
    assert repository.active_orders(limit=0) == []
    # An order leaves the list when it ends, whoever ends it.
    repository.save(_cancelled(driven), driven.version)
    assert [o.id for o in repository.active_orders()] == ["searching", "draft"]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_every_repository_refuses_the_same_limits(repository: OrderRepository, bad: object) -> None:
    with pytest.raises(InvalidArgument, match="limit must be an integer >= 0"):
        repository.active_orders(limit=bad)  # type: ignore[arg-type]
