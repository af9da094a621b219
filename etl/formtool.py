"""Form-tool exports in JSON lines (.jsonl) → tables, as the readers make them from spreadsheets.

Shared with the QR intake (etl.intake): a table built from records keyed by field name, and the
lookup from any header spelling to its field.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from etl.text import header_key, strip_controls_column
from etl.read import Table, UnreadableFile, check_file, detect_encoding, no_header_found, table_from_rows
from schemas import sources as S

REOPENING_SHEET, STAFF_SHEET = "复工申报", "返岗人员"


def field_lookup(fields: tuple[S.Field, ...]) -> dict[str, str]:
    """Key as posted (English field name or any header spelling of docs/sources.md) → field name."""
    return {header_key(sp): f.name for f in fields for sp in (f.name, *f.spellings)}


def records_table(kind: S.SourceKind, records: list[dict[str, Any]], rows: list[int], sheet: str | None) -> Table:
    """Records keyed by canonical field name → a ``Table`` as the readers make them (raw text cells)."""
    names = [f.name for f in kind.fields if any(f.name in r for r in records)]
    frame = pd.DataFrame({n: strip_controls_column(pd.Series([r.get(n) for r in records], dtype="string[pyarrow]"))
                          for n in names})
    frame["_row"] = rows
    return Table(kind, sheet, frame, {n: kind.field(n).header for n in names})



_CONTEXT_FIELDS = ("enterprise_name", "uscc", "building", "street", "district", "submitted_at")
_STAFF_LOOKUP_ALL = field_lookup(S.RETURNING_STAFF.fields)


def read_jsonl(path: Path) -> list[Table]:
    """A form tool's JSON-lines export: one submission per line.

    Flat keys are the question titles (any docs/sources.md header spelling, or the English field names);
    the line is one row of the kind its keys describe, detected as for a spreadsheet.  A list of
    objects under a key (e.g. ``返岗人员``) holds returning-staff rows; they take the enterprise,
    building, street and submission time of their line when they do not give their own.  Row
    numbers are line numbers.
    """
    check_file(path)
    raw = path.read_bytes()
    encoding = detect_encoding(raw[: 256 * 1024])
    try:
        lines = raw.decode(encoding).splitlines()
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"文件编码无法识别（{exc}）：请导出为 UTF-8 的 .jsonl") from exc
    flat: list[dict[str, Any]] = []
    nested: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        scalars, children = _split_line(line, number)
        flat.append(scalars)
        nested.extend((number, child) for child in children)
    tables = []
    main = _flat_table(flat)
    if main is not None and (not nested or main.kind in (S.REOPENING_REPORT, S.RETURNING_STAFF)):
        tables.append(main)
    if nested:
        tables.append(_nested_staff_table(nested, flat))
    if not tables:
        raise no_header_found()
    return tables


def _split_line(line: str, number: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not line.strip():
        return {}, []
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"第 {number} 行不是有效的 JSON（{exc.msg}）：文件可能不完整，请从表单工具重新导出") from exc
    if not isinstance(obj, dict):
        raise UnreadableFile(f"第 {number} 行不是 JSON 对象：请从表单工具重新导出为每行一条记录的 .jsonl")
    scalars: dict[str, Any] = {}
    children: list[dict[str, Any]] = []
    for key, value in obj.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            children.extend(value)
        elif isinstance(value, dict):  # one level of grouping, e.g. {"企业": {"企业名称": ...}}
            scalars.update({k: v for k, v in value.items() if not isinstance(v, (dict, list))})
        elif not isinstance(value, list):
            scalars[key] = value
    return scalars, children


def _flat_table(records: list[dict[str, Any]]) -> Table | None:
    keys = list(dict.fromkeys(k for r in records for k in r))
    if not keys:
        return None
    rows = [keys] + [[_cell(r.get(k)) for k in keys] for r in records]
    return table_from_rows(rows, None, 0)


def _cell(value: Any) -> Any:
    return ("是" if value else "否") if isinstance(value, bool) else value


def _nested_staff_table(nested: list[tuple[int, dict[str, Any]]], flat: list[dict[str, Any]]) -> Table:
    context_keys = {header_key(sp): f.name for f in S.REOPENING_REPORT.fields if f.name in _CONTEXT_FIELDS
                    for sp in (f.name, *f.spellings)}
    records, rows = [], []
    for number, child in nested:
        parent = {context_keys[header_key(k)]: _cell(v) for k, v in flat[number - 1].items() if header_key(k) in context_keys}
        own = {_STAFF_LOOKUP_ALL[header_key(k)]: _cell(v) for k, v in child.items() if header_key(k) in _STAFF_LOOKUP_ALL}
        merged = {**parent, **{k: v for k, v in own.items() if v not in (None, "")}}
        records.append({k: None if v is None else str(v) for k, v in merged.items()})
        rows.append(number)
    return records_table(S.RETURNING_STAFF, records, rows, STAFF_SHEET)
