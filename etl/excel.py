"""Writing workbooks for people: Chinese headers, frozen header row, filters, widths that fit, and no
formulas from data.

xlsxwriter's ``write_string`` stores text as text, so a cell that begins with = + - @ (or a tab or
carriage return) never becomes a formula; such cells also get Excel's quote prefix, so that editing
the cell later does not turn it into one either.  Workbooks stream (constant_memory): rows go to disk
as they are written, so a million-row sheet needs little memory.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import xlsxwriter

EXCEL_MAX_ROWS = 1_048_576
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
WIDTH_SAMPLE_ROWS = 500


def display_width(value: Any) -> int:
    """Columns of a fixed-width font the value needs: CJK characters take two."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | int | float | percent | date | datetime | bool


def open_workbook(target: Path | IO[bytes], streaming: bool = True) -> xlsxwriter.Workbook:
    """``streaming`` writes each row to disk once the next begins (rows must then come in order)."""
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        target = str(target)  # type: ignore[assignment]
    return xlsxwriter.Workbook(target, {"constant_memory": streaming, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False,
                                        "default_date_format": "yyyy-mm-dd"})


class Formats:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                           "valign": "vcenter"})
        self.text = workbook.add_format({})
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.int = workbook.add_format({"num_format": "#,##0"})
        self.float = workbook.add_format({"num_format": "0.0"})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.title = workbook.add_format({"bold": True, "font_size": 16})
        self.label = workbook.add_format({"bold": True})
        self.note = workbook.add_format({"italic": True, "font_color": "#7F7F7F"})


def write_cell(sheet: Any, r: int, c: int, value: Any, kind: str, fmt: Formats) -> None:
    if value is None:
        return
    if isinstance(value, bool) or kind == "bool":
        sheet.write_string(r, c, "是" if value else "否", fmt.text)
    elif kind == "percent" and isinstance(value, (int, float)):
        sheet.write_number(r, c, value, fmt.percent)
    elif isinstance(value, datetime):
        sheet.write_datetime(r, c, value, fmt.datetime if kind != "date" else fmt.date)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime.combine(value, datetime.min.time()), fmt.date)
    elif isinstance(value, (int, float)) and kind in ("int", "float", "percent"):
        sheet.write_number(r, c, value, fmt.int if kind == "int" else fmt.float)
    else:
        text = str(value)
        sheet.write_string(r, c, text, fmt.quoted if text.startswith(FORMULA_TRIGGERS) else fmt.text)


def write_sheet(workbook: xlsxwriter.Workbook, fmt: Formats, name: str, columns: Sequence[Column],
                rows: Iterable[Sequence[Any]], max_rows: int = EXCEL_MAX_ROWS) -> list[str]:
    """Stream rows into as many sheets as Excel's row limit needs ("返岗人员", "返岗人员 (2)" …).

    Column widths come from the first rows, which are held back until the widths are set, because
    a streaming sheet must know its widths before its first row is written.
    """
    iterator = iter(rows)
    sample = [row for _, row in zip(range(WIDTH_SAMPLE_ROWS), iterator)]
    widths = [display_width(c.header) for c in columns]
    for row in sample:
        for i, value in enumerate(row):
            shown = f"{value:.1%}" if columns[i].kind == "percent" and isinstance(value, float) else value
            widths[i] = max(widths[i], display_width(shown) if not isinstance(value, (date, datetime)) else 16)
    names: list[str] = []
    sheet, r = None, 0

    def start() -> Any:
        title = name if not names else f"{name} ({len(names) + 1})"
        names.append(title)
        ws = workbook.add_worksheet(title)
        for i, w in enumerate(widths):
            ws.set_column(i, i, min(max(w + 2, 6), 60))
        for i, col in enumerate(columns):
            ws.write_string(0, i, col.header, fmt.header)
        ws.freeze_panes(1, 0)
        return ws

    def finish(ws: Any, last: int) -> None:
        ws.autofilter(0, 0, max(last, 1), len(columns) - 1)

    sheet = start()
    for row in _chain(sample, iterator):
        if r + 1 >= max_rows:
            finish(sheet, r)
            sheet, r = start(), 0
        r += 1
        for i, value in enumerate(row):
            write_cell(sheet, r, i, value, columns[i].kind, fmt)
    finish(sheet, r)
    return names


def _chain(first: list[Any], rest: Iterable[Any]) -> Iterable[Any]:
    yield from first
    yield from rest


def write_table(path: Path, sheet_name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A one-sheet workbook of plain columns (`onenet rejects --out`)."""
    workbook = open_workbook(path)
    write_sheet(workbook, Formats(workbook), sheet_name,
                [Column(h, "int" if h in ("行号", "批次") else "text") for h in headers], rows)
    workbook.close()
