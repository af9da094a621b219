"""Filling a department's template from a loaded database, judged as its reader would: the filled workbook opened
with openpyxl (and LibreOffice) beside the template it came from, on SQLite and on PostgreSQL."""
from __future__ import annotations

import csv
import os
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from etl.database import make_engine
from etl.figures import RATES, summary
from etl.fill import FillResult, fill_template
from etl.fill_rows import OutOfScope
from etl.fill_template import TemplatePlan
from tests.conftest import ENGINES
from tests.etl.test_fill_template import (
    HEADER_FILL,
    NOTE,
    TEMPLATES,
    UNKNOWN,
    WIDTHS,
    unseen_template,
)
from tests.fixtures.sheets import HOSTILE, JSL, U, loaded_world, write_city

D = date(2020, 2, 11)
CITY, CHANGNING, HUANGPU = "310000", "310105", "310101"
STREETS = ["江苏路街道", "新华路街道", "陆家嘴街道"]


@pytest.fixture(scope="module", params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The small city of tests/fixtures/sheets.py loaded once per engine; the tests only read it."""
    with loaded_world(request.param, tmp_path_factory.mktemp("fill_world"), write_city) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def fill(engine: Engine, template: Path, out: Path, scope: str = CITY, personal: bool = False) -> FillResult:
    with Session(engine) as session:
        return fill_template(session, template, out, scope_code=scope, day=D, personal=personal)


def rows_of(ws: Worksheet, plan: TemplatePlan, count: int) -> list[dict[str, Any]]:
    """The written rows, by header label."""
    return [{c.label: ws.cell(r, c.index).value for c in plan.columns}
            for r in range(plan.first_row, plan.first_row + count)]


def figures(engine: Engine, level: str) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        return {u["name"]: u for u in summary(session, D, level)}


def assert_figures(got: Any, want: Any, name: str) -> None:
    if name in RATES and want is not None:
        assert got == pytest.approx(want), name
    else:
        assert got == want, name


def assert_rows_are_the_summary(ws: Worksheet, plan: TemplatePlan, count: int, level: str, engine: Engine) -> None:
    """Every recognised cell of every row: 序号 1, 2, …, the unit's name, and its figures as `onenet summary` has them."""
    expected = figures(engine, level)
    for number, row in enumerate(rows_of(ws, plan, count), start=1):
        key = next(c.label for c in plan.recognised if c.meaning.role == "key")
        unit = expected[row[key]]
        for column in plan.columns:
            value = row[column.label]
            if column.meaning is None:
                assert value is None, (column.label, value)
            elif column.meaning.role == "sequence":
                assert value == number
            elif column.meaning.role == "figure":
                assert_figures(value, unit[column.meaning.name], f"{row[key]} {column.label}")


@pytest.fixture
def street_template(tmp_path: Path) -> Path:
    return unseen_template(tmp_path / "新表.xlsx")


def test_an_unseen_template_is_filled_per_street_as_summary_has_it(world: Engine, street_template: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "filled.xlsx"
    result = fill(world, street_template, out)
    assert (result.rows, result.total_row, result.scope_name, result.day) == (3, 8, "上海市", D)
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert [ws.cell(r, 2).value for r in (5, 6, 7)] == STREETS, "in the order of their codes"
    assert_rows_are_the_summary(ws, result.plan, 3, "street", world)
    assert [ws.cell(r, 8).value for r in (5, 6, 7)] == [None] * 3, f"{UNKNOWN} is left for the street to fill"

    total = {letter: ws[f"{letter}8"].value for letter in "ABCDEFGH"}
    city = figures(world, "city")["上海市"]
    assert total == {"A": "合计", "B": None, "C": 5, "D": 3, "E": pytest.approx(0.6), "F": 3, "G": 2, "H": None}
    assert (total["C"], total["D"], total["F"], total["G"]) == tuple(
        city[k] for k in ("enterprises", "reopened", "returning_staff", "in_quarantine"))
    rates = [ws[f"E{r}"].value for r in (5, 6, 7)]
    assert sum(rates) / 3 == pytest.approx(2 / 3) != total["E"], "the 合计 rate is 3/5, not the average of the rows"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row), "the template's SUM formulas gave way"
    assert ws["A9"].value == NOTE, "the sign-off row moved under the rows"


def test_the_template_survives_the_fill(world: Engine, street_template: Path, tmp_path: Path) -> None:
    out = tmp_path / "filled.xlsx"
    fill(world, street_template, out)
    before, after = openpyxl.load_workbook(street_template), openpyxl.load_workbook(out)
    assert after.sheetnames == ["复工统计", "物资", "说明"]
    old, new = before["复工统计"], after["复工统计"]
    assert [new.cell(1, 1).value, new.cell(2, 1).value] == [old.cell(1, 1).value, old.cell(2, 1).value]
    assert new["A1"].font.b and new["A1"].font.sz == 16
    assert {str(m) for m in new.merged_cells.ranges} == {"A1:H1", "A2:H2", "A3:A4", "B3:B4", "C3:E3", "F3:G3",
                                                        "H3:H4", "A8:B8", "A9:H9"}
    assert [[c.value for c in row] for row in new.iter_rows(min_row=3, max_row=4)] == \
           [[c.value for c in row] for row in old.iter_rows(min_row=3, max_row=4)]
    assert {k: new.column_dimensions[k].width for k in WIDTHS} == {k: old.column_dimensions[k].width for k in WIDTHS}
    assert new.row_dimensions[3].height == 24
    assert [new.cell(r, c).fill.fgColor.rgb for r in (3, 4) for c in range(1, 9)] == \
           [old.cell(r, c).fill.fgColor.rgb for r in (3, 4) for c in range(1, 9)]
    assert {new[ref].fill.fgColor.rgb for ref in ("A3", "B3", "C3", "F3", "H3", "C4", "E4", "G4")} == {HEADER_FILL}
    assert [new[f"E{r}"].number_format for r in (5, 6, 7, 8)] == ["0.00%"] * 4
    assert [new[f"C{r}"].number_format for r in (5, 6, 7)] == ["0"] * 3
    assert all(new.cell(r, c).border.left.style == "thin" for r in (5, 6, 7) for c in range(1, 9)), "data rows keep their borders"
    assert new.print_area == "'复工统计'!$A$1:$H$9", "the print area reaches the moved sign-off row"
    assert (new.page_setup.orientation, str(new.page_setup.paperSize)) == ("landscape", "9")
    assert new.print_title_rows == old.print_title_rows == "$3:$4"
    assert new.freeze_panes == "C5"
    assert [[c.value for c in row] for row in after["物资"].iter_rows()] == [["物资名称", "数量"], ["口罩", 1000]]
    notes = "\n".join(str(c.value) for row in after["说明"].iter_rows() for c in row if c.value is not None)
    assert f"H {UNKNOWN}" in notes and "已留空" in notes and "2020-02-11" in notes and "上海市" in notes
    assert "不是各行比率的平均" in notes


def test_a_per_district_template_gets_every_district_and_moves_its_footer_down(world: Engine, tmp_path: Path) -> None:
    template = unseen_template(tmp_path / "区表.xlsx", key="区")
    out = tmp_path / "filled.xlsx"
    result = fill(world, template, out)
    expected = figures(world, "district")
    assert result.rows == len(expected) == 16 and result.total_row == 21
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert [ws.cell(r, 2).value for r in range(5, 21)] == [u["name"] for u in expected.values()]
    assert_rows_are_the_summary(ws, result.plan, 16, "district", world)
    assert [ws[f"{c}21"].value for c in "ACDE"] == ["合计", 5, 3, pytest.approx(0.6)]
    assert ws["A22"].value == NOTE and {"A21:B21", "A22:H22"} <= {str(m) for m in ws.merged_cells.ranges}
    assert ws.print_area == "'复工统计'!$A$1:$H$22"


@pytest.mark.parametrize(("name", "key", "names"), [
    ("街道复工复产日报表.xlsx", "街道", STREETS),
    ("楼宇企业复工情况表.xlsx", "楼宇名称", ["华鑫大厦", "新华大楼", "陆家嘴中心"]),
    ("返岗人员统计表.xlsx", "区", None),
    ("重点企业复工台账.xlsx", "企业名称", ["上海甲有限公司", HOSTILE, "上海丁有限公司", "上海戊有限公司", "上海丙有限公司"]),
    ("商铺开业情况表.xlsx", "店铺名称", ["甲记面馆", "乙记水果店"]),
])
def test_each_shipped_template_gets_rows_of_its_unit(world: Engine, tmp_path: Path, name: str, key: str,
                                                     names: list[str] | None) -> None:
    out = tmp_path / name
    result = fill(world, TEMPLATES / name, out)
    wb = openpyxl.load_workbook(out)
    ws = wb[result.plan.sheet]
    got = [row[key] for row in rows_of(ws, result.plan, result.rows)]
    want = names if names is not None else list(figures(world, "district"))
    assert sorted(got) == sorted(want)
    if result.plan.unit in ("district", "street"):
        assert_rows_are_the_summary(ws, result.plan, result.rows, result.plan.unit, world)
    if result.total_row is not None:
        assert result.total_row == result.plan.first_row + result.rows and ws.cell(result.total_row, 1).value == "合计"
    assert all(isinstance(c.value, str) and c.value.startswith("填表人") for c in ws[ws.max_row][:1])
    before = openpyxl.load_workbook(TEMPLATES / name)
    assert wb.sheetnames[:-1] == before.sheetnames and wb.sheetnames[-1] == "说明"
    for title in before.sheetnames[1:]:
        assert [[c.value for c in r] for r in wb[title].iter_rows()] == [[c.value for c in r] for r in before[title].iter_rows()]


def test_the_daily_report_totals_staff_and_shops_from_numerators(world: Engine, tmp_path: Path) -> None:
    out = tmp_path / "日报.xlsx"
    result = fill(world, TEMPLATES / "街道复工复产日报表.xlsx", out)
    ws = openpyxl.load_workbook(out)["日报表"]
    assert result.total_row == 8
    total = [ws.cell(8, c).value for c in range(3, 12)]
    assert total == [5, 3, pytest.approx(3 / 5), 2, 1, pytest.approx(1 / 2), 38 + 5, 14 + 3, pytest.approx(17 / 43)]
    assert ws["H6"].value is None, "新华路 has no shops: its 开业率 is empty, not 0"
    assert ws["A9"].value.startswith("注：复工率") and ws["A10"].value.startswith("填表人")


def test_building_rows_carry_the_registry_and_their_enterprises(world: Engine, tmp_path: Path) -> None:
    out = tmp_path / "楼宇.xlsx"
    result = fill(world, TEMPLATES / "楼宇企业复工情况表.xlsx", out)
    ws = openpyxl.load_workbook(out)["楼宇复工"]
    rows = [[ws.cell(r, c).value for c in range(1, 12)] for r in range(4, 4 + result.rows)]
    assert rows == [
        [1, "江苏路街道", "华鑫大厦", "华鑫物业", "王**", "139****0001", 2, 1, 0.5, 1, 0.5],
        [2, "新华路街道", "新华大楼", "新华物业", "李**", "139****0003", 2, 1, 0.5, 2, 1.0],
        [3, "陆家嘴街道", "陆家嘴中心", "陆家嘴物业", "赵**", "139****0002", 1, 1, 1.0, 1, 1.0],
    ]
    assert [ws.cell(7, c).value for c in range(1, 12)] == ["合计", None, None, None, None, None, 5, 3,
                                                          pytest.approx(0.6), 4, pytest.approx(0.8)]
    assert ws["I4"].number_format == "0.00%" and ws["I7"].number_format == "0.00%"
    assert "13900000001" not in {str(c.value) for row in ws.iter_rows() for c in row}

    fill(world, TEMPLATES / "楼宇企业复工情况表.xlsx", out, personal=True)
    ws = openpyxl.load_workbook(out)["楼宇复工"]
    assert [ws["E4"].value, ws["F4"].value] == ["王经理", "13900000001"]


def test_enterprise_rows_carry_their_latest_report_and_stay_text(world: Engine, tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    result = fill(world, TEMPLATES / "重点企业复工台账.xlsx", out)
    assert result.rows == 5 and result.total_row is None
    ws = openpyxl.load_workbook(out)["台账"]
    rows = {ws.cell(r, 3).value: [ws.cell(r, c).value for c in range(2, 14)] for r in range(4, 9)}
    assert rows == {
        U[0]: ["上海甲有限公司", U[0], "江苏路街道", "华鑫大厦", "软件", "是", datetime(2020, 2, 10), 10, 6, "张*", "138****2222", None],
        U[1]: [HOSTILE, U[1], "江苏路街道", "华鑫大厦", "咨询", None, None, None, None, None, None, None],
        U[2]: ["上海丁有限公司", U[2], "新华路街道", "新华大楼", "贸易", "否", None, 20, 0, "李*", "138****3333", None],
        U[3]: ["上海戊有限公司", U[3], "新华路街道", "新华大楼", "贸易", "是", datetime(2020, 2, 9), 8, 8, "王*", "138****4444", None],
        U[4]: ["上海丙有限公司", U[4], "陆家嘴街道", "陆家嘴中心", "金融", "是", datetime(2020, 2, 10), 5, 3, "赵*", "138****5555", None],
    }
    assert [ws.cell(r, 1).value for r in range(4, 9)] == [1, 2, 3, 4, 5]
    hostile = next(ws.cell(r, 2) for r in range(4, 9) if ws.cell(r, 3).value == U[1])
    assert isinstance(hostile.value, str) and hostile.data_type == "s" and hostile.quotePrefix, "a name is never a formula"
    assert not ws.cell(hostile.row - 1 if hostile.row > 4 else hostile.row + 1, 2).quotePrefix
    assert ws["H4"].number_format == "yyyy-mm-dd"
    assert ws["A9"].value.startswith("注：") and ws["A10"].value.startswith("填表人")
    dropdown = next(v for v in ws.data_validations.dataValidation if "是" in (v.formula1 or ""))
    assert "G4:G8" in str(dropdown.sqref), "the 是/否 drop-down covers every written row"


def test_shop_rows(world: Engine, tmp_path: Path) -> None:
    out = tmp_path / "商铺.xlsx"
    fill(world, TEMPLATES / "商铺开业情况表.xlsx", out, personal=True)
    ws = openpyxl.load_workbook(out)["Sheet1"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=4)] == [
        [1, "江苏路街道", "甲记面馆", "江苏路10号", "是", datetime(2020, 2, 8), "13811116666"],
        [2, "陆家嘴街道", "乙记水果店", "东方路3号", None, None, None],
    ]
    assert ws["F3"].number_format == 'yyyy"年"m"月"d"日"'
    assert ws["A5"].value.startswith("填表人")


def test_a_street_scope_gets_its_own_row_and_is_refused_a_district_template(world: Engine, street_template: Path,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "江苏路.xlsx"
    result = fill(world, street_template, out, scope=JSL)
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert (result.rows, result.scope_name) == (1, "江苏路街道")
    assert [ws["A5"].value, ws["B5"].value, ws["C5"].value, ws["D5"].value, ws["E5"].value] == [1, "江苏路街道", 2, 1, 0.5]
    assert [ws["A6"].value, ws["C6"].value, ws["D6"].value, ws["E6"].value] == ["合计", 2, 1, 0.5]
    assert ws["A7"].value == NOTE and ws["B6"].value is None

    with pytest.raises(OutOfScope, match="每行一个区.*江苏路街道"):
        fill(world, unseen_template(tmp_path / "区表.xlsx", key="区"), tmp_path / "no.xlsx", scope=JSL)
    assert not (tmp_path / "no.xlsx").exists()

    result = fill(world, street_template, out, scope=CHANGNING)
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert [ws["B5"].value, ws["B6"].value, ws["A7"].value, ws["E7"].value] == ["江苏路街道", "新华路街道", "合计", 0.5]


def test_zero_rows_in_scope_leave_an_empty_row_and_a_zero_total(world: Engine, street_template: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "黄浦.xlsx"
    result = fill(world, street_template, out, scope=HUANGPU)
    assert result.rows == 0 and result.total_row == 6
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert all(ws.cell(5, c).value is None for c in range(1, 9))
    assert [ws[f"{c}6"].value for c in "ACDEFG"] == ["合计", 0, 0, None, 0, 0]
    assert ws["A7"].value == NOTE
    assert "共 0 行" in "\n".join(str(c.value) for row in openpyxl.load_workbook(out)["说明"].iter_rows() for c in row)


def test_a_template_without_data_rows_grows_them_above_its_total(world: Engine, tmp_path: Path) -> None:
    out = tmp_path / "filled.xlsx"
    result = fill(world, unseen_template(tmp_path / "紧凑.xlsx", data_rows=0), out)
    assert (result.rows, result.total_row) == (3, 8)
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert [ws.cell(r, 2).value for r in (5, 6, 7)] == STREETS
    assert_rows_are_the_summary(ws, result.plan, 3, "street", world)
    assert ws["A8"].value == "合计" and ws["C8"].value == 5 and ws["A9"].value == NOTE
    assert "A8:B8" in {str(m) for m in ws.merged_cells.ranges}


def test_a_table_on_the_second_sheet_is_filled_there(world: Engine, street_template: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(street_template)
    wb.create_sheet("填报说明", 0).append(["一、每个街道填写一行，每日16:00前报送。"])
    wb.save(street_template)
    out = tmp_path / "filled.xlsx"
    result = fill(world, street_template, out)
    wb = openpyxl.load_workbook(out)
    assert result.plan.sheet == "复工统计" and wb.sheetnames == ["填报说明", "复工统计", "物资", "说明"]
    assert wb["填报说明"]["A1"].value.startswith("一、") and wb["填报说明"].max_row == 1
    assert [wb["复工统计"].cell(r, 2).value for r in (5, 6, 7)] == STREETS


@pytest.mark.slow
def test_libreoffice_opens_the_filled_workbook(world: Engine, street_template: Path, tmp_path: Path) -> None:
    if world.dialect.name != "sqlite":
        pytest.skip("what LibreOffice reads does not depend on the engine; once is enough")
    out = tmp_path / "filled.xlsx"
    with Session(world) as session:
        fill_template(session, TEMPLATES / "重点企业复工台账.xlsx", tmp_path / "台账.xlsx", scope_code=CITY, day=D)
    fill(world, street_template, out)
    profile = tmp_path / "lo-profile"
    for book in (out, tmp_path / "台账.xlsx"):
        subprocess.run(["libreoffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "csv"), str(book)],
                       check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    with open(tmp_path / "csv" / "filled.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "长宁区防疫复工情况统计表"
    assert rows[4][:7] == ["1", "江苏路街道", "2", "1", "50.00%", "1", "1"]
    assert rows[6][:7] == ["3", "陆家嘴街道", "1", "1", "100.00%", "1", "0"]
    assert rows[7][:7] == ["合计", "", "5", "3", "60.00%", "3", "2"]
    assert rows[8][0] == NOTE
    with open(tmp_path / "csv" / "台账.csv", encoding="utf-8") as fh:
        ledger = list(csv.reader(fh))
    assert any(row[1] == HOSTILE for row in ledger), "the name is shown as typed, not run as a formula"


def test_conditional_formats_stretch_over_the_rows_and_coordinates_are_not_totalled(world: Engine, tmp_path: Path) -> None:
    """A rate below target shown red on the template's first data row is shown red on every row written; a 合计 row
    sums counts, never a building's longitude."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["楼宇名称", "经度", "纬度", "企业数", "复工率"])
    ws.append([None] * 5)
    ws.append(["合计", None, None, "=SUM(D2:D2)", "=D3"])
    ws.conditional_formatting.add("E2", CellIsRule(operator="lessThan", formula=["0.7"],
                                                   fill=PatternFill("solid", fgColor="FFFF0000")))
    ws.conditional_formatting.add("A3:E3", CellIsRule(operator="equal", formula=["0"], font=Font(bold=True)))
    wb.save(tmp_path / "楼宇.xlsx")
    out = tmp_path / "filled.xlsx"
    result = fill(world, tmp_path / "楼宇.xlsx", out)
    assert (result.rows, result.total_row) == (3, 5)
    filled = openpyxl.load_workbook(out).active
    assert sorted(str(cf.sqref) for cf in filled.conditional_formatting) == ["A5:E5", "E2:E4"]
    assert [filled.cell(5, c).value for c in range(1, 6)] == ["合计", None, None, 5, pytest.approx(0.6)]
