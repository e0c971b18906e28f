"""Shared test set-up: import paths, hypothesis profiles, a clock and the pricing; Django.

Hypothesis runs the profile named by ``VTC_HYPOTHESIS_PROFILE`` (or pytest's
``--hypothesis-profile``): ``dev``, the default, tries few examples so that
a change is checked in seconds; ``ci`` (``.ci/run``) tries many more, with a
fresh random seed each run and a reproduction blob printed on failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing import PricingConfig, douala_config

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "support"))
sys.path.insert(0, str(TESTS / "property"))
sys.path.insert(0, str(TESTS / "contract"))
sys.path.insert(0, str(TESTS / "fixtures" / "stored"))

# No deadline in either profile: the machines tests run on are shared, and
# timing belongs to the benchmarks, not to a pass/fail verdict.
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("VTC_HYPOTHESIS_PROFILE", "dev"))


def pytest_configure() -> None:
    # Settings only: core tests never touch Django; the Django adapter's
    # tests (tests/django_app, the contract suites) get its database.
    import django_support

    django_support.configure()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # An end-to-end or browser test starts servers, client processes or a
    # browser: slow by nature, so both folders are left out of the quick
    # subset (-m "not slow").
    for item in items:
        if item.path.is_relative_to(TESTS / "e2e") or item.path.is_relative_to(TESTS / "browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def clock() -> ManualClock:
    """A clock standing at :data:`places.T0` until the test moves it."""
    from places import T0

    return ManualClock(T0)


@pytest.fixture
def pricing() -> PricingConfig:
    """The Douala pricing configuration the examples and most tests use."""
    return douala_config()
