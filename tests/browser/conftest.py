"""Browser tests: Debian's headless Chromium, driven by Playwright, on the example project.

``browser`` launches ``/usr/bin/chromium`` (Debian's package, never a
browser Playwright downloads).  Without it, or without Playwright, the
tests are skipped with the reason, and fail under ``VTC_REQUIRE_SERVICES=1``
(``.ci/run`` installs Chromium).

``site`` is the example project under daphne (one server for the
browser tests, migrated and seeded as the README does, with an operator: a
superuser), ``page`` a fresh browser page on it with the network cut off:
every request to another host than the server is aborted and listed in
``blocked_requests`` (so a page that needs a CDN or a tile server shows
what it does without one).  ``operator_page`` is a page logged into the
admin.  Each page leaves a screenshot of its last state in the test's
``tmp_path`` (``page.png``); tests take named ones beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import pytest
from browser_support import Site
from django_example import E2E_DATABASE, example_project
from django_support import services_required

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
# Long enough for a page of the admin on a loaded two-core machine; a test
# that waits this long has failed anyway.
TIMEOUT_MS = 20_000


def _missing(what: str) -> NoReturn:
    if services_required():
        pytest.fail(f"{what}: the browser tests cannot run (.ci/run installs it)")
    pytest.skip(f"{what}: browser tests need it (VTC_REQUIRE_SERVICES=1 makes this a failure)")


# Package scope, not session: Playwright's sync API keeps an event loop running
# in the main thread while it is open, and Django then refuses database calls
# ("from an async context") in every test collected after this folder.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the browser tests."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example project under daphne with the Douala demo and an operator (superuser)."""
    operator = Site(base="")
    with example_project(
        tmp_path_factory.mktemp("browser"),
        f"{E2E_DATABASE}_browser",
        [],
        {"DJANGO_SUPERUSER_PASSWORD": operator.password},
        worker=False,
        commands=[
            ["createsuperuser", "--noinput", "--username", operator.operator, "--email", "op@x.cm"]
        ],
    ) as base:
        yield Site(base=base)


@pytest.fixture
def blocked_requests() -> list[str]:
    """The URLs the test's page tried to reach outside the server (aborted)."""
    return []


@pytest.fixture
def page(
    browser: Browser, site: Site, blocked_requests: list[str], tmp_path: Path
) -> Iterator[Page]:
    """A new page (its own cookies) on ``site``, with no network beyond the server."""
    server = urlsplit(site.base).netloc
    context = browser.new_context(base_url=site.base, viewport={"width": 1280, "height": 900})

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == server:
            route.continue_()
        else:
            blocked_requests.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        page.screenshot(path=tmp_path / "page.png", full_page=True)
        context.close()


@pytest.fixture
def operator_page(page: Page, site: Site) -> Page:
    """``page`` logged into the admin as the operator, on the admin's index."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", site.operator)
    page.fill("#id_password", site.password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page
