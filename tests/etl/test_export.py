"""The analyst workbook and the reminder list, opened with openpyxl as an analyst would."""
from __future__ import annotations

import os
import re
import subprocess
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.excel import Column, Formats, open_workbook, write_sheet
from etl.export import carries_personal_data, workbook_bytes
from etl.figures import summary
from etl.pipeline import Ingestor
from etl.reminders import write_reminders
from etl.database import make_engine
from schemas.labels import FOLLOW_UP_LABELS
from schemas.models import Building, FollowUp
from tests.fixtures.messy import make_id, make_uscc
from tests.fixtures.cli import onenet
from tests.fixtures.sheets import (
    BUILDING_HEADER,
    ENTERPRISE_HEADER,
    HOSTILE,
    HUAXIN,
    JSL,
    LUJIAZUI,
    load_inbox,
    write_inbox,
    write_xlsx,
)

ROOT = Path(__file__).resolve().parents[2]
D = date(2020, 2, 11)
U1, U2, U3 = make_uscc("91310105MA1FL0001"), make_uscc("91310105MA1FL0002"), make_uscc("91310115MA1HK0003")
RAW_IDS = [make_id("310105", "19850312", "123"), make_id("310115", "19900101", "456")]


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    inbox = write_inbox(tmp_path / "inbox", {
        "楼宇": [BUILDING_HEADER, HUAXIN, LUJIAZUI],
        "名录": [ENTERPRISE_HEADER,
               ["上海甲有限公司", U1, "华鑫大厦", "江苏路", "长宁", "企业"],
               [HOSTILE, U2, "华鑫大厦", "江苏路", "长宁", "企业"],
               ["上海丙有限公司", U3, "陆家嘴中心", "陆家嘴", "浦东", "企业"]],
        "申报": [["企业名称", "统一社会信用代码", "街道", "区", "是否复工", "员工总数", "已返岗人数", "填报时间"],
               ["上海甲有限公司", U1, "江苏路", "长宁", "是", 10, 6, "2020-02-10 09:00"]],
        "返岗": [["姓名", "身份证号", "手机号", "工作单位", "街道", "返沪日期", "隔离状态", "备注"],
               ["@SUM(1)", RAW_IDS[0], "13800138000", "上海甲有限公司", "江苏路", "2020-02-05", "居家隔离", "-1"],
               ["钱二", RAW_IDS[1], "13700137000", "上海丙有限公司", "陆家嘴", "2020-02-08", "无需隔离", None]]})
    load_inbox(db_url, inbox)
    return db_url


def open_bytes(data: bytes, tmp_path: Path) -> openpyxl.Workbook:
    path = tmp_path / "out.xlsx"
    path.write_bytes(data)
    return openpyxl.load_workbook(path)


def all_text(wb: openpyxl.Workbook) -> str:
    return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)


def test_city_workbook_sheets_formats_figures_and_masking(loaded: str, tmp_path: Path) -> None:
    with Session(make_engine(loaded)) as session:
        data = workbook_bytes(session, scope_code="310000", day=D, user_name="分析员甲")
        expected = {r["code"]: r for r in summary(session, D, "street")}
    wb = open_bytes(data, tmp_path)
    assert wb.sheetnames == ["封面", "汇总-市", "汇总-区", "汇总-街道", "复工明细", "漏报楼宇", "返岗人员", "退回记录"]
    cover = "\n".join(str(c.value) for row in wb["封面"].iter_rows() for c in row if c.value)
    assert "上海市" in cover and "2020-02-11" in cover and "分析员甲" in cover

    streets = wb["汇总-街道"]
    header = [c.value for c in streets[1]]
    assert header[:5] == ["区划代码", "名称", "登记企业", "已复工企业", "复工率"]
    assert streets.freeze_panes == "A2" and streets.auto_filter.ref
    by_code = {row[0].value: row for row in streets.iter_rows(min_row=2)}
    jsl = by_code[JSL]
    assert jsl[2].value == expected[JSL]["enterprises"] == 2
    assert jsl[3].value == expected[JSL]["reopened"] == 1
    assert jsl[4].value == pytest.approx(expected[JSL]["reopening_rate"]) and jsl[4].number_format == "0.0%"

    text = all_text(wb)
    for raw in RAW_IDS:
        assert raw not in text, "raw ID numbers never leave the database"
    assert "310105********" in text and "138****8000" in text and "13800138000" not in text
    assert "钱*" in text and "钱二" not in text  # the one name rule (etl.masking)

    # Injected formulas stayed text
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value[:1] in "=+-@":
                    assert c.data_type == "s", (ws.title, c.coordinate, c.value)
    assert any(isinstance(c.value, str) and c.value.startswith("=HYPERLINK") for row in wb["复工明细"].iter_rows() for c in row)

    missing = wb["漏报楼宇"]
    rows = [[c.value for c in row] for row in missing.iter_rows(min_row=2)]
    assert [r[2] for r in rows] == ["华鑫大厦", "陆家嘴中心"] or [r[2] for r in rows] == ["陆家嘴中心", "华鑫大厦"]
    huaxin = next(r for r in rows if r[2] == "华鑫大厦")
    assert huaxin[5:8] == ["王**", "139****0001", 1], "an analyst without the grant gets owners' contacts masked"
    assert "13900000001" not in text and "王经理" not in text


