"""A collection's answers as a workbook (`onenet collections export`, docs/collections.md#export): the latest
answer of each respondent for the day's period, cut to a district or street, personal data masked (etl.masking).

A collection made from a department's template comes back as that template filled in, by the streaming splice of
`onenet fill` (etl.fill.splice_rows): title rows, header styles, widths and print setup kept, one row per
respondent from the row under the header. Its columns are matched to the fields by label, so a field added later
gets a column of its own to the right, and a column whose field was renamed or removed stays empty. Any other
collection comes back as a plain workbook (etl.excel).
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from etl.collection_figures import latest_answers_at, street_status
from etl.collection_template import is_person_name, layout
from etl.collections import definition_of
from etl.divisions import DivisionTree
from etl.excel import Column, Formats, display_width, open_workbook, write_sheet
from etl.fill import splice_rows
from etl.fill_template import TemplateColumn, open_template
from etl.masking import mask_id, mask_name, mask_phone, mask_text
from schemas.collection_tables import Collection
from schemas.collections import RESPONDENTS, STATUSES, CollectionDef, FieldDef
from schemas.fill_columns import Meaning
from schemas.models import Building, Enterprise

EXCEL_KINDS = {"integer": "int", "number": "float", "date": "date", "datetime": "datetime", "yes_no": "bool"}
"""How a field's values are written (any other type is text)."""
REGISTRY_KEYS = {"name": "@name", "enterprise_name": "@name", "uscc": "@uscc", "district": "@district",
                 "street": "@street", "building": "@building", "submitted_at": "@submitted_at"}
"""A template's registry column (its meaning's name) → the key of the row value (@: never a field key)."""
NOTE_SHEET = "说明"
_SHEET_NAME_JUNK = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class ExportResult:
    rows: int
    expected: int
    from_template: bool
    appended: tuple[str, ...] = ()  # fields the template has no column for: added to its right
    unmatched: tuple[str, ...] = ()  # template columns no field answers: left empty


def shown(field: FieldDef, value: Any, personal: bool) -> Any:
    """An answer as an export writes it: typed for Excel; names and phones masked unless ``personal``; resident
    IDs, and IDs and mobile numbers typed into free text, always masked."""
    if value is None:
        return None
    if field.type == "resident_id":
        return value.get("masked") if isinstance(value, dict) else mask_id(str(value))
    if field.type == "phone":
        return str(value) if personal else mask_phone(str(value))
    if field.type == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if field.type == "datetime":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if field.type == "text" and isinstance(value, str):
        return mask_name(value) if not personal and is_person_name(field.label) else mask_text(value)
    return value


def answer_rows(session: Session, collection: Collection, definition: CollectionDef, day: date,
                streets: set[str] | None, personal: bool) -> list[dict[str, Any]]:
    """One dict per respondent with an answer: the registry's @name, @uscc, @district, @street, @building, the
    answer's @submitted_at and each field's value by key; in the order of the street codes (so of the districts),
    then building and name."""
    tree = DivisionTree.load(session)
    within = streets if streets is not None else (
        None if collection.scope_code == config.CITY_CODE else tree.streets_under(collection.scope_code))
    enterprises = select(Enterprise.id, Enterprise.name, Enterprise.uscc)
    buildings = select(Building.id, Building.name)
    if within is not None:
        enterprises = enterprises.where(Enterprise.street_code.in_(sorted(within) or [""]))
        buildings = buildings.where(Building.street_code.in_(sorted(within) or [""]))
    names = {i: (name, uscc) for i, name, uscc in session.execute(enterprises)}
    building_names = {i: name for i, name in session.execute(buildings)}
    keyed = []
    for enterprise_id, street, building_id, answers, at in latest_answers_at(session, collection, day, streets):
        name, uscc = names.get(enterprise_id, (None, None))
        district = tree.unit_of(street, "district")
        row = {"@name": name, "@uscc": uscc, "@street": tree.display(street),
               "@district": tree.display(district) if district else None,
               "@building": building_names.get(building_id) if building_id is not None else None,
               "@submitted_at": at}
        row.update({f.key: shown(f, answers.get(f.key), personal) for f in definition.fields})
        keyed.append(((street, row["@building"] is None, row["@building"] or "", name or ""), row))
    keyed.sort(key=lambda pair: pair[0])
    return [row for _, row in keyed]


def _expected(session: Session, collection: Collection, day: date, streets: set[str] | None) -> int:
    return sum(c["expected"] for c in street_status(session, collection, day, streets).values())


def export_answers(session: Session, collection: Collection, out: Path | IO[bytes], *, day: date,
                   streets: set[str] | None = None, scope_name: str | None = None, personal: bool = False) -> ExportResult:
    """Write the answers for ``day`` (of ``streets``, None: the collection's whole scope) to ``out``."""
    definition = definition_of(collection)
    rows = answer_rows(session, collection, definition, day, streets, personal)
    expected = _expected(session, collection, day, streets)
    scope = scope_name or DivisionTree.load(session).display(collection.scope_code)
    notes = [["信息收集", f"#{collection.id} {definition.title}"], ["发起部门", definition.department or ""],
             ["范围", scope], ["填报对象", RESPONDENTS[definition.respondents]],
             ["数据日期", day.isoformat()], ["状态", STATUSES.get(collection.status, collection.status)],
             ["已填报", f"{len(rows)}（应填报 {expected}）；每个填报对象取其最新一次填报"],
             ["个人信息", "未脱敏（已授权）；身份证号只有脱敏形式" if personal else "姓名、电话已脱敏；身份证号只有脱敏形式"]]
    if collection.template is not None:
        return _into_template(collection, definition, rows, expected, notes, out)
    _plain(definition, rows, notes, out)
    return ExportResult(len(rows), expected, False)


