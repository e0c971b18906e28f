"""The admin in headless Chromium, as an operator uses it (the example project under daphne)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from browser_support import Site
from django_example import A_TAXI_IN_CASH, call

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


def _quote_to(site: Site, destination: dict[str, float]) -> dict[str, Any]:
    status, quote = call(
        site.base,
        "chantal",
        "POST",
        "customer/estimate-price/",
        {**{k: A_TAXI_IN_CASH[k] for k in ("pickup", "vehicle_type")}, "destination": destination},
    )
    assert status == 200, quote
    return dict(quote)


def _to_screen(page: Page, lat: float, lng: float) -> tuple[float, float]:
    """Where the point (lat, lng) is on the screen, on the page's area map."""
    canvas = page.locator(".vtc-area-map__canvas")
    box = canvas.bounding_box()
    assert box is not None
    x, y = page.locator(".vtc-area-map").evaluate(
        "(e, p) => { const q = e.vtcAreaMap.map.latLngToContainerPoint(p); return [q.x, q.y]; }",
        [lat, lng],
    )
    return box["x"] + x, box["y"] + y


def test_an_operator_draws_a_zone_and_the_next_quote_applies_it(
    operator_page: Page, site: Site, blocked_requests: list[str], tmp_path: Path
) -> None:
    page = operator_page
    deido = {"lat": 4.0650, "lng": 9.7250}
    before = _quote_to(site, deido)
    assert not [line for line in before["breakdown"] if line["code"].startswith("zone:")]

    page.goto("/admin/vtc_dispatch/zone/add/")
    page.fill("#id_code", "deido")
    page.fill("#id_label", "Deido (evening market)")
    page.fill("#id_surcharge_fixed", "500")
    page.select_option("#id_applies_to", "dropoff")
    # The operator zooms on Deido, then draws a square around it, point by point.
    page.locator(".vtc-area-map").evaluate("e => e.vtcAreaMap.map.setView([4.065, 9.725], 15)")
    page.locator(".vtc-area-map .leaflet-pm-icon-polygon").click()
    corners = [(4.060, 9.720), (4.060, 9.730), (4.070, 9.730), (4.070, 9.720)]
    for lat, lng in [*corners, corners[0]]:  # back on the first point closes the polygon
        page.mouse.click(*_to_screen(page, lat, lng))
    page.screenshot(path=tmp_path / "zone-drawn.png")
    area = json.loads(page.locator("#id_area").input_value())
    assert area["type"] == "Polygon"
    ring = area["coordinates"][0]
    assert len(ring) == 5
    assert ring[0] == ring[-1]
    # What was drawn is where the operator clicked (to a few metres: a pixel at zoom 15).
    for (lat, lng), (x, y) in zip(corners, ring[:4], strict=True):
        assert abs(x - lng) < 1e-4, (ring, corners)
        assert abs(y - lat) < 1e-4, (ring, corners)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/vtc_dispatch/zone/")
    page.screenshot(path=tmp_path / "zone-saved.png")
    assert "was added successfully" in page.locator(".messagelist").inner_text()

    after = _quote_to(site, deido)
    lines = {line["code"]: line for line in after["breakdown"]}
    assert Decimal(lines["zone:deido"]["amount"]) == 500, after
    assert lines["zone:deido"]["label"] == "Deido (evening market)"
    # The map needed no tile: every tile request was cut off, and the zone was drawn anyway.
    assert any("tile.openstreetmap.org" in url for url in blocked_requests), blocked_requests


def test_a_zone_with_latitude_and_longitude_swapped_is_refused(
    operator_page: Page, site: Site, tmp_path: Path
) -> None:
    page = operator_page
    bonapriso = {"lat": 4.0250, "lng": 9.6900}
    page.goto("/admin/vtc_dispatch/zone/bonapriso/change/")
    drawn = page.locator("#id_area").input_value()
    swapped = {
        "type": "Polygon",
        "coordinates": [[[lat, lng] for lng, lat in json.loads(drawn)["coordinates"][0]]],
    }
    # Pasted as GeoJSON text (the points as "lat, lng"): the map redraws it where it lands.
    page.locator(".vtc-area-map summary").click()
    page.fill("#id_area", json.dumps(swapped))
    page.locator("#id_area").dispatch_event("change")
    page.click("input[name=_save]")
    page.screenshot(path=tmp_path / "zone-swapped.png", full_page=True)
    error = page.locator(".field-area .errorlist").inner_text()
    assert "latitude and longitude look swapped" in error, error
    assert "douala" in error
    # Nothing was saved: Bonapriso's surcharge still applies.
    quote = _quote_to(site, bonapriso)
    assert "zone:bonapriso" in {line["code"] for line in quote["breakdown"]}, quote
