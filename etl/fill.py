"""Filling a department's report template from the database (`onenet fill`, the dashboard's 按模板导出).

The template is opened with openpyxl, which keeps what a department put in it: styles, column widths, the
merged title, print setup, frozen panes and any other sheet. Its rows are not written through openpyxl,
which holds every cell in memory: they are streamed as sheet XML to a temporary file and spliced into the
saved workbook in place of one marker row. Python so holds one row at a time, whatever the size: filling
a template of 300,000 enterprises took 0.72× the time of xlsxwriter's constant-memory mode writing the same
rows, and 302 MB above its start, SQLite's page cache (benchmarks/bench_fill.py).

Cells are written as xlsxwriter writes them (etl.excel): text as inline strings, so that no value ever
becomes a formula, with Excel's quote prefix on text that begins like one; dates as dates; rates as numbers
with the template's own number format, else 0.0%.
"""
from __future__ import annotations

import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from etl.excel import FORMULA_TRIGGERS
from etl.figures import COUNTS, with_rates
from etl.fill_rows import rows_for
from etl.fill_template import TemplatePlan, open_template, plan_template
from etl.scope import Scope, load_scope
from etl.text import strip_controls
from schemas.fill_columns import UNIT_LABELS

DEFAULT_FORMATS = {"percent": "0.0%", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
NOTE_SHEET = "说明"
EXCEL_EPOCH = datetime(1899, 12, 30)
ZIP64_ABOVE = 1 << 30
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


@dataclass(frozen=True)
class FillResult:
    plan: TemplatePlan
    rows: int
    day: date
    scope_name: str
    total_row: int | None  # where the 合计 row ended up


@dataclass(frozen=True)
class _Column:
    letter: str
    plain: int  # style id
    quoted: int  # the same style with Excel's quote prefix
    name: str | None  # key of the row dict; None: left empty
    sequence: bool


def fill_template(session: Session, template: Path | IO[bytes], out: Path | IO[bytes], *, scope_code: str, day: date,
                  personal: bool = False, template_name: str | None = None,
                  progress: Callable[[int], None] | None = None, progress_every: int = 50_000) -> FillResult:
    """Write ``template`` filled for ``scope_code`` on ``day`` to ``out``; personal data masked unless ``personal``.

    Raises etl.fill_template.TemplateError (a template that cannot be read or has no recognisable header) and
    etl.fill_rows.OutOfScope (rows coarser than the scope), each with what to do."""
    name = template_name or (template.name if isinstance(template, Path) else "模板")
    workbook = open_template(template, name)
    plan = plan_template(workbook, name)
    scope = load_scope(session, scope_code)
    rows = rows_for(session, plan.unit, scope, day, personal)
    count, total_row = splice_rows(workbook, plan, rows, out, progress=progress, progress_every=progress_every,
                                   before_save=lambda n: _note_sheet(workbook, plan, name, scope, day, n, personal))
    return FillResult(plan, count, day, scope.name, total_row)


def splice_rows(workbook: Workbook, plan: TemplatePlan, rows: Iterable[dict[str, Any]], out: Path | IO[bytes], *,
                progress: Callable[[int], None] | None = None, progress_every: int = 50_000,
                before_save: Callable[[int], None] | None = None) -> tuple[int, int | None]:
    """Write ``rows`` (dicts keyed by each column's ``meaning.name``; a column without a meaning stays empty) into
    the template's sheet from the row under its header, its footer moved below them and its 合计 row summed, and
    save the workbook to ``out``. ``before_save`` gets the row count before the workbook is saved (a note sheet).
    Returns (rows written, where the 合计 row ended up)."""
    ws = workbook[plan.sheet]
    columns, height = _columns(workbook, ws, plan), ws.row_dimensions[plan.first_row].height
    with tempfile.TemporaryFile() as data:
        count, totals = _write_rows(data, rows, plan, columns, height, progress, progress_every)
        total_row = _make_room(ws, plan, count)
        if total_row is not None:
            _write_totals(ws, plan, total_row, totals)
        if before_save is not None:
            before_save(count)
        _splice(workbook, plan, data, out)
    return count, total_row


def _columns(workbook: Workbook, ws: Worksheet, plan: TemplatePlan) -> list[_Column]:
    """Each column's data style: the template's first data row's, with a number format for rates and dates
    where it has none. Style ids come from a scratch sheet, so the template's own cells stay as they are."""
    scratch = workbook.create_sheet()
    has_data_row = plan.footer_start is None or plan.footer_start > plan.first_row
    out = []
    for i, column in enumerate(plan.columns, start=1):
        cell = scratch.cell(1, i)
        source = ws.cell(plan.first_row, column.index) if has_data_row else None
        if source is not None and source.has_style:
            for attribute in ("font", "border", "fill", "number_format", "alignment", "protection"):
                setattr(cell, attribute, copy(getattr(source, attribute)))
        meaning = column.meaning
        kind = meaning.kind if meaning else "text"
        if kind in DEFAULT_FORMATS and cell.number_format == "General":
            cell.number_format = DEFAULT_FORMATS[kind]
        plain = cell.style_id
        cell.quotePrefix = True
        out.append(_Column(column.letter, plain, cell.style_id, meaning.name if meaning else None,
                           meaning is not None and meaning.role == "sequence"))
    workbook.remove(scratch)
    return out


def _cell(ref: str, value: Any, column: _Column) -> str:
    if value is None:
        return f'<c r="{ref}" s="{column.plain}"/>'
    if isinstance(value, bool):
        value = "是" if value else "否"
    elif isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return f'<c r="{ref}" s="{column.plain}"/>'
        return f'<c r="{ref}" s="{column.plain}"><v>{value}</v></c>'
    if isinstance(value, datetime):
        return f'<c r="{ref}" s="{column.plain}"><v>{(value - EXCEL_EPOCH).total_seconds() / 86400}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{column.plain}"><v>{(value - EXCEL_EPOCH.date()).days}</v></c>'
    text = strip_controls(str(value))
    style = column.quoted if text.startswith(FORMULA_TRIGGERS) else column.plain
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _write_rows(data: IO[bytes], rows: Iterable[dict[str, Any]], plan: TemplatePlan, columns: list[_Column],
                height: float | None, progress: Callable[[int], None] | None = None,
                progress_every: int = 50_000) -> tuple[int, dict[str, Any]]:
    """Stream the rows as sheet XML; return how many, and the 合计 of each column that has one."""
    counts = dict.fromkeys(COUNTS, 0)
    sums: dict[str, float] = {}
    summed = [c.meaning.name for c in plan.recognised if c.meaning and c.meaning.role == "attribute"
              and c.meaning.kind in ("int", "bool")]  # counts and yes/no; never coordinates
    by_figure = plan.unit in ("district", "street", "building")
    row_attrs = f' ht="{height}" customHeight="1"' if height else ""
    count = 0
    buffer: list[str] = []
    for count, row in enumerate(rows, start=1):
        r = plan.first_row + count - 1
        buffer.append(f'<row r="{r}"{row_attrs}>')
        buffer.extend(_cell(f"{c.letter}{r}", count if c.sequence else (row.get(c.name) if c.name else None), c)
                      for c in columns)
        buffer.append("</row>")
        if by_figure:
            for key in COUNTS:
                counts[key] += row.get(key) or 0
        for key in summed:
            value = row.get(key)
            if value is not None:
                sums[key] = sums.get(key, 0) + (int(value) if isinstance(value, bool) else value)
        if progress is not None and count % progress_every == 0:
            progress(count)
        if len(buffer) > 20_000:
            data.write("".join(buffer).encode())
            buffer.clear()
    data.write("".join(buffer).encode())
    return count, ({**sums, **with_rates(counts)} if by_figure else sums)


def _make_room(ws: Worksheet, plan: TemplatePlan, count: int) -> int | None:
    """Clear the template's own data rows and move what is below them (合计, notes) under ``count`` rows;
    merged ranges, row heights, the print area, the filter, drop-downs and conditional formats move with them
    (the last two stretched over the written rows). Returns the 合计 row."""
    first, taken = plan.first_row, max(count, 1)
    footer = plan.footer_start if plan.footer_start is not None else ws.max_row + 1
    delta = first + taken - footer
    heights = {r: d.height for r, d in ws.row_dimensions.items() if r >= footer and d.height}
    for merged in list(ws.merged_cells.ranges):
        if first <= merged.min_row < footer:
            ws.merged_cells.remove(merged)
        elif merged.min_row >= footer:
            merged.shift(0, delta)
    if footer > first:
        ws.delete_rows(first, footer - first)
    ws.insert_rows(first, taken)
    for r in heights:
        ws.row_dimensions[r].height = None
    for r, h in heights.items():
        ws.row_dimensions[r + delta].height = h
    ws.cell(first, plan.columns[0].index).value = 0  # the marker row, replaced by the streamed rows
    if ws.print_area:
        area = ws.print_area.split("!")[-1].replace("$", "")
        min_col, min_row, max_col, max_row = range_boundaries(area)
        if max_row >= first - 1:
            ws.print_area = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max(max_row + delta, first + taken - 1)}"
    for validation in ws.data_validations.dataValidation:
        validation.sqref = _stretched(validation.sqref, first, footer, first + taken - 1, delta)
    formats, ws.conditional_formatting = ws.conditional_formatting, ConditionalFormattingList()
    for formatting in formats:
        for rule in formatting.rules:
            ws.conditional_formatting.add(_stretched(formatting.sqref, first, footer, first + taken - 1, delta), rule)
    if ws.auto_filter.ref:
        min_col, min_row, max_col, _ = range_boundaries(ws.auto_filter.ref)
        ws.auto_filter.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{first + taken - 1}"
    return plan.total_row + delta if plan.total_row is not None else None


