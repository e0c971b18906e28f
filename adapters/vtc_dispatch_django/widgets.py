"""The admin's map widget for areas (zones, fixed-route ends, cities).

:class:`AreaMapWidget` shows a Leaflet map with drawing tools
(Leaflet-Geoman), both vendored in this app's static files, and keeps the
GeoJSON text the form posts in step with what is drawn (the text stays
editable under "GeoJSON").  The tiles come from
``VTC_DISPATCH["MAP_TILE_URL"]`` (OpenStreetMap's by default; ``""``: none)
with ``VTC_DISPATCH["MAP_ATTRIBUTION"]``; without tiles the map still
draws, edits and shows the reference areas (the cities, the other zones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django import forms
from django.conf import settings

__all__ = ["DEFAULT_ATTRIBUTION", "DEFAULT_TILE_URL", "AreaMapWidget", "map_tiles"]

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'

_STATIC = "vtc_dispatch_django/"


def map_tiles() -> tuple[str, str]:
    """The tile URL template and its attribution, from ``VTC_DISPATCH`` (or OpenStreetMap's).

    >>> map_tiles()[0]
    'https://tile.openstreetmap.org/{z}/{x}/{y}.png'
    """
    options = getattr(settings, "VTC_DISPATCH", {})
    url = options.get("MAP_TILE_URL", DEFAULT_TILE_URL)
    if not isinstance(url, str):
        raise TypeError(f"VTC_DISPATCH['MAP_TILE_URL'] must be a string, got {url!r}")
    attribution = options.get("MAP_ATTRIBUTION", DEFAULT_ATTRIBUTION if url else "")
    return url, str(attribution)


class AreaMapWidget(forms.Textarea):
    """A map to draw a polygon or several, over the GeoJSON textarea of the field.

    ``context`` is what to show for reference, not edited: a sequence of
    ``{"label": ..., "area": <GeoJSON>}`` (the cities, the other zones),
    or a callable giving it when the form is shown.
    """

    template_name = "vtc_dispatch_django/widgets/area_map.html"

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {
            "all": (
                f"{_STATIC}vendor/leaflet/leaflet.css",
                f"{_STATIC}vendor/leaflet-geoman/leaflet-geoman.css",
                f"{_STATIC}area_widget.css",
            )
        }
        js = (
            f"{_STATIC}vendor/leaflet/leaflet.js",
            f"{_STATIC}vendor/leaflet-geoman/leaflet-geoman.min.js",
            f"{_STATIC}area_widget.js",
        )

    def __init__(
        self,
        attrs: dict[str, Any] | None = None,
        context: Sequence[dict[str, Any]] | Any = (),
    ) -> None:
        super().__init__({"rows": 6, **(attrs or {})})
        self.reference = context

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(name, value, attrs)
        tile_url, attribution = map_tiles()
        reference = self.reference() if callable(self.reference) else self.reference
        widget_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"]["attrs"]["id"] = widget_id
        context["widget"]["map"] = {
            "tile_url": tile_url,
            "attribution": attribution,
            "context": list(reference),
            "context_id": f"{widget_id}_context",
        }
        return context
