"""Reading a department's blank report template: where its header is, what each column asks for, where the
rows go and what stays below them (docs/fill.md).

The header is looked for as ingest looks for it (title rows, notes and merged two-row headers above it):
the row, or pair of rows, among the first ones that names a row unit (区, 街道, 楼宇, 企业名称, 店铺名称)
and recognises the most columns. Everything from the first row below it that is a 合计 row or a note
(填表人：…) is the footer, kept below the rows written.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from etl.figures import LABELS, RATES
from etl.read import HEADER_SEARCH_ROWS
from etl.text import clean_scalar, header_key
from schemas.fill_columns import (
    AMBIGUOUS, ATTRIBUTE_KINDS, ATTRIBUTE_SPELLINGS, ATTRIBUTES, FIGURE_SPELLINGS, KEY_SPELLINGS, ROW_UNITS,
    SEQUENCE, SEQUENCE_SPELLINGS, UNIT_LABELS, Meaning,
)
from schemas.sources import TOTAL_ROW_MARKERS, USCC_FIELD

FIGURE_UNITS = ("district", "street", "building")
"""Rows that are units holding enterprises carry figures; an enterprise or shop row carries its own values."""
TEMPLATE_SUFFIXES = (".xlsx",)


class TemplateError(ValueError):
    """A template that cannot be filled, with what to do about it."""


@dataclass(frozen=True)
class TemplateColumn:
    index: int  # 1-based
    label: str  # the header as written; "上/下" for a two-row header
    meaning: Meaning | None

    @property
    def letter(self) -> str:
        return get_column_letter(self.index)


@dataclass(frozen=True)
class TemplatePlan:
    sheet: str
    unit: str
    header_top: int
    header_rows: int
    columns: tuple[TemplateColumn, ...]
    footer_start: int | None  # first row kept below the written rows; None: nothing below the header
    total_row: int | None

    @property
    def first_row(self) -> int:
        return self.header_top + self.header_rows

    @property
    def recognised(self) -> tuple[TemplateColumn, ...]:
        return tuple(c for c in self.columns if c.meaning is not None)

    @property
    def unrecognised(self) -> tuple[TemplateColumn, ...]:
        return tuple(c for c in self.columns if c.meaning is None)

    def describe(self) -> list[tuple[str, str, str]]:
        """(column, header, how it was understood) for each column, as --check prints them."""
        return [(c.letter, c.label, understood_as(c.meaning, self.unit)) for c in self.columns]


def understood_as(meaning: Meaning | None, unit: str) -> str:
    if meaning is None:
        return "未识别，留空"
    if meaning.role == "sequence":
        return "序号 1、2、3…"
    if meaning.role == "key":
        return f"每行一个{UNIT_LABELS[unit]}（{_ATTRIBUTE_WORDS[meaning.name]}）"
    words = LABELS[meaning.name] if meaning.role == "figure" else _ATTRIBUTE_WORDS.get(meaning.name, meaning.name)
    text = f"{'指标' if meaning.role == 'figure' else '字段'}：{words}"
    return f"{text}（{meaning.note}）" if meaning.note else text


_ATTRIBUTE_WORDS = {
    "name": "名称", "enterprise_name": "企业名称", "uscc": "统一社会信用代码", "code": "区划代码", "district": "所属区",
    "street": "所属街道", "building": "所在楼宇", "address": "地址", "community": "居委", "owner": "业主/物业单位",
    "owner_contact": "楼宇联系人", "owner_phone": "楼宇联系电话", "building_type": "楼宇类型", "lng": "经度", "lat": "纬度",
    "industry": "行业", "kind": "类型", "reported": "是否已填报", "reopened": "是否复工（开业）",
    "planned_reopen_date": "计划复工日期", "actual_reopen_date": "实际复工（开业）日期", "staff_total": "员工总数",
    "staff_returned": "已返岗人数", "staff_quarantined": "隔离人数（企业申报）", "contact_name": "企业联系人",
    "contact_phone": "企业联系电话", "submitted_at": "最近填报时间",
}


@cache
def lookup(unit: str) -> dict[str, Meaning]:
    """Header key → meaning, for the rows of ``unit``: key columns, then 序号, figures, attributes."""
    table: dict[str, Meaning] = {}
    for name in ATTRIBUTES[unit]:
        for spelling in ATTRIBUTE_SPELLINGS[name]:
            table.setdefault(header_key(spelling), Meaning(name, "attribute", ATTRIBUTE_KINDS.get(name, "text")))
    if unit in FIGURE_UNITS:
        for figure, label in LABELS.items():
            for spelling in (label, *FIGURE_SPELLINGS.get(figure, ())):
                table[header_key(spelling)] = Meaning(figure, "figure", "percent" if figure in RATES else "int",
                                                      AMBIGUOUS.get(spelling))
    for spelling in SEQUENCE_SPELLINGS:
        table[header_key(spelling)] = Meaning(SEQUENCE, "sequence", "int")
    uscc_keys = {header_key(s) for s in USCC_FIELD.spellings}
    for spelling in KEY_SPELLINGS[unit]:
        key = header_key(spelling)
        table[key] = Meaning("uscc" if key in uscc_keys else "name", "key", "text")
    return table


def _units_named(labels: list[str]) -> list[str]:
    keys = {header_key(label) for label in labels if label}
    return [unit for unit in ROW_UNITS if keys & {header_key(s) for s in KEY_SPELLINGS[unit]}]


def _grid(ws: Worksheet, rows: int) -> list[list[str]]:
    """The first rows as text, a merged range's value in every cell it covers (as a reader sees it)."""
    width = ws.max_column
    grid = [["" for _ in range(width)] for _ in range(rows)]
    for r, row in enumerate(ws.iter_rows(min_row=1, max_row=rows, max_col=width, values_only=True)):
        for c, value in enumerate(row):
            grid[r][c] = clean_scalar(value) or "" if not _is_formula(value) else ""
    for merged in ws.merged_cells.ranges:
        if merged.min_row > rows:
            continue
        value = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row, min(merged.max_row, rows) + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                grid[r - 1][c - 1] = value
    return grid


