"""Matching windows in the Django app: the window's deadline is the order row's next deadline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_demo import Demo, make_demo
from matching_day import EXPECTED, play_window


@pytest.fixture
def matching_demo(db: Any) -> Iterator[Demo]:
    from vtc_dispatch_django.runtime import reset_service

    yield make_demo("matching")
    reset_service()


def test_a_window_in_the_django_app_is_the_same_window_as_in_memory(matching_demo: Demo) -> None:
    ids = matching_demo.ids
    names = {
        "d_near": ids["amadou"],
        "d_far": ids["brice"],
        "a": ids["chantal"],
        "b": ids["didier"],
    }
    assert play_window(matching_demo.service, matching_demo.clock, names) == EXPECTED
