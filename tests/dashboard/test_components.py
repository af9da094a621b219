"""The map draws without any tile server by default, and over the configured tiles when one is set; the figure
cards colour a change by whether it is good for the unit."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from dashboard.components import HEADLINE_NOTES, HEADLINES, MAP_BUILDING_NAMES, change, grid, unit_map
from dashboard.map_labels import place_labels
from dashboard.queries.geo import surroundings
from etl.database import init_db, make_engine
from etl.figures import BETTER, FIGURES, LABELS

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


def test_a_change_is_green_when_it_is_good_for_the_unit_red_when_bad_grey_when_neither() -> None:
    """Fewer buildings missing reports and fewer people in quarantine are good news; more registered
    buildings or enterprises are neither."""
    assert change("buildings_missing", 100, 136) == ("较前一日 −36", "text-success")
    assert change("in_quarantine", 1000, 1349) == ("较前一日 −349", "text-success")
    assert change("in_quarantine", 1349, 1000)[1] == "text-danger"
    assert change("reopening_rate", 0.5, 0.488) == ("较前一日 +1.2 个百分点", "text-success")
    assert change("reporting_coverage", 0.4, 0.5)[1] == "text-danger"
    assert change("buildings", 40, 30) == ("较前一日 +10", "text-muted")
    assert change("enterprises", 30, 40)[1] == "text-muted"
    assert change("reopened", 7, 7) == ("较前一日持平", "text-muted")
    assert change("reopened", 7, None) == ("较前一日 –", "text-muted")


def test_every_figure_says_which_way_is_good_and_every_card_what_it_counts() -> None:
    assert set(BETTER) == set(FIGURES) and set(BETTER.values()) <= {-1, 0, 1}
    assert {key for key, *_ in HEADLINES} <= set(LABELS)
    assert "复工" in HEADLINE_NOTES["timeliness"], "the timeliness card says what on time means for a one-off report"


def test_a_grid_keeps_numbers_as_numbers_shows_dates_as_text_and_drops_nothing() -> None:
    rows = [{"batch": 12, "file": "长宁区企业复工申报.xlsx", "rows": 1234, "started_at": datetime(2020, 2, 21, 9, 5)},
            {"batch": 13, "file": "二维码填报", "rows": None, "started_at": None}]
    g = grid([("batch", "批次"), ("file", "文件"), ("rows", "行数"), ("started_at", "导入时间")], rows, id="t")
    assert g.rowData[0] == {"batch": 12, "file": "长宁区企业复工申报.xlsx", "rows": 1234, "started_at": "2020-02-21 09:05"}
    by_field = {c["field"]: c for c in g.columnDefs}
    assert by_field["rows"]["filter"] == "agNumberColumnFilter" and "d3.format" in by_field["rows"]["valueFormatter"]["function"]
    assert by_field["file"]["filter"] == "agTextColumnFilter" and by_field["file"]["headerName"] == "文件"
    assert g.defaultColDef["sortable"] and g.dashGridOptions["localeText"]["contains"] == "包含"


def test_a_grid_without_rows_says_so() -> None:
    empty = grid([("batch", "批次")], [], id="t", empty="没有退回的行")
    assert empty.children == "没有退回的行" and empty.className == "empty-note"


def test_names_that_would_overlap_on_a_phone_go_beside_the_crowd_in_callouts() -> None:
    names = ["黄浦区", "静安区", "徐汇区", "长宁区", "普陀区", "虹口区", "杨浦区", "崇明区"]
    xs = [121.48, 121.45, 121.43, 121.41, 121.40, 121.49, 121.52, 121.60]
    ys = [31.22, 31.24, 31.18, 31.21, 31.25, 31.27, 31.27, 31.62]
    layout = place_labels(names, xs, ys, (121.1, 121.95, 30.7, 31.85), 1.17, 16)
    assert layout.positions[-1] == "middle center" and layout.callouts[-1] is None, "a lone name stays on its unit"
    moved = [i for i, end in enumerate(layout.callouts) if end]
    assert len(moved) >= 5 and all(layout.positions[i] is None for i in moved)
    ends = sorted((round(layout.callouts[i][0], 4), layout.callouts[i][1]) for i in moved)
    for (xa, ya), (xb, yb) in zip(ends, ends[1:]):
        assert xa != xb or abs(ya - yb) > 0.005, "callouts of one column are stacked, not on top of each other"
    assert layout.extent[0] <= min(e[0] for e in ends) and layout.extent[1] >= max(e[0] for e in ends)


def test_a_district_map_draws_its_outline_and_faded_neighbours_behind_its_streets(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'map.db'}")
    init_db(engine)
    with Session(engine) as s:
        around = surroundings(s, "310105")
        assert surroundings(s, "999999") == {"type": "FeatureCollection", "features": []}
    codes = [f["id"] for f in around["features"]]
    assert codes[-1] == "310105" and {"310104", "310107", "310112"} <= set(codes), "长宁区 last, over 徐汇 普陀 闵行"
    streets = [{"code": f"31010500{i}", "name": f"街道{i}", "reopening_rate": 0.3, "reopened": 3, "enterprises": 10,
                "buildings_missing": 1} for i in range(3)]
    points = {s["code"]: (121.38 + 0.02 * i, 31.21) for i, s in enumerate(streets)}
    fig = unit_map(streets, {"features": []}, points, surroundings=around).to_plotly_json()
    names = [t["name"] for t in fig["data"]]
    assert names[:len(codes)] == ["neighbour"] * (len(codes) - 1) + ["district"] and names[-1] == "unit-labels"
    outline = fig["data"][len(codes) - 1]
    assert outline["line"]["color"] == "#12335f" and outline.get("hoverinfo") == "skip"
    xs = [x for x in outline["x"] if x is not None]
    x_range = fig["layout"]["xaxis"]["range"]
    assert x_range[0] <= min(xs) and x_range[1] >= max(xs), "the view holds the whole district, not only its streets"


def test_a_dense_streets_map_names_the_chosen_and_the_most_silent_buildings_only() -> None:
    dense = [{"building_id": i, "building": f"楼{i}", "lng": 121.40 + (i % 20) * 0.001, "lat": 31.20 + (i // 20) * 0.001,
              "address": "", "enterprises": 10, "silent": i % 7} for i in range(400)]
    fig = unit_map([], {"features": []}, {}, dense, selected_building=3).to_plotly_json()
    trace = next(t for t in fig["data"] if t.get("name") == "buildings")
    named = {t for t in trace["text"] if t} | {a["text"] for a in fig["layout"].get("annotations", [])}
    assert len(trace["x"]) == 400  # every building is drawn (and named on hover)
    assert 0 < len(named) <= MAP_BUILDING_NAMES
    assert named <= {f"楼{i}" for i in range(400) if i == 3 or i % 7 >= 5}  # the chosen one, then the most silent
