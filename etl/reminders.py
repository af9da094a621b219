"""The reminder list (催报清单) of a street: silent enterprises by building, with whom to call, ready to print;
those of no registered building last, as one group (schemas.labels.UNPLACED).

One A4 landscape page wide, header rows repeated on every page, street, date and page numbers in the
header and footer, so that an official can print it and work down it by phone.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from etl import config
from etl.excel import Formats, display_width, open_workbook
from etl.export import missing_buildings
from etl.masking import as_shown
from etl.scope import load_scope
from schemas.labels import UNPLACED

HEADERS = ["序号", "楼宇", "地址", "业主/物业单位", "联系人", "联系电话", "未填报企业", "统一社会信用代码", "跟进状态", "备注"]
WIDTHS = [5, 18, 24, 18, 8, 14, 28, 21, 10, 16]


def write_reminders(session: Session, out: Path | IO[bytes], *, street_code: str, day: date, user_name: str,
                    contacts: bool = True) -> Path | IO[bytes]:
    """The list of one street; its owners' contacts unmasked unless ``contacts`` is False: it is made for the
    street's officials to phone them (`onenet remind`, run on the server), who see their street's contacts."""
    scope = load_scope(session, street_code)
    if scope.level != "street":
        raise ValueError(f"{street_code} is not a street: the reminder list is made per street")
    return write_reminder_sheet(out, street_name=scope.name, day=day, user_name=user_name,
                                buildings=missing_buildings(session, scope, day), contacts=contacts)


def write_reminder_sheet(out: Path | IO[bytes], *, street_name: str, day: date, user_name: str,
                         buildings: list[dict[str, Any]], contacts: bool, subject: str = "复工申报") -> Path | IO[bytes]:
    """The printed list of ``buildings`` (etl.export.missing_buildings' shape: name, address, owner, owner_contact,
    owner_phone, silent [(name, uscc)], follow_up, follow_up_note; ``id`` None for the unplaced) of a street;
    ``subject`` names what they have not answered (a collection's title, or 复工申报)."""
    workbook = open_workbook(out, streaming=False)  # merged building cells are written after their rows
    fmt = Formats(workbook)
    cell = workbook.add_format({"border": 1, "text_wrap": True, "valign": "top", "font_size": 10})
    group = workbook.add_format({"border": 1, "text_wrap": True, "valign": "top", "font_size": 10, "bold": True,
                                 "bg_color": "#F2F2F2"})
    sheet = workbook.add_worksheet("催报清单")
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(2)
    sheet.center_horizontally()
    sheet.set_header(f"&L&\"-,Bold\"{street_name} 催报清单&R统计日期 {day.isoformat()}")
    sheet.set_footer(f"&L导出：{user_name}  {config.local_now():%Y-%m-%d %H:%M}&R第 &P 页 / 共 &N 页")
    for i, w in enumerate(WIDTHS):
        sheet.set_column(i, i, w)
    silent_total = sum(len(b["silent"]) for b in buildings)
    unplaced = sum(len(b["silent"]) for b in buildings if b["id"] is None)
    n_buildings = sum(1 for b in buildings if b["id"] is not None)
    sheet.write_string(0, 0, f"{street_name} 未填报企业催报清单（{subject}，{day.isoformat()}）", fmt.title)
    sheet.write_string(1, 0, f"{n_buildings} 栋楼宇、{silent_total} 家企业截至当日未填报{subject}"
                             + (f"（其中 {unplaced} 家未登记所在楼宇，列于“{UNPLACED}”，请直接联系企业）" if unplaced else "")
                             + "；请联系楼宇业主督促填报，并在系统中记录跟进状态。", fmt.note)
    for i, h in enumerate(HEADERS):
        sheet.write_string(2, i, h, fmt.header)
    r = 3
    for n, b in enumerate(buildings, start=1):
        first = r
        for name, uscc in b["silent"]:
            sheet.set_row(r, _row_height(name))
            sheet.write_string(r, 6, name, cell)
            sheet.write_string(r, 7, uscc or "（无信用代码）", cell)
            r += 1
        owner = b["owner"] if b["id"] is not None else "（无楼宇业主，请直接联系企业）"
        values: list[Any] = [str(n), b["name"], b["address"], owner, *as_shown(b["owner_contact"], b["owner_phone"], contacts)]
        for c, value in enumerate(values):
            _merged(sheet, first, r - 1, c, value, group)
        _merged(sheet, first, r - 1, 8, b["follow_up"], cell)
        _merged(sheet, first, r - 1, 9, b["follow_up_note"], cell)
    if not buildings:
        sheet.write_string(r, 0, "当日没有未填报的企业。", fmt.text)
    workbook.close()
    return out


def _row_height(name: str) -> float:
    lines = max(1, -(-display_width(name) // (WIDTHS[6] - 1)))
    return 15 * lines


def _merged(sheet: Any, first: int, last: int, col: int, value: Any, fmt: Any) -> None:
    text = "" if value is None else str(value)
    if last > first:
        sheet.merge_range(first, col, last, col, text, fmt)
    else:
        sheet.write_string(first, col, text, fmt)


def reminder_bytes(session: Session, *, street_code: str, day: date, user_name: str, contacts: bool = True) -> bytes:
    buffer = io.BytesIO()
    write_reminders(session, buffer, street_code=street_code, day=day, user_name=user_name, contacts=contacts)
    return buffer.getvalue()
