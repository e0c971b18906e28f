"""Fixtures of the Django app's tests (the world they build is in django_demo)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django_demo import Demo, make_demo


def _fresh_demo() -> Iterator[Demo]:
    from django.core.cache import cache

    from vtc_dispatch_django.runtime import reset_service

    # The throttles' counts and the quotes live in the cache: a test starts with none.
    cache.clear()
    yield make_demo()
    reset_service()


@pytest.fixture
def demo(db: Any) -> Iterator[Demo]:
    yield from _fresh_demo()


@pytest.fixture
def live_demo(transactional_db: Any) -> Iterator[Demo]:
    """Committed rows: for code running in other threads (consumers)."""
    yield from _fresh_demo()


@pytest.fixture
def operator(demo: Demo) -> Client:
    """A client logged into the admin as a superuser."""
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", password="root")
    client = Client()
    client.login(username="root", password="root")
    return client
