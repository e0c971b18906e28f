"""The admin in headless Chromium, as an operator uses it (the example project under daphne)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from browser_support import Site

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_an_operator_logs_into_the_admin(operator_page: Page, tmp_path: Path) -> None:
    page = operator_page
    page.screenshot(path=tmp_path / "admin-index.png", full_page=True)
    assert page.title().startswith("Site administration")
    # The dispatch configuration is there to edit.
    assert page.get_by_role("link", name="Zones").is_visible()


def test_the_admin_is_styled_under_daphne(page: Page, site: Site, tmp_path: Path) -> None:
    # daphne serves no static files itself: the app (WhiteNoise) answers them.
    answer = page.request.get(f"{site.base}/static/admin/css/base.css")
    assert answer.status == 200, answer.status
    assert answer.headers["content-type"].startswith("text/css")
    page.goto("/admin/login/")
    page.screenshot(path=tmp_path / "admin-login.png")
    # The stylesheet applies: the header is the admin's coloured bar, not bare HTML.
    header = page.locator("#header")
    assert header.evaluate("e => getComputedStyle(e).display") == "flex"
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