def _stretched(sqref: Any, first: int, footer: int, last: int, delta: int) -> str:
    """A drop-down's or conditional format's cell ranges after the fill: over the data rows it covers all written
    rows; below them it moves."""
    ranges = []
    for part in str(sqref).split():
        min_col, min_row, max_col, max_row = range_boundaries(part)
        if min_row >= footer:
            min_row, max_row = min_row + delta, max_row + delta
        elif max_row >= first:
            min_row, max_row = min(min_row, first), max(last, min(max_row, first))
        ranges.append(f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}")
    return " ".join(ranges)


def _write_totals(ws: Worksheet, plan: TemplatePlan, row: int, totals: dict[str, Any]) -> None:
    """The 合计 row: sums of the rows, rates from the summed numerator and denominator; its formulas go."""
    named = {c.index: c.meaning.name for c in plan.recognised if c.meaning and c.meaning.role in ("figure", "attribute")}
    for column in plan.columns:
        cell = ws.cell(row, column.index)
        if column.index in named and named[column.index] in totals:
            cell.value = totals[named[column.index]]
            if column.meaning and column.meaning.kind == "percent" and cell.number_format == "General":
                cell.number_format = DEFAULT_FORMATS["percent"]
        elif isinstance(cell.value, str) and cell.value.startswith("="):
            cell.value = None


