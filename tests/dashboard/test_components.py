"""The map draws without any tile server by default, and over the configured tiles when one is set."""
from __future__ import annotations

from dashboard.components import unit_map

UNITS = [{"code": "310105", "name": "长宁区", "reopening_rate": 0.5, "reopened": 5, "enterprises": 10,
          "buildings_missing": 1}]
SHAPE = {"features": [{"id": "310105", "geometry": {"type": "Polygon", "coordinates": [
    [[121.35, 31.2], [121.45, 31.2], [121.45, 31.24], [121.35, 31.24], [121.35, 31.2]]]}}]}
BUILDINGS = [{"building_id": 7, "building": "华鑫大厦", "address": "江苏路100号", "lng": 121.43, "lat": 31.22,
              "silent": 2, "enterprises": 5}]


def test_the_default_map_needs_no_tiles_and_carries_what_a_click_drills_into() -> None:
    fig = unit_map(UNITS, SHAPE, {}, BUILDINGS, 7).to_plotly_json()
    assert {t["type"] for t in fig["data"]} == {"scatter"}
    assert "map" not in fig["layout"] and "mapbox" not in fig["layout"] and "geo" not in fig["layout"]
    carried = [c for t in fig["data"] for c in (t.get("customdata") or [])]
    assert ["unit", "310105"] in [list(c) for c in carried] and ["building", 7] in [list(c) for c in carried]


def test_a_configured_tile_server_is_the_map_background() -> None:
    url = "http://tiles.city.internal/{z}/{x}/{y}.png"
    fig = unit_map(UNITS, SHAPE, {}, BUILDINGS, 7, tile_url=url).to_plotly_json()
    assert {t["type"] for t in fig["data"]} == {"scattermap"}
    layers = fig["layout"]["map"]["layers"]
    assert layers[0]["source"] == [url] and layers[0]["sourcetype"] == "raster"
    assert fig["layout"]["map"]["style"] == "white-bg"
    assert 121.35 < fig["layout"]["map"]["center"]["lon"] < 121.45
