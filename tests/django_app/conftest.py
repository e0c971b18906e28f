"""Fixtures of the Django app's tests (the world they build is in django_demo)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_demo import Demo, make_demo


@pytest.fixture
def demo(db: Any) -> Iterator[Demo]:
    from vtc_dispatch_django.runtime import reset_service

    yield make_demo()
    reset_service()


@pytest.fixture
def live_demo(transactional_db: Any) -> Iterator[Demo]:
    """Committed rows: for code running in other threads (consumers)."""
    from vtc_dispatch_django.runtime import reset_service

    yield make_demo()
    reset_service()
