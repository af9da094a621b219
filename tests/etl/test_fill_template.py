"""Reading a department's blank template as `onenet fill --check` does: a template never seen before, the five of
data/templates, and the ones that cannot be filled. Real .xlsx files made with openpyxl, as offices make them."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from etl.fill_template import TemplateError, open_template, plan_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "data" / "templates"
HEADER_FILL = "FFD9E1F2"
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WIDTHS = {"A": 6, "B": 16, "C": 10, "D": 14, "E": 11, "F": 12, "G": 12, "H": 18}
UNKNOWN = "防疫物资储备"
NOTE = "填表人：张三          审核人：          联系电话："
FIVE = {  # file → (unit, 合计 row, the columns it cannot know)
    "街道复工复产日报表.xlsx": ("street", 10, ["备注"]),
    "楼宇企业复工情况表.xlsx": ("building", 9, []),
    "返岗人员统计表.xlsx": ("district", 8, []),
    "重点企业复工台账.xlsx": ("enterprise", None, ["备注"]),
    "商铺开业情况表.xlsx": ("shop", None, []),
}


def unseen_template(path: Path, key: str = "街道", data_rows: int = 2) -> Path:
    """A template no one wrote a rule for: merged title and note rows, a two-row header with 街道 merged down and
    企业情况 / 人员情况 merged over their sub-headers, a column onenet cannot know, ``data_rows`` formatted blank
    rows, a 合计 row of formulas, a sign-off row, widths, a header fill, rates as 0.00%, landscape print setup,
    frozen panes and a second sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "复工统计"
    ws["A1"] = "长宁区防疫复工情况统计表"
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws["A2"] = "注：复工率＝已复工企业数÷企业数；请于每日16时前报送"
    for cells in ("A1:H1", "A2:H2", "A3:A4", "B3:B4", "C3:E3", "F3:G3", "H3:H4"):
        ws.merge_cells(cells)
    for ref, text in {"A3": "序号", "B3": key, "C3": "企业情况", "F3": "人员情况", "H3": UNKNOWN, "C4": "企业数",
                      "D4": "已复工企业数", "E4": "复工率", "F4": "返岗人员数", "G4": "隔离中人数"}.items():
        ws[ref] = text
    for row in ws.iter_rows(min_row=3, max_row=4, max_col=8):
        for cell in row:
            cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
            cell.border = BOX
            cell.font = Font(bold=True)
    total = 5 + data_rows
    for r in range(5, total + 1):
        for c in range(1, 9):
            ws.cell(r, c).border = BOX
        for letter in "CDFG":
            ws[f"{letter}{r}"].number_format = "0"
        ws[f"E{r}"].number_format = "0.00%"
    ws[f"A{total}"] = "合计"
    ws.merge_cells(f"A{total}:B{total}")
    last = total - 1
    for letter in "CDFG":
        ws[f"{letter}{total}"] = f"=SUM({letter}5:{letter}{last})" if data_rows else 0
    ws[f"E{total}"] = f'=IF(C{total}=0,"",D{total}/C{total})'
    ws[f"A{total + 1}"] = NOTE
    ws.merge_cells(f"A{total + 1}:H{total + 1}")
    for letter, width in WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.row_dimensions[3].height = 24
    ws.freeze_panes = "C5"
    ws.print_area = f"A1:H{total + 1}"
    ws.print_title_rows = "3:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    other = wb.create_sheet("物资")
    other.append(["物资名称", "数量"])
    other.append(["口罩", 1000])
    wb.save(path)
    return path


def plan_of(path: Path):  # type: ignore[no-untyped-def]
    return plan_template(open_template(path, path.name), path.name)


def test_an_unseen_template_is_understood_column_by_column(tmp_path: Path) -> None:
    plan = plan_of(unseen_template(tmp_path / "新表.xlsx"))
    assert (plan.sheet, plan.unit, plan.header_top, plan.header_rows) == ("复工统计", "street", 3, 2)
    assert (plan.first_row, plan.footer_start, plan.total_row) == (5, 7, 7)
    meanings = {c.letter: (c.meaning.role, c.meaning.name) if c.meaning else None for c in plan.columns}
    assert meanings == {"A": ("sequence", "sequence"), "B": ("key", "name"), "C": ("figure", "enterprises"),
                        "D": ("figure", "reopened"), "E": ("figure", "reopening_rate"),
                        "F": ("figure", "returning_staff"), "G": ("figure", "in_quarantine"), "H": None}
    assert [(c.letter, c.label) for c in plan.unrecognised] == [("H", UNKNOWN)]
    described = {letter: words for letter, _, words in plan.describe()}
    assert described["B"] == "每行一个街道（名称）" and described["E"] == "指标：复工率"
    assert described["H"].startswith("未识别")


def test_a_district_key_makes_a_row_per_district(tmp_path: Path) -> None:
    assert plan_of(unseen_template(tmp_path / "区.xlsx", key="区")).unit == "district"


