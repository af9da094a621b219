"""Build the blank report templates of data/templates/ that `onenet fill` is exercised on.

Run with the project venv: `.venv/bin/python data/templates/build_templates.py`. The five workbooks
are rewritten byte for byte identically on every run: workbook properties carry fixed dates and the
zip archive is repacked with fixed entry timestamps (openpyxl stamps both with the current time).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook.properties import CalcProperties
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2020, 2, 10, 9, 0, 0)
ZIP_TIME = (2020, 2, 10, 9, 0, 0)
AUTHOR = "XX区复工复产工作专班"

BODY_FONT = "宋体"
TITLE_FONT = "黑体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=False)
RIGHT = Alignment(horizontal="right", vertical="center")

INT = "0"
TEXT = "@"
GENERAL = "General"
DATE_ISO = "yyyy-mm-dd"
DATE_CN = 'yyyy"年"m"月"d"日"'
SIGN_LINE = "填表人：                    审核人：                    联系电话："


@dataclass(frozen=True)
class Column:
    name: str
    width: float
    number_format: str = GENERAL
    group: str | None = None
    summed: bool = False
    ratio_of: tuple[str, str] | None = None
    choices: str | None = None


@dataclass(frozen=True)
class Template:
    title: str
    sheet_name: str
    columns: list[Column]
    data_rows: int
    total_row: bool
    landscape: bool
    header_fill: str
    freeze_after: str
    subtitle: tuple[str, ...] = ()
    notes: tuple[str, ...] = (SIGN_LINE,)
    instructions: tuple[str, ...] = ()


def rate(name: str, numerator: str, denominator: str, group: str | None, fmt: str) -> Column:
    return Column(name, 10, fmt, group, ratio_of=(numerator, denominator))


def count(name: str, width: float = 11, group: str | None = None) -> Column:
    return Column(name, width, INT, group, summed=True)


TEMPLATES: list[Template] = [
    Template(
        title="街道复工复产日报表",
        sheet_name="日报表",
        columns=[
            Column("序号", 6, INT),
            Column("街道", 16, TEXT),
            count("企业总数", group="企业情况"),
            count("已复工企业数", group="企业情况"),
            rate("复工率", "已复工企业数", "企业总数", "企业情况", "0.0%"),
            count("商铺数", group="商铺情况"),
            count("已开业商铺", group="商铺情况"),
            rate("开业率", "已开业商铺", "商铺数", "商铺情况", "0.0%"),
            count("员工总数", group="员工情况"),
            count("已返岗员工数", group="员工情况"),
            rate("返岗率", "已返岗员工数", "员工总数", "员工情况", "0.0%"),
            Column("备注", 18, TEXT),
        ],
        data_rows=5,
        total_row=True,
        landscape=True,
        header_fill="D9E1F2",
        freeze_after="B",
        subtitle=("填报单位：（盖章）                              填报日期：      年    月    日",),
        notes=(
            "注：复工率＝已复工企业数÷企业总数；开业率＝已开业商铺÷商铺数；返岗率＝已返岗员工数÷员工总数。",
            SIGN_LINE,
        ),
    ),
    Template(
        title="楼宇企业复工情况表",
        sheet_name="楼宇复工",
        columns=[
            Column("序号", 6, INT),
            Column("街道", 14, TEXT),
            Column("楼宇名称", 24, TEXT),
            Column("楼宇业主", 22, TEXT),
            Column("联系人", 10, TEXT),
            Column("联系电话", 15, TEXT),
            count("企业数", 9),
            count("已复工企业数", 11),
            rate("复工率", "已复工企业数", "企业数", None, "0.00%"),
            count("已填报企业数", 11),
            rate("填报率", "已填报企业数", "企业数", None, "0.00%"),
        ],
        data_rows=5,
        total_row=True,
        landscape=True,
        header_fill="E7E6E6",
        freeze_after="C",
        subtitle=("填报单位：（盖章）", "填报日期：      年    月    日"),
    ),
    Template(
        title="返岗人员统计表",
        sheet_name="返岗人员",
        columns=[
            Column("序号", 6, INT),
            Column("区", 12, TEXT),
            count("返岗人员数", 12),
            count("隔离中人数", 12),
            count("员工总数", 12),
            count("已返岗员工数", 13),
            rate("返岗率", "已返岗员工数", "员工总数", None, "0.0%"),
        ],
        data_rows=4,
        total_row=True,
        landscape=False,
        header_fill="DDEBF7",
        freeze_after="",
        subtitle=("填报单位：（盖章）", "单位：人"),
        instructions=(
            "一、本表由各区复工复产工作专班汇总填报，每个区填写一行，每日16:00前报送。",
            "二、“返岗人员数”指截至填报日已返回本市并到岗的人员数；“隔离中人数”指其中正在居家或集中隔离观察的人数。",
            "三、“员工总数”“已返岗员工数”按辖区内企业申报数汇总填写，返岗率＝已返岗员工数÷员工总数。",
            "四、请勿修改表头、增删列或调整列顺序；合计行为公式自动计算，请保留。",
            "五、数据应与区级台账一致，如有出入请在报送时另附说明。",
            "六、联系人：XX区复工复产工作专班，联系电话：XXXX-XXXXXXXX。",
        ),
    ),
    Template(
        title="重点企业复工台账",
        sheet_name="台账",
        columns=[
            Column("序号", 6, INT),
            Column("企业名称", 30, TEXT),
            Column("统一社会信用代码", 22, TEXT),
            Column("所属街道", 13, TEXT),
            Column("所在楼宇", 20, TEXT),
            Column("行业", 12, TEXT),
            Column("是否复工", 9, TEXT, choices='"是,否"'),
            Column("复工日期", 12, DATE_ISO),
            Column("员工总数", 9, INT),
            Column("已返岗人数", 10, INT),
            Column("联系人", 9, TEXT),
            Column("联系电话", 14, TEXT),
            Column("备注", 16, TEXT),
        ],
        data_rows=5,
        total_row=False,
        landscape=True,
        header_fill="D9E1F2",
        freeze_after="B",
        subtitle=("填报单位：（盖章）                              截至日期：      年    月    日",),
        notes=(
            "注：“是否复工”填“是”或“否”；统一社会信用代码为18位，请按营业执照填写。",
            SIGN_LINE,
        ),
    ),
    Template(
        title="商铺开业情况表",
        sheet_name="Sheet1",
        columns=[
            Column("序号", 6, INT),
            Column("街道", 14, TEXT),
            Column("店铺名称", 26, TEXT),
            Column("经营地址", 34, TEXT),
            Column("是否开业", 9, TEXT, choices='"是,否"'),
            Column("开业日期", 16, DATE_CN),
            Column("联系电话", 15, TEXT),
        ],
        data_rows=3,
        total_row=False,
        landscape=False,
        header_fill="E2EFDA",
        freeze_after="",
    ),
]


def body_font(bold: bool = False, size: float = 11) -> Font:
    return Font(name=BODY_FONT, size=size, bold=bold)


def style_box(ws: Worksheet, row: int, first: int, last: int, **styles: object) -> None:
    for col in range(first, last + 1):
        cell = ws.cell(row=row, column=col)
        for name, value in styles.items():
            setattr(cell, name, value)


def write_title(ws: Worksheet, tpl: Template, width: int) -> int:
    ws.cell(row=1, column=1, value=tpl.title).font = Font(name=TITLE_FONT, size=18, bold=True)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.row_dimensions[1].height = 36
    if not tpl.subtitle:
        return 2
    if len(tpl.subtitle) == 1:
        spans = [(1, width, tpl.subtitle[0], LEFT)]
    else:
        middle = width // 2 + 1
        spans = [(1, middle - 1, tpl.subtitle[0], LEFT), (middle, width, tpl.subtitle[1], RIGHT)]
    for first, last, text, align in spans:
        cell = ws.cell(row=2, column=first, value=text)
        cell.font = body_font()
        cell.alignment = align
        ws.merge_cells(start_row=2, start_column=first, end_row=2, end_column=last)
    ws.row_dimensions[2].height = 22
    return 3


def write_header(ws: Worksheet, tpl: Template, top: int) -> int:
    """Write the header from row `top`; return the number of header rows (1 or 2)."""
    grouped = any(col.group for col in tpl.columns)
    depth = 2 if grouped else 1
    fill = PatternFill("solid", fgColor=tpl.header_fill)
    for row in range(top, top + depth):
        style_box(ws, row, 1, len(tpl.columns), font=body_font(bold=True), alignment=CENTER,
                  border=BORDER, fill=fill)
        ws.row_dimensions[row].height = 24 if grouped else 32
    index = 0
    while index < len(tpl.columns):
        col = tpl.columns[index]
        number = index + 1
        if col.group is None:
            ws.cell(row=top, column=number, value=col.name)
            if grouped:
                ws.merge_cells(start_row=top, start_column=number, end_row=top + 1, end_column=number)
            index += 1
            continue
        span = 1
        while index + span < len(tpl.columns) and tpl.columns[index + span].group == col.group:
            span += 1
        ws.cell(row=top, column=number, value=col.group)
        ws.merge_cells(start_row=top, start_column=number, end_row=top, end_column=number + span - 1)
        for offset in range(span):
            ws.cell(row=top + 1, column=number + offset, value=tpl.columns[index + offset].name)
        index += span
    return depth


def write_data_rows(ws: Worksheet, tpl: Template, first: int) -> None:
    for row in range(first, first + tpl.data_rows):
        for number, col in enumerate(tpl.columns, start=1):
            cell = ws.cell(row=row, column=number)
            cell.font = body_font()
            cell.border = BORDER
            cell.alignment = CENTER
            cell.number_format = col.number_format
        ws.row_dimensions[row].height = 20
    for number, col in enumerate(tpl.columns, start=1):
        if col.choices:
            letter = get_column_letter(number)
            rule = DataValidation(type="list", formula1=col.choices, allow_blank=True,
                                  showErrorMessage=True, error="请填写“是”或“否”", errorTitle="输入有误")
            rule.add(f"{letter}{first}:{letter}{first + tpl.data_rows - 1}")
            ws.add_data_validation(rule)


def write_total_row(ws: Worksheet, tpl: Template, row: int, first: int, last: int) -> None:
    letters = {col.name: get_column_letter(n) for n, col in enumerate(tpl.columns, start=1)}
    style_box(ws, row, 1, len(tpl.columns), font=body_font(bold=True), border=BORDER, alignment=CENTER)
    ws.cell(row=row, column=1, value="合计")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
    for number, col in enumerate(tpl.columns, start=1):
        cell = ws.cell(row=row, column=number)
        cell.number_format = col.number_format
        letter = letters[col.name]
        if col.summed:
            cell.value = f"=SUM({letter}{first}:{letter}{last})"
        elif col.ratio_of:
            top, bottom = (f"{letters[name]}{row}" for name in col.ratio_of)
            cell.value = f'=IF({bottom}=0,"",{top}/{bottom})'
    ws.row_dimensions[row].height = 22


def write_notes(ws: Worksheet, tpl: Template, row: int) -> int:
    for text in tpl.notes:
        cell = ws.cell(row=row, column=1, value=text)
        cell.font = body_font(size=10)
        cell.alignment = Alignment(horizontal="left", vertical="center")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(tpl.columns))
        ws.row_dimensions[row].height = 22
        row += 1
    return row - 1


def set_print(ws: Worksheet, tpl: Template, header_top: int, header_bottom: int, last_row: int) -> None:
    last_letter = get_column_letter(len(tpl.columns))
    ws.print_area = f"A1:{last_letter}{last_row}"
    ws.print_title_rows = f"{header_top}:{header_bottom}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if tpl.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddHeader.right.text = AUTHOR
    ws.oddHeader.right.size = 9
    ws.oddHeader.right.font = BODY_FONT
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9
    ws.oddFooter.center.font = BODY_FONT


def write_instructions(wb: Workbook, lines: tuple[str, ...]) -> None:
    ws = wb.create_sheet("填报说明")
    ws.column_dimensions["A"].width = 68
    ws["A1"] = "填报说明"
    ws["A1"].font = Font(name=TITLE_FONT, size=14, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    for row, text in enumerate(lines, start=2):
        cell = ws.cell(row=row, column=1, value=text)
        cell.font = body_font()
        cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
        ws.row_dimensions[row].height = 36
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.print_area = f"A1:A{len(lines) + 1}"


def build(tpl: Template) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = tpl.sheet_name
    width = len(tpl.columns)
    header_top = write_title(ws, tpl, width)
    depth = write_header(ws, tpl, header_top)
    header_bottom = header_top + depth - 1
    first_data = header_bottom + 1
    last_data = first_data + tpl.data_rows - 1
    write_data_rows(ws, tpl, first_data)
    table_end = last_data
    if tpl.total_row:
        table_end += 1
        write_total_row(ws, tpl, table_end, first_data, last_data)
    last_row = write_notes(ws, tpl, table_end + 1)
    for number, col in enumerate(tpl.columns, start=1):
        ws.column_dimensions[get_column_letter(number)].width = col.width
    frozen_columns = column_index_from_string(tpl.freeze_after) if tpl.freeze_after else 0
    ws.freeze_panes = f"{get_column_letter(frozen_columns + 1)}{first_data}"
    set_print(ws, tpl, header_top, header_bottom, last_row)
    if tpl.instructions:
        write_instructions(wb, tpl.instructions)
    wb.active = 0
    wb.calculation = CalcProperties(fullCalcOnLoad=True)
    props = wb.properties
    props.title = tpl.title
    props.creator = AUTHOR
    props.lastModifiedBy = AUTHOR
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    return wb


def save_deterministic(wb: Workbook, path: Path) -> None:
    """Save, then repack the archive with fixed timestamps and the fixed modified date restored."""
    buffer = io.BytesIO()
    wb.save(buffer)
    wb.properties.modified = FIXED_TIME
    core = tostring(wb.properties.to_tree())
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = core if info.filename == "docProps/core.xml" else src.read(info.filename)
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, data)
    path.write_bytes(out.getvalue())


def main() -> None:
    for tpl in TEMPLATES:
        path = HERE / f"{tpl.title}.xlsx"
        save_deterministic(build(tpl), path)
        print(path.relative_to(HERE.parent.parent))


if __name__ == "__main__":
    main()
