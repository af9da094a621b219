"""Writing workbooks for people: Chinese headers, frozen header row, filters, and no formulas from data.

xlsxwriter's ``write_string`` stores text as text, so a cell that begins with = + - @ (or a tab or
carriage return) can never become a formula, whatever the data holds.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter


def display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_table(path: Path, sheet_name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet(sheet_name)
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    time_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    widths = [display_width(h) for h in headers]
    for c, h in enumerate(headers):
        sheet.write_string(0, c, h, bold)
    n = 0
    for n, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_string(n, c, "是" if value else "否")
            elif isinstance(value, (int, float)):
                sheet.write_number(n, c, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(n, c, value, time_fmt)
            elif isinstance(value, date):
                sheet.write_datetime(n, c, datetime.combine(value, datetime.min.time()), date_fmt)
            else:
                sheet.write_string(n, c, str(value))
            if n <= 2000:
                widths[c] = max(widths[c], display_width(value))
    for c, w in enumerate(widths):
        sheet.set_column(c, c, min(max(w + 2, 6), 60))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(n, 1), len(headers) - 1)
    workbook.close()
