"""The demo city generator: deterministic, geographically true, valid codes, a really messy inbox."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
from stdnum.cn import ric, uscc

from etl.democity.generator import generate
from etl.democity import world
from etl.democity.geo import load_districts

SCALE = 0.05


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return generate(tmp_path_factory.mktemp("demo") / "a", seed=11, scale=SCALE)


def test_same_seed_same_files_and_truth(city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    again = generate(tmp_path / "b", seed=11, scale=SCALE)
    assert digest(again.inbox) == digest(city.inbox)
    assert again.truth == city.truth
    other = generate(tmp_path / "c", seed=12, scale=SCALE)
    assert digest(other.inbox) != digest(city.inbox)


@pytest.fixture(scope="module")
def demo_world() -> world.World:
    return world.build(11, SCALE, load_districts())


def test_every_building_lies_inside_its_district(demo_world: world.World) -> None:
    w = demo_world
    n = w.b["n"]
    district_of_street = w.districts["code"].to_numpy()[w.streets["d_idx"].to_numpy()]
    buildings = gpd.GeoDataFrame(
        {"district": district_of_street[w.b["street"][:n]]},
        geometry=gpd.points_from_xy(w.b["lng"][:n], w.b["lat"][:n]), crs="EPSG:4326")
    polygons = gpd.GeoDataFrame({"code": list(load_districts())}, geometry=list(load_districts().values()), crs="EPSG:4326")
    joined = gpd.sjoin(buildings, polygons, predicate="within", how="left")
    assert n > 50
    assert (joined["code"] == joined["district"]).all(), joined[joined["code"] != joined["district"]].head()


def test_credit_codes_and_id_numbers_are_valid(demo_world: world.World) -> None:
    codes = [c for c in demo_world.e["uscc"] if c]
    assert codes and all(uscc.is_valid(c) for c in codes)
    ids = [str(i) for i in demo_world.p["id18"][: demo_world.p["n"]]]
    assert ids and all(ric.is_valid(i) for i in ids)


def test_inbox_is_messy_like_a_real_street_office(city) -> None:  # type: ignore[no-untyped-def]
    names = [p.name for p in city.files]
    suffixes = {p.suffix for p in city.files}
    assert {".xlsx", ".xls", ".csv"} <= suffixes
    assert city.truth["corrupt_files"], "a corrupt file belongs in the inbox"
    gbk = [p for p in city.files if p.suffix == ".csv" and _is_gbk(p)]
    assert gbk, "some CSVs come in GBK"
    counts = city.truth["counts"]
    assert counts["staff_in_two_files"] > 0 and counts["staff_with_15_digit_ids"] > 0
    assert counts["reports_via_qr"] > 0 and counts["reports_bad"] > 0
    assert city.truth["rejects_expected"], "the truth knows which rows must be rejected"
    assert len(set(names)) == len(names)
    assert json.loads((city.inbox.parent / "truth.json").read_text(encoding="utf-8")) == city.truth


def _is_gbk(path: Path) -> bool:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return False
    except UnicodeDecodeError:
        data.decode("gb18030")
        return True
