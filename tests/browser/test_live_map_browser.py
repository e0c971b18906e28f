"""The admin's live map in headless Chromium, over the example project under daphne: a
driver moves when his phone sends a fix, an order appears when a customer orders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from browser_support import Site
from django_example import call

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAGE = "/admin/vtc_dispatch/driverpresence/live-map/"
MAP = "document.querySelector('.vtc-live-map').vtcLiveMap"
START = {"lat": 4.0560, "lng": 9.7060}
MOVED = {"lat": 4.0620, "lng": 9.7180}


def _ok(site: Site, who: str, method: str, path: str, body: Any = None) -> Any:
    status, answer = call(site.base, who, method, path, body)
    assert status in (200, 201), (path, status, answer)
    return answer


def _marker(page: Page, driver_id: str) -> dict[str, float]:
    """Where the driver's marker is: its position and its point on the screen."""
    found: dict[str, float] = page.evaluate(
        f"""(id) => {{
            const map = {MAP};
            const at = map.drivers.get(id).marker.getLatLng();
            const point = map.map.latLngToContainerPoint(at);
            return {{lat: at.lat, lng: at.lng, x: point.x, y: point.y}};
        }}""",
        driver_id,
    )
    return found


def test_a_driver_moves_and_an_order_appears_on_the_live_map(
    operator_page: Page, site: Site, blocked_requests: list[str], tmp_path: Path
) -> None:
    page = operator_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    online = {"online": True, "position": START}
    carine = _ok(site, "carine", "POST", "driver/toggle-status/", online)
    driver_id = carine["driver_id"]
    try:
        page.goto(PAGE)
        page.wait_for_function(f"(id) => {MAP}.drivers.has(id)", arg=driver_id)
        before = _marker(page, driver_id)
        assert (before["lat"], before["lng"]) == (START["lat"], START["lng"])
        state = page.evaluate(f"(id) => {MAP}.drivers.get(id).view.state", driver_id)
        assert state == "available"
        page.screenshot(path=tmp_path / "live-map.png")

        _ok(site, "carine", "POST", "driver/update-location/", {"position": MOVED})
        page.wait_for_function(
            f"(p) => {{ const at = {MAP}.drivers.get(p.id).marker.getLatLng();"
            " return at.lat === p.lat && at.lng === p.lng; }",
            arg={"id": driver_id, **MOVED},
        )
        after = _marker(page, driver_id)
        # North-east on the screen: right and up.
        assert after["x"] > before["x"] + 5, (before, after)
        assert after["y"] < before["y"] - 5, (before, after)
        page.screenshot(path=tmp_path / "live-map-moved.png")

        order = _ok(
            site,
            "didier",
            "POST",
            "customer/create/",
            {
                "pickup": {"lat": 4.0611, "lng": 9.7170},
                "destination": {"lat": 4.0450, "lng": 9.6950},
                "vehicle_type": "confort",
                "payment_method": "CASH",
            },
        )
        order_id = order["id"]
        page.wait_for_function(f"(id) => {MAP}.orders.has(id)", arg=order_id)
        shown = page.evaluate(f"(id) => {MAP}.orders.get(id).view", order_id)
        assert shown["pickup"] == {"lat": 4.0611, "lng": 9.7170}
        assert shown["destination"] == {"lat": 4.0450, "lng": 9.6950}
        # The nearest confort driver is offered it: the map says so.
        page.wait_for_function(
            f"(id) => {MAP}.drivers.get(id).view.state === 'offered'", arg=driver_id
        )
        assert page.locator('[data-count="orders"]').inner_text() != "0"
        page.screenshot(path=tmp_path / "live-map-order.png")

        # A click on the driver shows who he is and the order he is offered.
        moved = _marker(page, driver_id)
        box = page.locator(".vtc-live-map__canvas").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + moved["x"], box["y"] + moved["y"])
        details = page.locator(".vtc-live-map__details")
        details.get_by_text("Driver Carine").wait_for()
        assert order_id in details.inner_text()
        page.screenshot(path=tmp_path / "live-map-details.png")
    finally:
        if "order_id" in locals():
            _ok(site, "didier", "POST", f"customer/cancel/{order_id}/", {"reason": "test over"})
        _ok(site, "carine", "POST", "driver/toggle-status/", {"online": False})
    # The page needed nothing from the internet but its tiles, which it did without.
    assert all("tile.openstreetmap.org" in url for url in blocked_requests), blocked_requests
    assert errors == []
