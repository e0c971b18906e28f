"""The examples in the Django app's docstrings run (pytest's doctest collection skips the app)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "geojson",
    "notifier",
    "errors",
    "routing",
    "consumers",
    "unit_of_work",
    "serializers",
    "throttling",
    "layers",
    "checks",
    "charts",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"vtc_dispatch_django.{name}")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags)
    assert result.attempted > 0
    assert result.failed == 0
