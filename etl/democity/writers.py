"""Write sheets the way departments do: title rows, merged two-row headers, several (and hidden)
sheets, blank rows, a 合计 row; as .xlsx (XlsxWriter), .xls (xlwt) or .csv (UTF-8, UTF-8 with BOM,
GBK).  Output is byte-for-byte reproducible: workbook timestamps are pinned.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PINNED_TIME = datetime(2020, 2, 1, 9, 0, 0)
XLS_MAX_ROWS = 65000


@dataclass
class Sheet:
    """One sheet: ``columns`` is the leaf header; ``groups`` (label, first, last) merges a group
    header over columns first..last (0-based, inclusive) in a row above the leaves."""

    name: str
    columns: list[str] = field(default_factory=list)
    data: pd.DataFrame | None = None  # object cells, columns in the order of ``columns``
    titles: list[str] = field(default_factory=list)
    groups: list[tuple[str, int, int]] = field(default_factory=list)
    total: list[Any] | None = None
    blank_after: list[int] = field(default_factory=list)  # data positions after which a blank row goes
    hidden: bool = False
    notes: list[str] = field(default_factory=list)  # a sheet of free text, no table
    text_columns: list[int] = field(default_factory=list)  # columns formatted as text (@) in Excel

    @property
    def width(self) -> int:
        return max(len(self.columns), 1)


def _header_rows(sheet: Sheet) -> list[list[Any]]:
    """The header as rows of cells (None where a merged cell continues)."""
    if not sheet.groups:
        return [list(sheet.columns)]
    upper: list[Any] = list(sheet.columns)
    lower: list[Any] = [None] * len(sheet.columns)
    for label, first, last in sheet.groups:
        for c in range(first, last + 1):
            lower[c] = sheet.columns[c]
            upper[c] = None
        upper[first] = label
    return [upper, lower]


def _rows(sheet: Sheet):
    """Data rows with blank rows inserted, as lists of cells."""
    blanks = set(sheet.blank_after)
    if sheet.data is None:
        return
    for pos, row in enumerate(sheet.data.itertuples(index=False, name=None)):
        yield list(row)
        if pos in blanks:
            yield None


# --- xlsx ------------------------------------------------------------------------------------------

def write_xlsx(path: Path, sheets: list[Sheet], numbers_as_ids: dict[tuple[str, int, int], float] | None = None) -> None:
    import xlsxwriter

    big = sum(len(s.data) if s.data is not None else 0 for s in sheets) > 20000
    wb = xlsxwriter.Workbook(str(path), {
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
        "constant_memory": big, "in_memory": not big,
    })
    wb.set_properties({"title": path.stem, "author": "onenet demo", "created": PINNED_TIME})
    title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    head_fmt = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1, "bg_color": "#DDEBF7"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    text_fmt = wb.add_format({"num_format": "@"})
    total_fmt = wb.add_format({"bold": True})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        if sheet.hidden:
            ws.hide()
        r = 0
        if sheet.notes:
            for line in sheet.notes:
                ws.write_string(r, 0, line)
                r += 1
            continue
        for title in sheet.titles:
            if sheet.width > 1:
                ws.merge_range(r, 0, r, sheet.width - 1, title, title_fmt)
            else:
                ws.write_string(r, 0, title, title_fmt)
            r += 1
        header = _header_rows(sheet)
        if len(header) == 2:
            grouped = {c for _, a, b in sheet.groups for c in range(a, b + 1)}
            # Row by row: a streaming (constant_memory) sheet flushes a row once the next is written,
            # so big sheets get no vertical merges (the label stands in the upper cell alone).
            for c, label in enumerate(sheet.columns):
                if c not in grouped:
                    if big:
                        ws.write_string(r, c, label, head_fmt)
                    else:
                        ws.merge_range(r, c, r + 1, c, label, head_fmt)
            for label, a, b in sheet.groups:
                if b > a:
                    ws.merge_range(r, a, r, b, label, head_fmt)
                else:
                    ws.write_string(r, a, label, head_fmt)
            for label, a, b in sheet.groups:
                for c in range(a, b + 1):
                    ws.write_string(r + 1, c, sheet.columns[c], head_fmt)
            r += 2
        else:
            for c, label in enumerate(header[0]):
                ws.write_string(r, c, label, head_fmt)
            r += 1
        for c in sheet.text_columns:
            ws.set_column(c, c, 20, text_fmt)
        for row in _rows(sheet):
            if row is not None:
                _write_xlsx_row(ws, r, row, date_fmt, dt_fmt)
            r += 1
        if sheet.total is not None:
            _write_xlsx_row(ws, r, sheet.total, date_fmt, dt_fmt, total_fmt)
            r += 1
        ws.set_column(0, sheet.width - 1, 14)
    wb.close()


def _write_xlsx_row(ws, r: int, row: list[Any], date_fmt, dt_fmt, fmt=None) -> None:
    for c, v in enumerate(row):
        if v is None:
            continue
        t = type(v)
        if t is str:
            ws.write_string(r, c, v, fmt)
        elif t is bool or t is np.bool_:
            ws.write_boolean(r, c, bool(v), fmt)
        elif t is int or t is float or t is np.int64 or t is np.float64:
            if v == v:  # NaN is an empty cell
                ws.write_number(r, c, v, fmt)
        elif t is datetime:
            ws.write_datetime(r, c, v, dt_fmt)
        elif t is date:
            ws.write_datetime(r, c, datetime(v.year, v.month, v.day), date_fmt)
        else:
            ws.write(r, c, v, fmt)


# --- xls -------------------------------------------------------------------------------------------

def write_xls(path: Path, sheets: list[Sheet]) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    title_style = xlwt.easyxf("font: bold on, height 280; align: horiz center")
    head_style = xlwt.easyxf("font: bold on; align: horiz center, vert center; borders: left thin, right thin, top thin, bottom thin")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    dt_style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    plain = xlwt.Style.default_style
    for sheet in sheets:
        ws = wb.add_sheet(sheet.name, cell_overwrite_ok=True)
        if sheet.hidden:
            ws.visibility = 1
        r = 0
        if sheet.notes:
            for line in sheet.notes:
                ws.write(r, 0, line)
                r += 1
            continue
        for title in sheet.titles:
            ws.write_merge(r, r, 0, sheet.width - 1, title, title_style)
            r += 1
        header = _header_rows(sheet)
        if len(header) == 2:
            grouped = {c for _, a, b in sheet.groups for c in range(a, b + 1)}
            for c, label in enumerate(sheet.columns):
                if c not in grouped:
                    ws.write_merge(r, r + 1, c, c, label, head_style)
            for label, a, b in sheet.groups:
                ws.write_merge(r, r, a, b, label, head_style)
                for c in range(a, b + 1):
                    ws.write(r + 1, c, sheet.columns[c], head_style)
            r += 2
        else:
            for c, label in enumerate(header[0]):
                ws.write(r, c, label, head_style)
            r += 1
        rows = list(_rows(sheet))
        if sheet.total is not None:
            rows.append(sheet.total)
        if r + len(rows) > XLS_MAX_ROWS:
            raise ValueError(f"{path.name}: too many rows for .xls")
        for row in rows:
            if row is not None:
                for c, v in enumerate(row):
                    if v is None:
                        continue
                    t = type(v)
                    if t is datetime:
                        ws.write(r, c, v, dt_style)
                    elif t is date:
                        ws.write(r, c, datetime(v.year, v.month, v.day), date_style)
                    elif t is np.int64:
                        ws.write(r, c, int(v), plain)
                    elif t is np.float64:
                        ws.write(r, c, float(v), plain)
                    else:
                        ws.write(r, c, v, plain)
            r += 1
    wb.save(str(path))


# --- csv -------------------------------------------------------------------------------------------

def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def write_csv(path: Path, sheet: Sheet, encoding: str, chunk_rows: int = 50_000) -> None:
    """One sheet as CSV; written in chunks so big files need little memory.  ``encoding`` is
    "utf-8", "utf-8-sig" or "gbk" (characters GBK lacks, such as NBSP, become U+3000)."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding

    def encode(text: str) -> bytes:
        if codec == "gbk":
            text = text.replace("\xa0", "\u3000")
        return text.encode(codec)

    width = sheet.width
    with path.open("wb") as fh:
        if encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        for title in sheet.titles:
            w.writerow([title] + [""] * (width - 1))
        for row in _header_rows(sheet):
            w.writerow([_csv_cell(v) for v in row])
        fh.write(encode(buf.getvalue()))
        if sheet.data is not None and len(sheet.data):
            blanks = sorted(set(sheet.blank_after))
            start = 0
            while start < len(sheet.data):
                stop = min(start + chunk_rows, len(sheet.data))
                part = sheet.data.iloc[start:stop]
                cuts = [b for b in blanks if start <= b < stop]
                pieces = []
                prev = start
                for b in cuts:
                    pieces.append(part.iloc[prev - start:b - start + 1])
                    pieces.append(None)
                    prev = b + 1
                pieces.append(part.iloc[prev - start:])
                for piece in pieces:
                    if piece is None:
                        fh.write(encode("," * (width - 1) + "\r\n"))
                    elif len(piece):
                        text = piece.to_csv(header=False, index=False, lineterminator="\r\n")
                        fh.write(encode(text))
                start = stop
        if sheet.total is not None:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n").writerow([_csv_cell(v) for v in sheet.total])
            fh.write(encode(buf.getvalue()))


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Object cells → CSV strings (None stays empty)."""
    out = {}
    for col in frame.columns:
        values = frame[col].to_numpy(dtype=object)
        out[col] = [v if (v is None or type(v) is str) else _csv_cell(v) for v in values]
    return pd.DataFrame(out, columns=frame.columns, dtype=object)
