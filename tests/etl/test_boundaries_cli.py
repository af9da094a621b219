"""`onenet boundaries`: a street polygon file of the city's own becomes the dashboard's street map."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import box
from sqlalchemy.orm import Session

from dashboard import queries as q
from etl.database import init_db, make_engine
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]




def test_street_polygons_load_from_a_geojson_file(db_url: str, tmp_path: Path) -> None:
    init_db(make_engine(db_url))
    streets = gpd.GeoDataFrame({"代码": ["310105001", "310105002"], "街道名称": ["华阳路街道", "江苏路街道"]},
                               geometry=[box(121.41, 31.21, 121.43, 31.23), box(121.43, 31.21, 121.45, 31.23)],
                               crs="EPSG:4326")
    path = tmp_path / "长宁街道边界.geojson"
    streets.to_file(path, driver="GeoJSON")
    proc = onenet("--db", db_url, "boundaries", str(path), "--level", "street")
    assert proc.returncode == 0, proc.stderr
    assert "2 boundaries loaded" in proc.stdout
    with Session(make_engine(db_url)) as s:
        shapes = q.boundaries(s, ["310105001", "310105002"])
    assert sorted(f["id"] for f in shapes["features"]) == ["310105001", "310105002"]

    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    bad = onenet("--db", db_url, "boundaries", str(broken))
    assert bad.returncode == 1 and "broken.geojson" in bad.stderr
