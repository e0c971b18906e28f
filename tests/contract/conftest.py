"""Implementations under contract: each port's tests run against every one of them.

Adapters add themselves to these lists (Redis, Django) as they land.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis_support
from samples import StoredOrders

from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryProgressStore,
    InMemoryRatingStore,
    InMemoryWallet,
)
from vtc_dispatch.pool import StatsBook
from vtc_dispatch.ports import (
    DriverRegistry,
    OrderRepository,
    ProgressStore,
    RatingStore,
    StatsStore,
    Wallet,
)

REPOSITORIES: dict[str, Callable[[], OrderRepository]] = {"memory": InMemoryOrderRepository}
REGISTRIES: dict[str, Callable[[], DriverRegistry]] = {"memory": InMemoryDriverRegistry}
WALLETS: dict[str, Callable[[], Wallet]] = {"memory": InMemoryWallet}
PROGRESS_STORES: dict[str, Callable[[], ProgressStore]] = {"memory": InMemoryProgressStore}
STATS_STORES: dict[str, Callable[[], StatsStore]] = {"memory": StatsBook}
RATING_STORES: dict[str, Callable[[], RatingStore]] = {"memory": InMemoryRatingStore}

# Redis: each implementation in a fresh key prefix, removed after the test.
REPOSITORIES["redis"] = lambda: redis_support.fresh_storage().orders
REGISTRIES["redis"] = lambda: redis_support.fresh_storage().drivers
WALLETS["redis"] = lambda: redis_support.fresh_storage().wallet
PROGRESS_STORES["redis"] = lambda: redis_support.fresh_storage().progress
STATS_STORES["redis"] = lambda: redis_support.fresh_storage().stats
RATING_STORES["redis"] = lambda: redis_support.fresh_storage().ratings


@pytest.fixture(autouse=True)
def _remove_redis_keys() -> Iterator[None]:
    yield
    redis_support.clean_up()


def _django(name: str) -> Callable[[], Any]:
    # Imported when used: the models need Django set up, after this file loads.
    def make() -> Any:
        from vtc_dispatch_django import repositories

        return getattr(repositories, name)()

    return make


REPOSITORIES["django"] = _django("DjangoOrderRepository")
REGISTRIES["django"] = _django("DjangoDriverRegistry")
WALLETS["django"] = _django("DjangoWallet")
PROGRESS_STORES["django"] = _django("DjangoProgressStore")
STATS_STORES["django"] = _django("DjangoStatsStore")
RATING_STORES["django"] = _django("DjangoRatingStore")


# Redis keeps no index of orders by date: it lists none (docs/admin.md, Reports).
HISTORIES: dict[str, Callable[[], StoredOrders]] = {
    "memory": InMemoryOrderRepository,
    "django": _django("DjangoOrderRepository"),
}

# Implementations that need the Django test database (transactional, so
# that the threads of the race tests see each other's rows).
DJANGO_DB = frozenset({"django"})


@pytest.fixture(autouse=True)
def _close_thread_connections(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a Django test, collect the connections the race tests' threads left behind.

    Each thread opened its own database connection; they close when
    collected, and the test database cannot be dropped while they are open.
    """
    yield
    params = getattr(request.node, "callspec", None)
    if params and DJANGO_DB & set(params.params.values()):
        gc.collect()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        params = getattr(item, "callspec", None)
        if item.path.parent == here and params and DJANGO_DB & set(params.params.values()):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(params=sorted(REPOSITORIES))
def repository(request: pytest.FixtureRequest) -> OrderRepository:
    return REPOSITORIES[request.param]()


@pytest.fixture(params=sorted(HISTORIES))
def order_history(request: pytest.FixtureRequest) -> StoredOrders:
    return HISTORIES[request.param]()


@pytest.fixture(params=sorted(REGISTRIES))
def registry(request: pytest.FixtureRequest) -> DriverRegistry:
    return REGISTRIES[request.param]()


@pytest.fixture(params=sorted(WALLETS))
def wallet(request: pytest.FixtureRequest) -> Wallet:
    return WALLETS[request.param]()


@pytest.fixture(params=sorted(PROGRESS_STORES))
def progress_store(request: pytest.FixtureRequest) -> ProgressStore:
    return PROGRESS_STORES[request.param]()


@pytest.fixture(params=sorted(STATS_STORES))
def stats_store(request: pytest.FixtureRequest) -> StatsStore:
    return STATS_STORES[request.param]()


@pytest.fixture(params=sorted(RATING_STORES))
def rating_store(request: pytest.FixtureRequest) -> RatingStore:
    return RATING_STORES[request.param]()