def test_a_street_users_workbook_holds_only_their_street(loaded: str, tmp_path: Path) -> None:
    with Session(make_engine(loaded)) as session:
        wb = open_bytes(workbook_bytes(session, scope_code=JSL, day=D, user_name="街道甲"), tmp_path)
    assert "汇总-市" not in wb.sheetnames and "汇总-区" not in wb.sheetnames and "退回记录" not in wb.sheetnames
    text = all_text(wb)
    assert "陆家嘴" not in text and "上海丙有限公司" not in text and "钱二" not in text
    assert [r[0].value for r in wb["汇总-街道"].iter_rows(min_row=2)] == [JSL]


def test_owner_contacts_are_unmasked_only_for_the_streets_officials_or_with_the_grant(loaded: str, tmp_path: Path) -> None:
    """The dashboard passes dashboard.access.unmasked: a street official's workbook (contacts) shows their street's
    owners in full and still masks returning staff; the grant (personal) shows both; the cover says which."""
    with Session(make_engine(loaded)) as session:
        street = open_bytes(workbook_bytes(session, scope_code=JSL, day=D, user_name="街道甲", contacts=True), tmp_path)
        granted = workbook_bytes(session, scope_code="310000", day=D, user_name="管理员", personal=True)
    huaxin = next([c.value for c in row] for row in street["漏报楼宇"].iter_rows(min_row=2) if row[2].value == "华鑫大厦")
    assert huaxin[5:7] == ["王经理", "13900000001"]
    assert "138****8000" in all_text(street) and "13800138000" not in all_text(street)
    assert "楼宇联系人姓名、电话完整" in all_text(street)
    text = all_text(open_bytes(granted, tmp_path))
    assert "13900000001" in text and "13800138000" in text and "含完整个人信息" in text
    assert carries_personal_data(["missing"], False, True) and not carries_personal_data(["staff"], False, True)
    assert not carries_personal_data(["summary", "reopening"], True, True)


def test_sheets_split_at_the_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "split.xlsx"
    wb = open_workbook(path)
    names = write_sheet(wb, Formats(wb), "返岗人员", [Column("姓名"), Column("人数", "int")],
                        ([f"人{i}", i] for i in range(25)), max_rows=11)
    wb.close()
    assert names == ["返岗人员", "返岗人员 (2)", "返岗人员 (3)"]
    book = openpyxl.load_workbook(path)
    assert [book[n].max_row for n in names] == [11, 11, 6]
    assert book["返岗人员 (2)"]["A1"].value == "姓名" and book["返岗人员 (2)"]["A2"].value == "人10"


def test_reminder_list_groups_silent_enterprises_by_building_for_a4(loaded: str, tmp_path: Path) -> None:
    out = tmp_path / "催报清单.xlsx"
    with Session(make_engine(loaded)) as session:
        write_reminders(session, out, street_code=JSL, day=D, user_name="街道甲")
    ws = openpyxl.load_workbook(out)["催报清单"]
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)  # 1 is the default
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$3:$3"
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert values[0][1] == "华鑫大厦" and values[0][4:6] == ["王经理", "13900000001"]
    assert values[0][6] == '=HYPERLINK("http://x","乙")' and ws.cell(4, 7).data_type == "s"
    assert "上海甲有限公司" not in [v[6] for v in values], "an enterprise that reported is not on the list"


def test_a_reminder_list_made_for_someone_else_masks_the_contacts(loaded: str, tmp_path: Path) -> None:
    out = tmp_path / "催报清单.xlsx"
    with Session(make_engine(loaded)) as session:
        write_reminders(session, out, street_code=JSL, day=D, user_name="分析员", contacts=False)
    values = [[c.value for c in row] for row in openpyxl.load_workbook(out)["催报清单"].iter_rows(min_row=4)]
    assert values[0][4:6] == ["王**", "139****0001"]


