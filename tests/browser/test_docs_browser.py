"""The API's documents in headless Chromium with the network cut off: Swagger UI renders
every operation from the package's own assets (no CDN), ReDoc too."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_swagger_ui_renders_with_no_network(
    page: Page, blocked_requests: list[str], tmp_path: Path
) -> None:
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-summary")
    operations = page.locator(".swagger-ui .opblock").count()
    page.screenshot(path=tmp_path / "swagger-ui.png", full_page=True)
    assert page.evaluate("typeof SwaggerUIBundle") == "function"
    assert operations >= 29  # the ride's endpoints, pay, confirm-cash, six webhooks
    page.locator(".opblock-summary-path", has_text="/customer/create/").first.click()
    page.wait_for_selector(".swagger-ui .responses-table")
    page.screenshot(path=tmp_path / "swagger-ui-create.png", full_page=True)
    statuses = page.locator(".responses-table .response-col_status").all_inner_texts()
    assert {"201", "400", "401", "402", "403", "409", "415", "422", "429", "503"} <= {
        s.strip() for s in statuses
    }
    assert blocked_requests == []


def test_redoc_renders_with_no_network(
    page: Page, blocked_requests: list[str], tmp_path: Path
) -> None:
    page.goto("/api/redoc/")
    page.wait_for_selector("redoc [role=menuitem], .menu-content li")
    page.screenshot(path=tmp_path / "redoc.png", full_page=False)
    assert page.get_by_text("Order a ride").first.is_visible()
    # ReDoc's bundle hard-codes one image, Redocly's logo under its menu, which
    # removes itself when it cannot load: nothing else leaves the server.
    assert set(blocked_requests) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