@pytest.mark.parametrize("name", list(FIVE))
def test_each_shipped_template_is_recognised_but_its_remarks_column(name: str) -> None:
    unit, total, unknown = FIVE[name]
    plan = plan_of(TEMPLATES / name)
    assert plan.unit == unit and plan.total_row == total
    assert [c.label for c in plan.unrecognised] == unknown
    assert plan.columns[0].meaning is not None and plan.columns[0].meaning.role == "sequence"
    assert plan.footer_start is not None and plan.footer_start > plan.first_row, "blank formatted rows to replace"


def test_shipped_templates_ask_for_what_their_headers_say() -> None:
    daily = {c.label: c.meaning.name for c in plan_of(TEMPLATES / "街道复工复产日报表.xlsx").recognised}
    assert daily["已开业商铺"] == "shops_open" and daily["开业率"] == "shop_reopening_rate"
    assert daily["返岗率"] == "staff_return_rate" and daily["员工总数"] == "staff_total"
    building = {c.label: c.meaning.name for c in plan_of(TEMPLATES / "楼宇企业复工情况表.xlsx").recognised}
    assert building["联系人"] == "owner_contact" and building["联系电话"] == "owner_phone"
    assert building["填报率"] == "reporting_coverage" and building["楼宇业主"] == "owner"
    ledger = {c.label: c.meaning.name for c in plan_of(TEMPLATES / "重点企业复工台账.xlsx").recognised}
    assert ledger["统一社会信用代码"] == "uscc" and ledger["联系人"] == "contact_name"
    assert ledger["复工日期"] == "actual_reopen_date" and ledger["是否复工"] == "reopened"
    shops = plan_of(TEMPLATES / "商铺开业情况表.xlsx")
    assert (shops.header_top, shops.header_rows) == (2, 1)
    assert {c.label: c.meaning.name for c in shops.recognised}["是否开业"] == "reopened"


def test_a_template_without_data_rows_between_header_and_total(tmp_path: Path) -> None:
    plan = plan_of(unseen_template(tmp_path / "紧凑.xlsx", data_rows=0))
    assert (plan.first_row, plan.footer_start, plan.total_row) == (5, 5, 5)


def test_a_table_on_the_second_sheet_after_its_instructions(tmp_path: Path) -> None:
    """A 填报说明 sheet first, listing the columns in a little table of its own (栏目 | 填写要求): the table to
    fill is the sheet whose header is a report's, not the first sheet that mentions a 街道."""
    path = unseen_template(tmp_path / "两页.xlsx")
    wb = openpyxl.load_workbook(path)
    notes = wb.create_sheet("填报说明", 0)
    for line in (["填报说明"], ["一、每个街道填写一行，每日16:00前报送。"], [], ["栏目", "填写要求"],
                 ["街道", "填写街道全称"], ["企业数", "辖区登记企业数"], ["复工率", "已复工企业数÷企业数"]):
        notes.append(line)
    wb.save(path)
    plan = plan_of(path)
    assert (plan.sheet, plan.unit, plan.header_top, plan.total_row) == ("复工统计", "street", 3, 7)


def test_a_sheet_without_a_key_column_is_refused_naming_the_file(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["物资统计表"])
    wb.active.append(["物资名称", "数量", "单位"])
    wb.active.append(["口罩", 100, "只"])
    wb.save(tmp_path / "物资.xlsx")
    with pytest.raises(TemplateError, match=r"^物资\.xlsx: .*找不到表头.*区、街道、楼宇"):
        plan_of(tmp_path / "物资.xlsx")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("旧表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "另存为 .xlsx"),
    ("表.csv", "序号,街道,企业数\n".encode(), "另存为 .xlsx"),
    ("假的.xlsx", "序号,街道,企业数\n".encode(), "无法作为 Excel 工作簿打开"),
])
def test_a_file_that_is_not_an_xlsx_workbook_says_what_to_do(tmp_path: Path, name: str, content: bytes,
                                                             words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TemplateError, match=rf"^{name}: .*{words}"):
        open_template(path, name)


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="没有.xlsx: 文件不存在"):
        open_template(tmp_path / "没有.xlsx", "没有.xlsx")


@pytest.mark.parametrize(("headers", "unit", "names"), [
    (["楼宇名称", "楼宇联系人", "楼宇联系电话", "物业联系人"], "building", ["owner_contact", "owner_phone", "owner_contact"]),
    (["企业名称", "企业联系人", "企业联系电话", "是否已填报", "最近填报时间"], "enterprise",
     ["contact_name", "contact_phone", "reported", "submitted_at"]),
])
def test_headers_in_the_words_check_prints_are_recognised(tmp_path: Path, headers: list[str], unit: str,
                                                          names: list[str]) -> None:
    """What --check calls a column (楼宇联系人, 企业联系电话, 是否已填报, 最近填报时间) is a header a department writes."""
    wb = openpyxl.Workbook()
    wb.active.append(headers)
    wb.save(tmp_path / "t.xlsx")
    plan = plan_of(tmp_path / "t.xlsx")
    assert plan.unit == unit and not plan.unrecognised
    assert [c.meaning.name for c in plan.columns[1:]] == names