def test_export_and_remind_commands(loaded: str, tmp_path: Path) -> None:
    out = tmp_path / "长宁.xlsx"
    proc = onenet("--db", loaded, "export", "--out", str(out), "--district", "长宁", "--date", D.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert "汇总-区" in openpyxl.load_workbook(out).sheetnames
    proc = onenet("--db", loaded, "remind", "--street", "江苏路", "--out", str(tmp_path / "r.xlsx"), "--date", D.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"310105002", proc.stdout)


def test_libreoffice_prints_the_reminder_list_on_a4_landscape_with_every_column(loaded: str, tmp_path: Path) -> None:
    """The printed page a street official gets: LibreOffice (installed by .ci/run) renders it to PDF."""
    out = tmp_path / "催报清单.xlsx"
    with Session(make_engine(loaded)) as session:
        write_reminders(session, out, street_code=JSL, day=D, user_name="街道甲")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    pdf = out.with_suffix(".pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(width), round(height)) == (842, 595), info
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split("\f")
    for page in (p for p in pages if p.strip()):
        compact = page.replace(" ", "")
        for header in ("序号", "楼宇", "地址", "联系电话", "未填报企业", "统一社会信用代码", "跟进状态", "备注"):
            assert header in compact, f"column {header} cut from a printed page"


def test_enterprises_of_no_building_are_listed_under_their_street(loaded: str, tmp_path: Path) -> None:
    """Issue 18, defect 8: a silent enterprise without a building counts among the silent, so the 漏报楼宇 sheet
    and the reminder list carry it too, in a 未登记楼宇 group of its street: the lists add up to the count."""
    extra = tmp_path / "extra"
    extra.mkdir()
    write_xlsx(extra / "名录补充.xlsx", [["企业名称", "统一社会信用代码", "街道", "区", "类型"],
                                       ["上海无楼有限公司", make_uscc("91310105MA1FL0007"), "江苏路", "长宁", "企业"]])
    engine = make_engine(loaded)
    assert all(r.status == "loaded" and not r.rejected for r in Ingestor(engine, log=lambda m: None).ingest([extra]))
    with Session(engine) as session:
        data = workbook_bytes(session, scope_code="310000", day=D, user_name="分析员甲", sections=["missing"])
        silent = sum(u["enterprises"] - u["reported"] for u in summary(session, D, "street"))
        write_reminders(session, tmp_path / "催报清单.xlsx", street_code=JSL, day=D, user_name="街道甲")
    rows = [[c.value for c in row] for row in open_bytes(data, tmp_path)["漏报楼宇"].iter_rows(min_row=2)]
    assert sum(r[7] for r in rows) == silent
    unplaced = [r for r in rows if r[2] == "未登记楼宇"]
    assert [(r[1], r[7], r[8]) for r in unplaced] == [("江苏路街道", 1, "上海无楼有限公司")]
    assert rows[-1] == unplaced[-1], "listed after the buildings"

    ws = openpyxl.load_workbook(tmp_path / "催报清单.xlsx")["催报清单"]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert values[-1][1] == "未登记楼宇" and values[-1][6] == "上海无楼有限公司" and "直接联系企业" in values[-1][3]
    assert "1 栋楼宇、2 家企业" in ws["A2"].value and "其中 1 家未登记所在楼宇" in ws["A2"].value


def test_a_follow_up_is_printed_in_the_pages_words_in_the_workbook_and_on_the_reminder_list(loaded: str,
                                                                                        tmp_path: Path) -> None:
    """One vocabulary (schemas.labels.FOLLOW_UP_LABELS, the words the 漏报 page offers): the exports print them."""
    engine = make_engine(loaded)
    with Session(engine) as session:
        building = session.scalars(select(Building).where(Building.name == "华鑫大厦")).one()
        session.add(FollowUp(building_id=building.id, day=D, status="called", note="明天再打", set_by="街道甲",
                             set_at=datetime(2020, 2, 11, 9, 0)))
        session.commit()
        data = workbook_bytes(session, scope_code="310000", day=D, user_name="分析员甲")
        write_reminders(session, tmp_path / "催报清单.xlsx", street_code=JSL, day=D, user_name="街道甲")
    engine.dispose()
    word = FOLLOW_UP_LABELS["called"]
    missing = open_bytes(data, tmp_path)["漏报楼宇"]
    header = [c.value for c in missing[1]]
    huaxin = next([c.value for c in row] for row in missing.iter_rows(min_row=2) if row[2].value == "华鑫大厦")
    assert huaxin[header.index("跟进状态")] == word
    reminders = openpyxl.load_workbook(tmp_path / "催报清单.xlsx")["催报清单"]
    assert reminders.cell(4, 2).value == "华鑫大厦" and reminders.cell(4, 9).value == word
