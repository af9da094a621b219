"""etl.analysis, the notebooks' API, on the small world of test_figures (real files, real pipeline, both engines).

The figures themselves are proven in test_figures; here: the frames carry exactly those figures, one row per
unit and day, and the other helpers give what a hand count of the world gives.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from io import BytesIO
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dashboard.queries.staff import staff_breakdown
from etl import analysis
from etl.divisions import DivisionTree
from etl.export import workbook_bytes
from etl.figures import summary
from etl.database import make_engine
from schemas.aggregates import AggStaff
from tests.conftest import ENGINES, empty_database
from tests.etl.test_figures import D1, D2, P7_BAD, build_world, load
from tests.fixtures.sheets import SECRET
from tests.fixtures.messy import JSL, LJZ, XHL, make_id, write_csv

Q1, Q2, Q3 = (make_id("420106", birth, "101") for birth in ("19900101", "19910202", "19920303"))
PERSONAL = {"name", "phone", "id_hash", "id_masked", "person_key", "id_number"}


@pytest.fixture(scope="module", params=ENGINES)
def eng(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The world of test_figures, plus three people whose rows give an origin (来源地): loaded once per engine, as
    every test here only reads it (the secret and the data folder set as tests/conftest.py sets them for a test)."""
    folder = tmp_path_factory.mktemp("analysis")
    with empty_database(request.param, folder) as url, pytest.MonkeyPatch.context() as env:
        env.setenv("ONENET_SECRET", SECRET)
        env.setenv("ONENET_DATA_DIR", str(folder / "home"))
        engine = _world(url, folder / "in")
        yield engine
        engine.dispose()


def _world(db_url: str, inbox: Path) -> Engine:
    build_world(inbox)
    write_csv(inbox / "返岗人员_来源地.csv", [
        ["姓名", "身份证号", "企业名称", "所属街道", "所属区", "来源地", "返沪日期", "隔离状态"],
        ["辛", Q1, "上海一号有限公司", "江苏路", "长宁", "湖北武汉", "2020-02-03", "无需隔离"],   # Monday
        ["壬", Q2, "上海一号有限公司", "江苏路", "长宁", "湖北省武汉市", "2020-02-09", "无需隔离"],   # Sunday, same week
        ["癸", Q3, "上海六号有限公司", "陆家嘴", "浦东", "安徽阜阳", "2020-02-10", "居家隔离"],   # next week
    ])
    results = load(db_url, inbox)
    assert all(r.status == "loaded" for r in results), [(r.file, r.error) for r in results]
    return make_engine(db_url)


def same(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and math.isnan(a) and b is None)


@pytest.mark.parametrize("level", ["city", "district", "street"])
def test_figures_are_the_summary_of_each_day(eng: Engine, level: str) -> None:
    frame = analysis.figures(D1, D2.isoformat(), level, engine=eng)
    with Session(eng) as session:
        for day in (D1, date(2020, 2, 11), D2):
            expected = summary(session, day, level)
            got = frame[frame["day"] == pd.Timestamp(day)].to_dict("records")
            assert [r["code"] for r in got] == [r["code"] for r in expected]
            for mine, theirs in zip(got, expected):
                assert all(same(mine[k], v) for k, v in theirs.items()), (day, mine, theirs)
    assert len(frame) == 3 * len(expected)
    if level == "street":
        jsl = frame[(frame["code"] == JSL) & (frame["day"] == pd.Timestamp(D1))].iloc[0]
        assert (jsl["enterprises"], jsl["reopened"], jsl["reopening_rate"]) == (3, 1, pytest.approx(1 / 3))


def test_figures_refuse_a_bad_level_or_range(eng: Engine) -> None:
    with pytest.raises(ValueError, match="level"):
        analysis.figures(D1, D2, "building", engine=eng)
    with pytest.raises(ValueError, match="before it starts"):
        analysis.figures(D2, D1, engine=eng)


def test_ledger_and_rejects(eng: Engine) -> None:
    ledger = analysis.import_ledger(eng)
    assert len(ledger) == 7 and set(ledger["status"]) == {"loaded"}
    assert ledger["batch"].is_monotonic_increasing
    staff = ledger[ledger["file"] == "返岗人员.csv"].iloc[0]
    assert (staff["kind"], staff["rows"], staff["rejected"]) == ("returning_staff", 8, 1)

    bad = analysis.rejects(eng)
    assert len(bad) == 1
    row = bad.iloc[0]
    assert (row["file"], row["row"], row["severity"], row["field"], row["batch"]) == ("返岗人员.csv", 9, "退回", "身份证号", staff["batch"])
    assert row["reason_code"] and row["reason"] and P7_BAD not in row["reason"]


