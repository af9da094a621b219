"""Place names resolve against the hierarchy (docs/sources.md#place-names): short names accepted when they name exactly one
unit, anything else rejected with its reason -- never guessed.

The hierarchy is the real one that ships with the product (data/shanghai_districts.csv, and the street
list data/shanghai_streets.csv), plus a made-up second 江川路街道 in 宝山区 to make that name ambiguous.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from etl.resolve import EnterpriseRegistry, Hierarchy, match_enterprises, resolve_divisions
from schemas.models import Enterprise, ImportBatch, Reject, ReturningStaff
from tests.fixtures.cli import onenet
from tests.fixtures.messy import (
    JC_BS,
    JC_MH,
    JSL,
    LJZ,
    XHL,
    make_id,
    make_uscc,
    write_csv,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
ZRZ, XJZ, NJD = "310107021", "310105102", "310101002"  # 真如镇街道, 新泾镇, 南京东路街道


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    districts = pd.read_csv(DATA / "shanghai_districts.csv", dtype=str)
    streets = pd.read_csv(DATA / "shanghai_streets.csv", dtype=str)
    fake = pd.DataFrame([{"code": JC_BS, "name": "江川路街道", "level": "street", "parent": "310113"}])
    frame = pd.concat([districts, streets, fake], ignore_index=True).rename(columns={"parent": "parent_code"})
    frame["parent_code"] = frame["parent_code"].where(frame["parent_code"].notna(), None)
    return Hierarchy.from_frame(frame)


# --------------------------------------------------------------------------- districts


@pytest.mark.parametrize("text, code", [
    ("长宁区", "310105"), ("长宁", "310105"), ("浦东新区", "310115"), ("浦东", "310115"), ("黄浦", "310101"),
    ("黄浦区", "310101"), ("徐汇", "310104"), ("崇明区", "310151"), ("崇明", "310151"), ("上海市长宁区", "310105"),
    ("长 宁", "310105"),
])
def test_district_names_and_their_short_forms(hierarchy: Hierarchy, text: str, code: str) -> None:
    assert hierarchy.resolve_district(text) == (code, None)


@pytest.mark.parametrize("text", ["火星区", "长", "浦", "江苏省", "南京市玄武区", "长宁路"])
def test_unknown_districts_are_errors_not_guesses(hierarchy: Hierarchy, text: str) -> None:
    code, error = hierarchy.resolve_district(text)
    assert code is None and error == "district_unknown", (text, code, error)


def test_a_missing_district_is_no_error(hierarchy: Hierarchy) -> None:
    assert hierarchy.resolve_district(None) == (None, None)


# --------------------------------------------------------------------------- streets


@pytest.mark.parametrize("text, district, code", [
    ("江苏路街道", "310105", JSL), ("江苏路", "310105", JSL), ("江苏路", None, JSL),   # unique in the city
    ("新华路街道", None, XHL), ("新华路", None, XHL), ("陆家嘴", "310115", LJZ), ("陆家嘴街道", None, LJZ),
    ("真如镇街道", "310107", ZRZ), ("真如镇", None, ZRZ), ("新泾镇", "310105", XJZ), ("南京东路", None, NJD),
    ("江川路", "310112", JC_MH), ("江川路街道", "310113", JC_BS), ("江苏路 街道", None, JSL),
])
def test_street_names_and_their_short_forms(hierarchy: Hierarchy, text: str, district: str | None, code: str) -> None:
    assert hierarchy.resolve_street(text, district) == (code, None)


@pytest.mark.parametrize("text", ["江苏", "新华", "幸福路", "幸福路街道", "江苏路居委", "长宁区"])
def test_unknown_streets_are_errors_not_guesses(hierarchy: Hierarchy, text: str) -> None:
    code, error = hierarchy.resolve_street(text, None)
    assert code is None and error == "street_unknown", (text, code, error)


@pytest.mark.parametrize("text", ["江川路", "江川路街道"])
def test_a_street_name_in_two_districts_without_its_district_is_ambiguous(hierarchy: Hierarchy, text: str) -> None:
    assert hierarchy.resolve_street(text, None) == (None, "street_ambiguous")


def test_a_street_outside_the_named_district_is_rejected(hierarchy: Hierarchy) -> None:
    code, error = hierarchy.resolve_street("江苏路", "310115")
    assert code is None and error == "street_not_in_district"


def test_resolve_divisions_names_the_field_and_reason_of_each_row(hierarchy: Hierarchy) -> None:
    frame = pd.DataFrame({
        "district": ["长宁", "浦东", None, "长宁", None, "徐汇", "火星区", None],
        "street": ["江苏路", "陆家嘴", "新华路街道", "陆家嘴", "江川路", "幸福路", "江苏路", None],
    })
    out, errors = resolve_divisions(frame, hierarchy)
    assert out["street_code"].tolist()[:3] == [JSL, LJZ, XHL]
    assert out["district_code"].tolist()[:3] == ["310105", "310115", "310105"]
    got = {(int(i), f, c) for i, f, c in errors[["idx", "field", "code"]].itertuples(index=False)}
    assert {(3, "street", "street_not_in_district"), (4, "street", "street_ambiguous"),
            (5, "street", "street_unknown"), (6, "district", "district_unknown")} <= got, got
    assert not {i for i, _, _ in got} & {0, 1, 2, 7}, got
    assert out.loc[7, "street_code"] is None or pd.isna(out.loc[7, "street_code"])


# --------------------------------------------------------------------------- enterprise identity


def test_enterprises_match_by_credit_code_else_name_within_street() -> None:
    u1, u2 = make_uscc("91310105MA1FL0001"), make_uscc("91310105MA1FL0002")
    registry = pd.DataFrame({"id": [1, 2, 3, 4], "uscc": [u1, u2, None, None],
                             "street_code": [JSL, JSL, JSL, XHL],
                             "name_key": ["上海甲科技有限公司", "上海乙贸易有限公司", "丙咨询工作室", "丙咨询工作室"]})
    rows = pd.DataFrame({
        "uscc": [u1, None, None, None, None, u2],
        "street_code": [XHL, JSL, XHL, LJZ, JSL, None],
        "name_key": ["另一个名字", "丙咨询工作室", "丙咨询工作室", "丙咨询工作室", "不存在公司", None],
    })
    got = match_enterprises(rows, EnterpriseRegistry(registry)).tolist()
    # by USCC whatever the name/street; by name within the street; the same name in another street is
    # another enterprise (none in 陆家嘴); an unknown name matches nothing
    assert [None if pd.isna(v) else int(v) for v in got] == [1, 3, 4, None, None, 2]


def test_a_row_with_a_credit_code_never_takes_over_an_enterprise_with_another_code() -> None:
    """docs/rules.md#enterprises: an enterprise is its USCC.  A row giving code u2 and the name of the enterprise registered as u1
    is another enterprise; its name may only find one registered without a code."""
    u1, u2, u3 = (make_uscc(f"91310105MA1CC000{i}") for i in range(1, 4))
    registry = pd.DataFrame({"id": [1, 2], "uscc": [u1, None], "street_code": [JSL, JSL],
                             "name_key": ["上海甲有限公司", "上海乙有限公司"]})
    rows = pd.DataFrame({"uscc": [u2, u3, None, u1], "street_code": [JSL, JSL, JSL, XHL],
                         "name_key": ["上海甲有限公司", "上海乙有限公司", "上海甲有限公司", "上海乙有限公司"]})
    got = match_enterprises(rows, EnterpriseRegistry(registry), name_anywhere=True).tolist()
    assert [None if pd.isna(v) else int(v) for v in got] == [None, 2, 1, 1]


# --------------------------------------------------------------------------- through the pipeline


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return onenet("--db", db_url, *args)


def ingest(db_url: str, *paths: Path) -> dict[str, dict[str, Any]]:
    proc = run_cli(db_url, "ingest", *map(str, paths), "--json")
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return {Path(f["file"]).name: f for f in json.loads(proc.stdout)["files"]}


def _divisions(folder: Path) -> Path:
    return write_csv(folder / "区划.csv", [
        ["区划代码", "区划名称", "级别", "上级代码"],
        [JSL, "江苏路街道", "街道", "310105"], [XHL, "新华路街道", "街道", "310105"],
        [LJZ, "陆家嘴街道", "街道", "310115"], [JC_MH, "江川路街道", "街道", "310112"],
        [JC_BS, "江川路街道", "街道", "310113"], [NJD, "南京东路街道", "街道", "310101"],
    ], encoding="gbk")


REGISTRY_ROWS = [
    ["企业名称", "统一社会信用代码", "所属街道", "所属区", "类型"],                          # line 1
    ["上海甲有限公司", make_uscc("91310105MA1RT0001"), "江苏路", "长宁", "企业"],           # 2 JSL
    ["上海乙有限公司", make_uscc("91310115MA1RT0002"), "陆家嘴", "浦东", "企业"],           # 3 LJZ
    ["上海丙有限公司", make_uscc("91310105MA1RT0003"), "新华路街道", "", "企业"],           # 4 XHL (unique name)
    ["上海丁有限公司", make_uscc("91310112MA1RT0004"), "江川路", "闵行", "企业"],           # 5 JC_MH
    ["上海戊有限公司", make_uscc("91310105MA1RT0005"), "陆家嘴", "长宁", "企业"],           # 6 street not in 长宁
    ["上海己有限公司", make_uscc("91310112MA1RT0006"), "江川路", "", "企业"],               # 7 ambiguous
    ["上海庚有限公司", make_uscc("91310104MA1RT0007"), "幸福路", "徐汇", "企业"],           # 8 unknown street
    ["上海辛有限公司", make_uscc("91310105MA1RT0008"), "江苏路", "火星区", "企业"],         # 9 unknown district
    ["上海壬有限公司", make_uscc("91310105MA1RT0009"), "", "长宁", "企业"],                 # 10 no street
    ["上海癸有限公司", make_uscc("91310101MA1RT0010"), "\xa0南京东路街道\u3000", "黄浦", "企业"],  # 11 NJD
]


def test_registry_rows_resolve_or_are_rejected_with_the_reason(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _divisions(folder)
    registry = write_csv(folder / "企业名录.csv", REGISTRY_ROWS, encoding="utf-8-sig")
    files = ingest(db_url, folder)
    f = files[registry.name]
    assert (f["rows"], f["inserted"], f["rejected"]) == (10, 5, 5), f

    engine = create_engine(db_url)
    with Session(engine) as s:
        streets = dict(s.execute(select(Enterprise.name, Enterprise.street_code)).all())
        rejects = s.execute(select(Reject.row_number, Reject.field, Reject.code, Reject.reason)
                            .join(ImportBatch, ImportBatch.id == Reject.batch_id)
                            .where(ImportBatch.file_name == registry.name)).all()
    engine.dispose()
    assert streets == {"上海甲有限公司": JSL, "上海乙有限公司": LJZ, "上海丙有限公司": XHL, "上海丁有限公司": JC_MH,
                       "上海癸有限公司": NJD}
    by_row = {}
    for row, field, code, reason in rejects:
        by_row.setdefault(row, []).append((field, code, reason))
    assert sorted(by_row) == [6, 7, 8, 9, 10], by_row
    expected_field = {6: "street", 7: "street", 8: "street", 9: "district", 10: "street"}
    for row, field in expected_field.items():
        assert any(f == field and reason for f, _, reason in by_row[row]), (row, by_row[row])
    assert any("重名" in r or "多个" in r or "区" in r for _, _, r in by_row[7]), by_row[7]


def test_staff_rows_resolve_places_and_reject_the_unknown(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _divisions(folder)
    ids = [make_id("310105", f"198{n}0101", f"{n:03d}") for n in range(6)]
    staff = write_csv(folder / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "所属区", "返沪日期"],
        ["甲", ids[0], "江苏路", "长宁", "2020-02-05"],        # JSL
        ["乙", ids[1], "", "浦东", "2020-02-05"],              # district only: 310115, no street
        ["丙", ids[2], "新华路", "", "2020-02-05"],            # XHL, district from the street
        ["丁", ids[3], "江川路", "", "2020-02-05"],            # ambiguous
        ["戊", ids[4], "", "火星区", "2020-02-05"],            # unknown district
        ["己", ids[5], "幸福路", "长宁", "2020-02-05"],        # unknown street
    ])
    f = ingest(db_url, folder)[staff.name]
    assert (f["rows"], f["inserted"], f["rejected"]) == (6, 3, 3), f
    engine = create_engine(db_url)
    with Session(engine) as s:
        places = set(s.execute(select(ReturningStaff.name, ReturningStaff.street_code, ReturningStaff.district_code)
                               .where(ReturningStaff.is_current.is_(True))).all())
        rejected = {r for (r,) in s.execute(select(Reject.row_number))}
    engine.dispose()
    assert places == {("甲", JSL, "310105"), ("乙", None, "310115"), ("丙", XHL, "310105")}
    assert rejected == {5, 6, 7}


def test_towns_and_communities_from_a_division_registry(db_url: str, tmp_path: Path) -> None:
    """Streets come as 街道 or 镇; communities (居委) hang under a street and are resolved for buildings."""
    from schemas.models import Building, Division

    folder = tmp_path / "in"
    write_csv(folder / "区划.csv", [
        ["区划代码", "区划名称", "级别", "上级区划代码"],
        ["310118102", "朱家角镇", "镇", "310118"],
        [JSL, "江苏路街道", "街道", "310105"],
        ["310105002003", "华山居委会", "居委", JSL],
    ])
    write_csv(folder / "楼宇.csv", [
        ["楼宇名称", "地址", "所属街道", "区", "居委", "业主单位"],
        ["华鑫大厦", "江苏路100号", "江苏路", "长宁", "华山居委会", "华鑫物业"],
        ["古镇商厦", "朱家角镇1号", "朱家角", "青浦", "", "古镇物业"],
    ])
    files = ingest(db_url, folder)
    assert files["区划.csv"]["inserted"] == 3 and files["楼宇.csv"]["inserted"] == 2, files
    engine = create_engine(db_url)
    with Session(engine) as s:
        levels = dict(s.execute(select(Division.code, Division.level).where(Division.code.in_(
            ["310118102", JSL, "310105002003"]))).all())
        buildings = {b.name: (b.street_code, b.community_code) for b in s.scalars(select(Building))}
    engine.dispose()
    assert levels == {"310118102": "street", JSL: "street", "310105002003": "community"}
    assert buildings == {"华鑫大厦": (JSL, "310105002003"), "古镇商厦": ("310118102", None)}