def _is_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def _understand(upper: list[str], lower: list[str] | None, unit: str) -> list[tuple[str, Meaning | None]]:
    table = lookup(unit)
    out: list[tuple[str, Meaning | None]] = []
    for c, top in enumerate(upper):
        below = lower[c] if lower is not None else ""
        if lower is None or not below or below == top:
            out.append((top, table.get(header_key(top)) if top else None))
            continue
        meaning = table.get(header_key(below)) or table.get(header_key(top + below))
        out.append((f"{top}/{below}" if top else below, meaning))
    return out


def _best_header(grid: list[list[str]]) -> tuple[int, int, str, list[tuple[str, Meaning | None]]] | None:
    """(first row, 1 or 2 rows, unit, columns) of the header that recognises most columns. Two rows are taken
    only where they recognise more than either row alone (a group cell over its sub-headers), so a title row
    above a header is never part of it."""
    def understood(i: int, rows: int) -> tuple[int, str, list[tuple[str, Meaning | None]]] | None:
        lower = grid[i + 1] if rows == 2 else None
        units = _units_named(grid[i] + (lower or []))
        if not units:
            return None
        columns = _understand(grid[i], lower, units[-1])
        return sum(1 for _, m in columns if m is not None), units[-1], columns

    single = [understood(i, 1) for i in range(len(grid))]
    best: tuple[int, int, str, list[tuple[str, Meaning | None]]] | None = None
    best_score = 0
    for i in range(len(grid)):
        candidates = [(1, single[i])]
        if i + 1 < len(grid):
            alone = max((s[0] for s in (single[i], single[i + 1]) if s is not None), default=0)
            pair = understood(i, 2)
            if pair is not None and pair[0] > alone:
                candidates.append((2, pair))
        for rows, found in candidates:
            if found is not None and found[0] > best_score:
                best, best_score = (i + 1, rows, found[1], found[2]), found[0]
    return best