def _put(ws: Worksheet, row: int, column: int, value: Any) -> None:
    cell = ws.cell(row, column, value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def _note_sheet(workbook: Workbook, plan: TemplatePlan, name: str, scope: Scope, day: date, count: int,
                personal: bool) -> None:
    """The 说明 sheet: what was filled, how each column was understood, what was left empty and why."""
    title = NOTE_SHEET if NOTE_SHEET not in workbook.sheetnames else "填报说明（onenet）"
    ws = workbook.create_sheet(title)
    lines: list[list[Any]] = [
        ["onenet 按模板填报说明"], [],
        ["模板", name], ["工作表", plan.sheet], ["数据日期", day.isoformat()], ["范围", scope.name],
        ["每行", f"一个{UNIT_LABELS[plan.unit]}（共 {count} 行）"],
        ["个人信息", "未脱敏（已授权）" if personal else "联系人、电话已脱敏"],
    ]
    if plan.total_row is not None:
        lines.append(["合计行", "各行之和；比率由合计的分子、分母重新计算，不是各行比率的平均"])
    lines += [[], ["列", "表头", "取值"], *[list(d) for d in plan.describe()]]
    unknown = plan.unrecognised
    lines += [[], ["未识别的列", "、".join(f"{c.letter} {c.label}" for c in unknown) + "：已留空，请手工填写" if unknown else "无"]]
    for r, line in enumerate(lines, start=1):
        for c, value in enumerate(line, start=1):
            _put(ws, r, c, value)
    ws.cell(1, 1).font = Font(bold=True, sz=14)
    for letter, width in (("A", 14), ("B", 28), ("C", 60)):
        ws.column_dimensions[letter].width = width


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str:
    """The package part of a worksheet, found through workbook.xml and its relationships."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    rel_id = next(s.get(f"{{{_NS['r']}}}id") for s in book.iter(f"{{{_NS['m']}}}sheet") if s.get("name") == sheet)
    target = next(r.get("Target") for r in rels.iter(f"{{{_NS['rel']}}}Relationship") if r.get("Id") == rel_id)
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


def _splice(workbook: Workbook, plan: TemplatePlan, data: IO[bytes], out: Path | IO[bytes]) -> None:
    saved = io.BytesIO()
    workbook.save(saved)
    size = data.tell()
    data.seek(0)
    if isinstance(out, Path):
        out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        part = _sheet_part(source, plan.sheet)
        for item in source.infolist():
            if item.filename != part:
                target.writestr(item, source.read(item.filename))
                continue
            xml = source.read(part)
            marker = re.search(rb'<row r="%d"[ >/]' % plan.first_row, xml)
            if marker is None:
                raise RuntimeError(f"marker row {plan.first_row} missing from {part}")
            close = xml.index(b">", marker.start())
            end = close + 1 if xml[close - 1:close] == b"/" else xml.index(b"</row>", close) + len(b"</row>")
            info = zipfile.ZipInfo(part, item.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w", force_zip64=size > ZIP64_ABOVE) as fh:
                fh.write(xml[:marker.start()])
                shutil.copyfileobj(data, fh, 1 << 20)
                fh.write(xml[end:])