def _into_template(collection: Collection, definition: CollectionDef, rows: list[dict[str, Any]], expected: int,
                   notes: list[list[str]], out: Path | IO[bytes]) -> ExportResult:
    name = collection.template_name or "模板.xlsx"
    workbook = open_template(io.BytesIO(collection.template), name)
    found = layout(workbook, name)
    by_label = {f.label: f for f in definition.fields}
    columns: list[TemplateColumn] = []
    matched: set[str] = set()
    unmatched: list[str] = []
    registry = {c.index for c in found.registry}
    labels = {f.column.index: f.label for f in found.fields}
    for column in found.plan.columns:
        meaning = column.meaning
        if column.index in registry and meaning is not None:
            if meaning.role != "sequence":
                meaning = Meaning(REGISTRY_KEYS.get(meaning.name, "@name"), "key",
                                  "datetime" if meaning.name == "submitted_at" else "text")
        elif column.index in labels and labels[column.index] in by_label:
            field = by_label[labels[column.index]]
            matched.add(field.key)
            meaning = Meaning(field.key, "attribute", EXCEL_KINDS.get(field.type, "text"))
        else:
            meaning = None
            unmatched.append(f"{column.letter} {column.label}")
        columns.append(replace(column, meaning=meaning))
    ws = workbook[found.plan.sheet]
    extra = [f for f in definition.fields if f.key not in matched]
    columns += _append_columns(ws, found.plan.header_top, found.plan.header_rows, columns, extra)
    plan = replace(found.plan, columns=tuple(columns))
    if extra:
        notes.append(["新增的列", "、".join(f.label for f in extra) + "：模板中没有这些字段的列，已加在表格右侧"])
    if unmatched:
        notes.append(["留空的列", "、".join(unmatched) + "：没有对应的字段（字段已改名或删除）"])
    count, _ = splice_rows(workbook, plan, rows, out, before_save=lambda n: _note_sheet(workbook, notes))
    return ExportResult(count, expected, True, tuple(f.label for f in extra), tuple(unmatched))


def _append_columns(ws: Worksheet, top: int, height: int, columns: Sequence[TemplateColumn],
                    fields: Sequence[FieldDef]) -> list[TemplateColumn]:
    """Header cells for ``fields`` right of the template's last column, styled as its last header cell."""
    if not fields:
        return []
    last = max(c.index for c in columns)
    source = ws.cell(top, last)
    out = []
    for i, field in enumerate(fields, start=last + 1):
        cell = ws.cell(top, i, field.label)
        if source.has_style:
            for attribute in ("font", "border", "fill", "number_format", "alignment", "protection"):
                setattr(cell, attribute, copy(getattr(source, attribute)))
        if height > 1:
            ws.merge_cells(start_row=top, start_column=i, end_row=top + height - 1, end_column=i)
        column = TemplateColumn(i, field.label, Meaning(field.key, "attribute", EXCEL_KINDS.get(field.type, "text")))
        ws.column_dimensions[column.letter].width = max(display_width(field.label) + 4, 10)
        out.append(column)
    return out


def _note_sheet(workbook: Workbook, notes: list[list[str]]) -> None:
    ws = workbook.create_sheet(NOTE_SHEET if NOTE_SHEET not in workbook.sheetnames else "导出说明（onenet）")
    for r, line in enumerate(notes, start=1):
        for c, value in enumerate(line, start=1):
            cell = ws.cell(r, c, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 70


def sheet_name(title: str) -> str:
    return _SHEET_NAME_JUNK.sub("_", title).strip("'")[:31] or "回答"


def _plain(definition: CollectionDef, rows: list[dict[str, Any]], notes: list[list[str]], out: Path | IO[bytes]) -> None:
    unit = "店铺名称" if definition.respondents == "shop" else "企业名称"
    registry = [("@district", "区"), ("@street", "街道"), ("@building", "楼宇"), ("@name", unit), ("@uscc", "统一社会信用代码")]
    columns = [Column(header) for _, header in registry]
    columns += [Column(f.label, EXCEL_KINDS.get(f.type, "text")) for f in definition.fields]
    columns.append(Column("填报时间", "datetime"))
    keys = [key for key, _ in registry] + [f.key for f in definition.fields] + ["@submitted_at"]
    workbook = open_workbook(out)
    fmt = Formats(workbook)
    name = sheet_name(definition.title)
    write_sheet(workbook, fmt, name if name != NOTE_SHEET else "回答", columns, ([row.get(k) for k in keys] for row in rows))
    write_sheet(workbook, fmt, NOTE_SHEET, [Column("项目"), Column("内容")], notes)
    workbook.close()