NOTE_STARTS = ("注", "说明", "备注", "填表", "填报人", "审核", "制表", "负责人", "联系人", "联系电话", "单位负责人")


def _footer(ws: Worksheet, first_row: int, key_columns: set[int]) -> tuple[int | None, int | None]:
    """(first footer row, 合计 row) below the header: a row with a total marker, or a note (填表人：…, 注：…) —
    text outside the key columns, or any text with a colon or a note's first word. Empty rows, numbers
    (a pre-numbered 序号) and unit names pre-filled in the key column are data rows, replaced by the fill."""
    markers = tuple(header_key(m) for m in TOTAL_ROW_MARKERS)
    for r, row in enumerate(ws.iter_rows(min_row=first_row, values_only=True), start=first_row):
        texts = {c: text for c, value in enumerate(row, start=1)
                 if isinstance(value, str) and not _is_formula(value) and (text := clean_scalar(value))
                 and not _is_number(text)}
        if any(header_key(t).startswith(markers) for t in texts.values()):
            return r, r
        if any(c not in key_columns or ":" in t or t.startswith(NOTE_STARTS) for c, t in texts.items()):
            return r, None
    return None, None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def open_template(template: Path | IO[bytes], name: str) -> Workbook:
    """The template as openpyxl holds it, styles and all; a file that is not one says what to do."""
    if Path(name).suffix.lower() not in TEMPLATE_SUFFIXES:
        raise TemplateError(f"{name}: 模板须为 .xlsx 文件；.xls 等旧格式请在 Excel 中“另存为 .xlsx”后再试")
    try:
        return load_workbook(template, rich_text=False)
    except FileNotFoundError as exc:
        raise TemplateError(f"{template}: 文件不存在") from exc
    except Exception as exc:  # zipfile, XML or openpyxl errors: all mean "not a workbook we can read"
        raise TemplateError(f"{name}: 无法作为 Excel 工作簿打开（{type(exc).__name__}）；请确认文件未损坏、未加密") from exc


def plan_template(workbook: Workbook, name: str = "模板") -> TemplatePlan:
    """Where the table of the template is and what each of its columns asks for.

    The sheet is the one whose header recognises the most columns, the first of equals: a 填报说明 sheet before
    it, even one listing the columns in a little table of its own (栏目 | 填写要求), is passed by."""
    best: tuple[int, Worksheet, tuple[int, int, str, list[tuple[str, Meaning | None]]]] | None = None
    for ws in workbook.worksheets:
        found = _best_header(_grid(ws, min(ws.max_row, HEADER_SEARCH_ROWS + 1)))
        score = sum(1 for _, meaning in found[3] if meaning is not None) if found is not None else 0
        if found is not None and (best is None or score > best[0]):
            best = (score, ws, found)
    if best is not None:
        _, ws, (top, rows, unit, understood) = best
        spanning = [m.min_row for m in ws.merged_cells.ranges if m.min_row < top <= m.max_row]
        if rows == 1 and spanning:  # sub-headers under group cells: the header starts at the group row
            top, rows = min(spanning), top - min(spanning) + 1
        columns = tuple(TemplateColumn(c, label, meaning)
                        for c, (label, meaning) in enumerate(understood, start=1) if label)
        key_columns = {c.index for c in columns if c.meaning is not None and c.meaning.role == "key"}
        footer, total = _footer(ws, top + rows, key_columns)
        return TemplatePlan(ws.title, unit, top, rows, columns, footer, total)
    raise TemplateError(f"{name}: 前 {HEADER_SEARCH_ROWS} 行中找不到表头：表头须有一列说明每行是什么"
                        "（区、街道、楼宇、企业名称/统一社会信用代码 或 店铺名称）")
