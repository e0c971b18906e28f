"""Hypothesis strategies shared by the property tests: points that stress the geometry."""

from __future__ import annotations

from hypothesis import strategies as st

from vtc_dispatch.geo.sphere import LatLng

# Places where a lat/lng grid is hardest to get right, and one ordinary city.
FOCI = [
    (4.05, 9.70),  # Douala
    (89.999, 0.0),  # next to the north pole
    (-89.9, 120.0),  # next to the south pole
    (0.0, 179.999),  # on the antimeridian
    (-60.0, -179.995),  # antimeridian at high latitude
]


def _near(focus: tuple[float, float], spread_deg: float) -> st.SearchStrategy[LatLng]:
    lat0, lng0 = focus
    offsets = st.floats(-spread_deg, spread_deg, allow_nan=False, allow_infinity=False)

    def build(dlat: float, dlng: float) -> LatLng:
        lat = max(-90.0, min(90.0, lat0 + dlat))
        lng = (lng0 + dlng + 180.0) % 360.0 - 180.0
        return LatLng(lat, lng)

    return st.builds(build, offsets, offsets)


anywhere = st.builds(
    LatLng,
    st.floats(-90.0, 90.0, allow_nan=False),
    st.floats(-180.0, 180.0, allow_nan=False),
)

points = st.one_of(
    anywhere,
    st.sampled_from(FOCI).flatmap(lambda f: _near(f, 0.02)),
    st.sampled_from(FOCI).flatmap(lambda f: _near(f, 0.5)),
)

radii_km = st.one_of(
    st.sampled_from([0.0, 0.05, 1.0, 5.0, 50.0, 2_000.0, 20_015.1, float("inf")]),
    st.floats(0.0, 25_000.0, allow_nan=False),
)
