"""Implementations under contract: each port's tests run against every one of them.

Adapters add themselves to these lists (Redis, Django) as they land.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryProgressStore,
    InMemoryWallet,
)
from vtc_dispatch.ports import DriverRegistry, OrderRepository, ProgressStore, Wallet

REPOSITORIES: dict[str, Callable[[], OrderRepository]] = {"memory": InMemoryOrderRepository}
REGISTRIES: dict[str, Callable[[], DriverRegistry]] = {"memory": InMemoryDriverRegistry}
WALLETS: dict[str, Callable[[], Wallet]] = {"memory": InMemoryWallet}
PROGRESS_STORES: dict[str, Callable[[], ProgressStore]] = {"memory": InMemoryProgressStore}


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

# Implementations that need the Django test database (transactional, so
# that the threads of the race tests see each other's rows).
DJANGO_DB = frozenset({"django"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        params = getattr(item, "callspec", None)
        if item.path.parent == here and params and DJANGO_DB & set(params.params.values()):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(params=sorted(REPOSITORIES))
def repository(request: pytest.FixtureRequest) -> OrderRepository:
    return REPOSITORIES[request.param]()


@pytest.fixture(params=sorted(REGISTRIES))
def registry(request: pytest.FixtureRequest) -> DriverRegistry:
    return REGISTRIES[request.param]()


@pytest.fixture(params=sorted(WALLETS))
def wallet(request: pytest.FixtureRequest) -> Wallet:
    return WALLETS[request.param]()


@pytest.fixture(params=sorted(PROGRESS_STORES))
def progress_store(request: pytest.FixtureRequest) -> ProgressStore:
    return PROGRESS_STORES[request.param]()