def test_silent_buildings_and_how_long(eng: Engine) -> None:
    on_d1 = analysis.silent_buildings(D1, engine=eng)
    assert list(on_d1["building"]) == ["华鑫大厦", "新华科技楼"]
    first = on_d1.iloc[0]
    assert (first["street"], first["silent"], first["silent_enterprises"]) == ("江苏路街道", 1, "三号咨询工作室")
    assert (first["owner_contact"], first["owner_phone"]) == ("王**", "138****8000"), "owner contacts are masked"

    # Nobody reported before 02-09 (六号 of 陆家嘴 only): both buildings have been silent since the 8th.
    streak = analysis.silent_buildings(D1, since="2020-02-08", engine=eng)
    assert list(streak["days_silent"]) == [3, 3]
    assert set(streak["silent_since"]) == {date(2020, 2, 8)}
    assert list(analysis.silent_buildings(D1, scope=XHL, engine=eng)["building"]) == ["新华科技楼"]
    none = analysis.silent_buildings(D2, since=D1, engine=eng)
    assert none.empty and "days_silent" in none.columns


def test_returning_staff_by_origin_and_week(eng: Engine) -> None:
    # 甲 02-01; 乙 02-09, 丁 02-08, 己 02-05 (two spellings of one ID: one person); 丙 02-10, 戊 02-11: no origin.
    weeks = analysis.returning_staff_by_origin_and_week(engine=eng)
    got = {(w.date().isoformat(), o): n for w, o, n in weeks[["week", "origin", "people"]].itertuples(index=False)}
    # 辛 wrote 湖北武汉 and 壬 湖北省武汉市: one place, under its standard name
    assert got == {("2020-01-27", "未填写"): 1, ("2020-02-03", "未填写"): 3, ("2020-02-03", "湖北省武汉市"): 2,
                   ("2020-02-10", "未填写"): 2, ("2020-02-10", "安徽省阜阳市"): 1}
    cut = analysis.returning_staff_by_origin_and_week("2020-02-05", date(2020, 2, 9), engine=eng)
    assert cut[["origin", "people"]].values.tolist() == [["未填写", 3], ["湖北省武汉市", 1]]
    assert not PERSONAL & set(weeks.columns)


def test_the_dashboard_and_the_workbook_group_origins_by_the_same_places(eng: Engine) -> None:
    """The 按来源地 aggregate (and so the 返岗人员 chart) merges 湖北武汉 and 湖北省武汉市; the workbook's staff
    sheet keeps each text as written beside its standard name."""
    with Session(eng) as session:
        grouped = dict(session.execute(select(AggStaff.origin, func.sum(AggStaff.people)).group_by(AggStaff.origin)).all())
        chart = staff_breakdown(session, DivisionTree.load(session), "310000", D2).by_origin
        data = workbook_bytes(session, scope_code="310000", day=D2, user_name="分析员", sections=["staff"])
    assert (grouped["湖北省武汉市"], grouped["安徽省阜阳市"]) == (2, 1) and "湖北武汉" not in grouped
    assert ("湖北省武汉市", 2) in chart and ("安徽省阜阳市", 1) in chart
    sheet = load_workbook(BytesIO(data))["返岗人员"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    written = sorted((r["来源地"], r["来源地（规范名称）"]) for r in rows if r["来源地"])
    assert written == [("安徽阜阳", "安徽省阜阳市"), ("湖北武汉", "湖北省武汉市"), ("湖北省武汉市", "湖北省武汉市")]


def test_quarantine_by_street_is_the_street_figures(eng: Engine) -> None:
    load_ = analysis.quarantine_by_street(D1, D2, engine=eng)
    assert list(load_.columns) == ["day", "district", "code", "street", "returning_staff", "in_quarantine"]
    on = {(r.day.date(), r.code): (r.district, r.street, r.returning_staff, r.in_quarantine) for r in load_.itertuples()}
    # JSL: 甲, 己 (+ 辛, 壬 of the origin file, no quarantine); LJZ: 丙 (+ 癸 from 02-10, home quarantine)
    assert on[(D1, JSL)] == ("长宁区", "江苏路街道", 4, 2)
    assert on[(D1, LJZ)] == ("浦东新区", "陆家嘴街道", 2, 2)
    assert on[(D2, XHL)][2:] == (1, 0)
    assert not PERSONAL & set(load_.columns)


def test_to_excel_writes_chinese_headers_and_no_formulas(eng: Engine, tmp_path: Path) -> None:
    frame = analysis.figures(D1, D1, "district", engine=eng)
    frame = frame[frame["code"].isin(["310105", "310115"])]
    frame.loc[frame.index[0], "name"] = "=HYPERLINK(\"http://x\")"
    path = analysis.to_excel({"区": frame}, tmp_path / "deep" / "out.xlsx")
    sheet = load_workbook(path).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["日期", "级别", "区划代码"] and "复工率" in header
    name = sheet.cell(row=2, column=header.index("名称") + 1)
    assert name.data_type == "s" and name.value.startswith("="), "text from data is never a formula"
    rate = sheet.cell(row=2, column=header.index("复工率") + 1)
    assert rate.number_format == "0.0%"
