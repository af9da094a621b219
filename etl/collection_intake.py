"""A collection's answers from spreadsheets: `onenet ingest --collection ID FILE...` (docs/collections.md).

A filled copy of the department's template, or any sheet whose header row carries the collection's field
labels beside 企业名称 and/or 统一社会信用代码, is read with etl.read's machinery (title rows, merged
cells, two-row headers, 合计 rows, blank rows); 填报时间 / 提交时间, when present, is when the answer was
given, else the load time. Each row's respondent is matched among the collection's expected respondents
by credit code, else by name (docs/rules.md#enterprises); its values are checked by
etl.collections.check_answers. A row that fails is rejected whole with its reasons, as ingest rejects rows
(import_batch + reject, so `onenet rejects` lists them), in the same transaction as the answers. Each row's
submission id is the file's content hash and the row's place, so a file loaded again stores nothing new.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import refresh_within
from etl.collection_figures import respondents
from etl.collections import CollectionError, NewAnswer, check_answers, definition_of, store_answers
from etl.database import init_db
from etl.divisions import DivisionTree
from etl.figures import Day
from etl.guards import UnreadableFile
from etl.masking import mask_id
from etl.normalise import ERRORS, parse_column
from etl.pipeline import FileResult, file_sha256
from etl.read import (
    EXCEL_SUFFIXES, HEADER_SEARCH_ROWS, TEXT_SUFFIXES, HeaderMatch, Table, _row_labels, check_file, read_csv_table,
    read_excel_tables, read_tables,
)
from etl.store import in_chunks, writing
from etl.text import clean_scalar, header_key, name_key
from etl.validate import ERROR, FUTURE_TOLERANCE, WARNING
from schemas import sources as S
from schemas.collection_tables import Collection
from schemas.collections import DRAFT, OPEN, RESPONDENTS, STATUSES, CollectionDef
from schemas.models import CONFIRMED, Enterprise, ImportBatch, Reject

log = logging.getLogger(__name__)

NAME, USCC, SUBMITTED = "@enterprise_name", "@uscc", "@submitted_at"
"""Columns of the respondent and the answer's time; "@" keeps them apart from field keys (which start with a letter)."""
RESPONDENT_COLUMNS = (
    dataclasses.replace(S.ENTERPRISE_NAME, name=NAME),
    dataclasses.replace(S.USCC_FIELD, name=USCC),
    S.Field(SUBMITTED, "填报时间", ("提交时间",), S.DATETIME),
)
REASONS = {
    "enterprise_unknown": "企业未在名录中登记：请核对企业名称和统一社会信用代码，或先导入企业名录后用 --reload 重新导入",
    "enterprise_out_of_scope": "不是本次信息收集的填报对象",
    "answer_empty": "本行没有填写任何回答：未计为已填报",
}
TIME_NOTE = "。填报时间已留空，按导入时间计；本行其余内容已导入"


def batch_kind(collection_id: int) -> str:
    """import_batch.kind of a collection's answer files: a file's content loaded for one collection is not
    loaded for another."""
    return f"{S.COLLECTION_KIND_PREFIX}{collection_id}"


def answerable(session: Session, collection_id: int) -> Collection:
    """The collection, if it takes answers now (open); else CollectionError saying why."""
    collection = session.get(Collection, collection_id)
    if collection is None:
        raise CollectionError(f"没有编号为 {collection_id} 的信息收集：`onenet collections list` 列出全部")
    if collection.status == DRAFT:
        raise CollectionError(f"信息收集“{collection.title}”还是草稿，不接受回答：请先发布（onenet collections open {collection.id}）")
    if collection.status != OPEN:
        raise CollectionError(f"信息收集“{collection.title}”{STATUSES.get(collection.status, collection.status)}，不接受回答")
    return collection


# --- reading ----------------------------------------------------------------------------------


def _kind(collection: Collection, definition: CollectionDef) -> S.SourceKind:
    """The collection as a source kind, so that etl.read's table builders take its columns."""
    fields = (*RESPONDENT_COLUMNS, *(S.Field(f.key, f.label) for f in definition.fields))
    return S.SourceKind(batch_kind(collection.id), definition.title, fields, frozenset(), load_rank=5)


def _lookup(definition: CollectionDef) -> dict[str, str]:
    """Header key → column: each field's label, else its key, else the respondent columns' spellings."""
    lookup = {header_key(spelling): column.name for column in RESPONDENT_COLUMNS for spelling in column.spellings}
    lookup |= {header_key(f.key): f.key for f in definition.fields}
    return lookup | {header_key(f.label): f.key for f in definition.fields}


def _match(labels: dict[int, str], lookup: dict[str, str]) -> dict[int, str]:
    columns: dict[int, str] = {}
    for col, label in labels.items():
        name = lookup.get(header_key(label))
        if name and name not in columns.values():
            columns[col] = name
    return columns


def find_header(rows: Sequence[Sequence[Any]], kind: S.SourceKind, lookup: dict[str, str]) -> HeaderMatch | None:
    """The header row (or two merged rows) naming the most of the collection's columns, with a respondent
    column (企业名称 or 统一社会信用代码) and at least one field; as etl.read.find_header does for the kinds."""
    best: HeaderMatch | None = None
    for i in range(min(HEADER_SEARCH_ROWS, len(rows))):
        upper = _row_labels(rows[i])
        if not upper:
            continue
        candidates = [(1, upper, _match(upper, lookup))]
        lower = _row_labels(rows[i + 1]) if i + 1 < len(rows) else {}
        if lower:
            columns = _match(upper, lookup)
            for col, name in _match(lower, lookup).items():  # the sub-header where it names a column
                columns = {c: n for c, n in columns.items() if n != name}
                columns[col] = name
            candidates.append((2, {**upper, **lower}, columns))
        for header_rows, labels, columns in candidates:
            names = set(columns.values())
            if not names & {NAME, USCC} or not names - {NAME, USCC, SUBMITTED}:
                continue
            if best is None or len(names) > best.score:
                best = HeaderMatch(kind, len(names), header_rows, i, columns, labels)
    return best


def read_answers(path: Path, collection: Collection, definition: CollectionDef) -> list[Table]:
    """The tables of a file that answer the collection; UnreadableFile when there is none, or when one lacks
    a required field's column (every row would be rejected for it)."""
    check_file(path)
    kind, lookup = _kind(collection, definition), _lookup(definition)

    def finder(rows: Sequence[Sequence[Any]]) -> HeaderMatch | None:
        return find_header(rows, kind, lookup)

    if path.suffix.lower() in EXCEL_SUFFIXES:
        tables = read_excel_tables(path, finder)
    elif path.suffix.lower() in TEXT_SUFFIXES:
        tables = [t for t in [read_csv_table(path, finder=finder)] if t is not None]
    else:
        raise UnreadableFile("信息收集的回答请用 .xlsx、.xls 或 .csv 文件导入")
    if not tables:
        labels = "、".join(f.label for f in definition.fields[:6]) + ("等" if len(definition.fields) > 6 else "")
        raise UnreadableFile(f"找不到与信息收集“{definition.title}”相符的表头：表头应有 企业名称 或 统一社会信用代码，"
                             f"以及 {labels} 中的列")
    for table in tables:
        missing = [f.label for f in definition.fields if f.required and f.key not in table.frame]
        if missing:
            raise UnreadableFile(f"工作表 {table.sheet or 'csv'} 缺少必填列：{'、'.join(missing)}：请按模板补上这些列后再导入")
    return tables


# --- respondents ------------------------------------------------------------------------------


@dataclasses.dataclass
class Candidates:
    """The registry enterprises a file's rows name (by code or name), and which of them the collection expects."""

    uscc: dict[str, int]
    names: dict[str, list[tuple[int, str | None]]]  # name key → (id, credit code)
    expected: set[int]

    def by_name(self, key: str, uscc: str | None) -> list[int]:
        """Enterprises of the name that may be this row's: a row that gives a code is not one with another code."""
        return [i for i, code in self.names.get(key, []) if uscc is None or code is None or code == uscc]


def candidates(session: Session, collection: Collection, definition: CollectionDef, day: Day,
               usccs: set[str], names: set[str]) -> Candidates:
    columns = (Enterprise.id, Enterprise.uscc, Enterprise.name_key)
    found = {i: (i, code, key) for column, values in ((Enterprise.uscc, usccs), (Enterprise.name_key, names))
             for chunk in in_chunks(sorted(values)) for i, code, key in session.execute(select(*columns).where(column.in_(chunk)))}
    by_name: dict[str, list[tuple[int, str | None]]] = {}
    for i, code, key in sorted(found.values()):
        by_name.setdefault(key, []).append((i, code))
    expected_q = respondents(session, collection, definition, day)
    expected = {int(i) for chunk in in_chunks(sorted(found)) for i in session.scalars(
        select(expected_q.c.id).where(expected_q.c.id.in_(chunk)))}
    return Candidates({code: i for i, code, _ in found.values() if code}, by_name, expected)


def out_of_scope_reason(session: Session, tree: DivisionTree, collection: Collection, definition: CollectionDef,
                        enterprise_id: int) -> str:
    """Why a registered enterprise is not one the collection asks."""
    e = session.get(Enterprise, enterprise_id)
    base = REASONS["enterprise_out_of_scope"]
    if e is None:
        return base
    if e.status != CONFIRMED:
        return f"{base}：该企业待核实，街道确认后才能填报"
    if collection.scope_code != config.CITY_CODE and e.street_code not in tree.streets_under(collection.scope_code):
        place = "".join(tree.display(c) for c in tree.path(e.street_code) if c != config.CITY_CODE)
        return f"{base}：该企业属于{place}，本次信息收集的范围是{tree.display(collection.scope_code)}"
    if (definition.respondents == "shop") != (e.kind == S.SHOP_KIND) and definition.respondents != "both":
        return f"{base}：本次只收集{RESPONDENTS[definition.respondents]}，该企业登记为{e.kind}"
    if definition.buildings:
        return f"{base}：本次只收集{'、'.join(definition.buildings)}的企业"
    return base


# --- checking ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Problem:
    row: int  # position in the table's frame
    field: str  # field key, or the canonical name of a respondent column
    columns: tuple[str, ...]  # the frame's columns it is about: their headers as written and values go in the reason
    code: str
    message: str
    severity: str = ERROR


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype(object) if name in frame else pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _present(value: Any) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and pd.isna(value))


def check_table(session: Session, tree: DivisionTree, collection: Collection, definition: CollectionDef,
                table: Table, loaded_at: datetime) -> tuple[list[tuple[int, int, dict[str, Any], datetime]], list[Problem]]:
    """(position, enterprise id, answers, effective time) of each row that answers, and the problems found."""
    frame = table.frame.reset_index(drop=True)
    n = len(frame)
    problems: list[Problem] = []
    names = [v if _present(v) else None for v in parse_column(S.NAME, _column(frame, NAME), config.CAMPAIGN_YEAR).values]
    parsed_uscc = parse_column(S.USCC, _column(frame, USCC), config.CAMPAIGN_YEAR)
    usccs = [v if _present(v) else None for v in parsed_uscc.values]
    for i, code in enumerate(parsed_uscc.errors):
        if _present(code):
            problems.append(Problem(i, "uscc", (USCC,), code, ERRORS[code], WARNING))
    times = parse_column(S.DATETIME, _column(frame, SUBMITTED), config.CAMPAIGN_YEAR)
    latest = config.local_now() + FUTURE_TOLERANCE
    moments: list[datetime] = []
    for i, (moment, code) in enumerate(zip(times.values, times.errors)):
        if _present(code):
            problems.append(Problem(i, "submitted_at", (SUBMITTED,), code, ERRORS[code] + TIME_NOTE, WARNING))
        elif _present(moment) and moment > latest:
            problems.append(Problem(i, "submitted_at", (SUBMITTED,), "future_date", ERRORS["future_date"]))
        moments.append(moment if isinstance(moment, datetime) and not _present(code) else loaded_at)

    keys = [f.key for f in definition.fields if f.key in frame]
    cells = pd.DataFrame({k: [v if _present(v) else None for v in frame[k].astype(object)] for k in keys}, dtype=object)
    filled = [[clean_scalar(v) is not None for v in cells[k]] for k in keys]
    empty = [not any(column[i] for column in filled) for i in range(n)]
    answers, errors = check_answers(definition, cells)  # missing cells as None: clean_scalar reads pd.NA as "<NA>"
    key_of = {f.label: f.key for f in definition.fields}
    for e in errors:
        if not empty[e.row]:
            problems.append(Problem(e.row, key_of[e.field], (key_of[e.field],), e.code, e.message))
    problems += [Problem(i, "", (), "answer_empty", REASONS["answer_empty"]) for i in range(n) if empty[i]]

    found = candidates(session, collection, definition, Day(loaded_at.date()), {u for u in usccs if u},
                       {k for k in map(name_key, names) if k})
    matched: dict[int, int] = {}
    given = tuple(c for c in (NAME, USCC) if c in frame)
    for i in range(n):
        if names[i] is None and usccs[i] is None:
            problems.append(Problem(i, "enterprise_name", given, "enterprise_missing", ERRORS["enterprise_missing"]))
            continue
        by_code = found.uscc.get(usccs[i]) if usccs[i] else None
        if by_code is not None:
            ids = [by_code]
        else:
            ids = found.by_name(name_key(names[i]), usccs[i]) if names[i] else []
        inside = [e for e in ids if e in found.expected]
        if len(inside) == 1:
            matched[i] = inside[0]
        elif len(inside) > 1:
            problems.append(Problem(i, "enterprise_name", given, "enterprise_ambiguous", ERRORS["enterprise_ambiguous"]))
        elif len(ids) == 1:
            reason = out_of_scope_reason(session, tree, collection, definition, ids[0])
            problems.append(Problem(i, "enterprise_name", given, "enterprise_out_of_scope", reason))
        else:
            problems.append(Problem(i, "enterprise_name", given, "enterprise_unknown", REASONS["enterprise_unknown"]))

    failed = {p.row for p in problems if p.severity == ERROR}
    for p in problems:
        if p.row in failed:
            p.severity = ERROR  # nothing of the row loaded: every problem of it is why
    good = [(i, matched[i], answers[i], moments[i]) for i in range(n) if i not in failed and i in matched]
    return good, sorted(problems, key=lambda p: p.row)


def _shown(value: Any, secret: bool) -> str | None:
    if not _present(value) or (text := clean_scalar(value)) is None:
        return None
    return mask_id(text) if secret else text


def reject_records(batch_id: int, table: Table, definition: CollectionDef, problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems → reject rows as etl.pipeline.reject_rows writes them: the header as written and the value
    (a resident ID masked) in the reason, the row's cells in ``raw``."""
    secret = {f.key for f in definition.fields if f.type == "resident_id"}
    frame = table.frame.reset_index(drop=True)
    out = []
    for p in problems:
        parts = [(table.headers.get(c, c), _shown(frame.at[p.row, c], c in secret)) for c in p.columns if c in frame]
        shown = [f"{header}：{value}" for header, value in parts if value is not None] or [h for h, _ in parts]
        detail = f"（{'；'.join(shown)}）" if shown else ""
        cells = {k.lstrip("@"): _shown(v, k in secret) for k, v in frame.loc[p.row].items() if k != "_row"}
        out.append({"batch_id": batch_id, "sheet": table.sheet, "row_number": int(frame.at[p.row, "_row"]),
                    "field": p.field or None, "code": p.code, "severity": p.severity, "reason": p.message + detail,
                    "raw": json.dumps({k: v for k, v in cells.items() if v is not None}, ensure_ascii=False)})
    return out


# --- loading ----------------------------------------------------------------------------------


def submission_id(sha: str, sheet_number: int, row: int) -> str:
    return f"file-{sha[:40]}-{sheet_number}-{row}"


def load_tables(session: Session, collection: Collection, batch: ImportBatch, tables: list[Table]) -> FileResult:
    """The answers and rejects of a file's tables, in the caller's transaction; the batch completed."""
    definition = definition_of(collection)
    tree = DivisionTree.load(session)
    result = FileResult(file=batch.file_name, sha256=batch.sha256, kind=batch.kind, batch_id=batch.id)
    for number, table in enumerate(tables, start=1):
        good, problems = check_table(session, tree, collection, definition, table, batch.started_at)
        rows = [int(r) for r in table.frame["_row"]]
        new = [NewAnswer(enterprise_id=e, answers=a, effective_at=t, source="file",
                         submission_id=submission_id(batch.sha256, number, rows[i]), batch_id=batch.id,
                         row_number=rows[i]) for i, e, a, t in good]
        inserted = store_answers(session, collection, new)
        records = reject_records(batch.id, table, definition, problems)
        if records:
            session.execute(Reject.__table__.insert(), records)
        rejected = len({p.row for p in problems if p.severity == ERROR})
        warnings = sum(1 for p in problems if p.severity == WARNING)
        result.rows += len(table.frame)
        result.inserted += inserted
        result.unchanged += len(new) - inserted
        result.rejected += rejected
        result.warnings += warnings
        result.sheets.append({"sheet": table.sheet, "kind": batch.kind, "rows": len(table.frame), "inserted": inserted,
                              "updated": 0, "unchanged": len(new) - inserted, "rejected": rejected, "warnings": warnings})
    for attr in ("rows", "inserted", "updated", "unchanged", "rejected", "warnings"):
        setattr(batch, attr, getattr(result, attr))
    batch.status, batch.finished_at = "loaded", config.local_now()
    return result


def _loaded_before(session: Session, sha: str, kind: str) -> ImportBatch | None:
    return session.scalar(select(ImportBatch).where(ImportBatch.sha256 == sha, ImportBatch.kind == kind,
                                                    ImportBatch.status == "loaded").order_by(ImportBatch.id).limit(1))


def _unchanged(path: Path, sha: str, before: ImportBatch) -> FileResult:
    return FileResult(file=str(path), sha256=sha, kind=before.kind, rows=before.rows, status="unchanged",
                      batch_id=before.id)


def _load(session: Session, collection_id: int, path: Path, tables: list[Table], sha: str, started: datetime,
          reload: bool) -> FileResult:
    collection = answerable(session, collection_id)
    kind = batch_kind(collection_id)
    before = _loaded_before(session, sha, kind)
    if before is not None and not reload:  # loaded meanwhile, under this name or another
        return _unchanged(path, sha, before)
    batch = ImportBatch(file_name=path.name, file_path=str(path.resolve()), sha256=sha, kind=kind, status="loading",
                        started_at=started)
    session.add(batch)
    session.flush()
    if reload:  # the rows rejected before are this load's to reject or not
        earlier = select(ImportBatch.id).where(ImportBatch.sha256 == sha, ImportBatch.kind == kind, ImportBatch.id != batch.id)
        session.execute(Reject.__table__.delete().where(Reject.batch_id.in_(earlier)))
    result = load_tables(session, collection, batch, tables)
    result.file = str(path)
    return result


def open_collections(session: Session) -> list[Collection]:
    return list(session.scalars(select(Collection).where(Collection.status == OPEN)))


def answered_collection(path: Path, opened: Sequence[Collection]) -> int | None:
    """The open collection a file sent to ordinary `onenet ingest` answers, if exactly one does (docs/collections.md).

    A file answers a collection when its header carries the collection's columns and, beside every column a
    source kind would take from it, more: the collection's own fields (a 口罩需求登记表 names 企业名称 and
    联系电话 as a reopening report does, and 需求数量, which no source kind knows). Looked at only while some
    collection is open (``opened``, read once for a run); a file that answers none, or two, loads as ingest always
    loaded it."""
    if not opened:
        return None
    try:
        kinds = [set(t.headers.values()) for t in read_tables(path)]
    except UnreadableFile:
        kinds = []
    found = []
    for collection in opened:
        try:
            tables = read_answers(path, collection, definition_of(collection))
        except UnreadableFile:
            continue
        labels = set().union(*(set(t.headers.values()) for t in tables))
        if all(kind < labels for kind in kinds):
            found.append(collection.id)
    return found[0] if len(found) == 1 else None


def load_answers(target: Engine | Session, collection_id: int, path: Path, *, reload: bool = False) -> FileResult:
    """Load one file of answers to a collection; the result as ingest gives it per file.

    With an engine, the file loads in its own writing transaction (etl.store.writing), and a file that
    cannot be read is recorded in the import ledger as failed, storing nothing else; with a session, in the
    caller's transaction. A collection that does not exist or is not open raises CollectionError."""
    path = Path(path)
    started = config.local_now()
    sha = file_sha256(path) if path.is_file() else None
    if not isinstance(target, Session):
        init_db(target)
    with (nullcontext(target) if isinstance(target, Session) else Session(target, expire_on_commit=False)) as session:
        collection = answerable(session, collection_id)
        before = _loaded_before(session, sha, batch_kind(collection_id)) if sha and not reload else None
    if before is not None:  # not read again: its rows are stored already
        return _unchanged(path, sha, before)
    definition = definition_of(collection)
    try:
        tables = read_answers(path, collection, definition)
        assert sha is not None
        if isinstance(target, Session):
            return _load(target, collection_id, path, tables, sha, started, reload)
        with writing(target) as session:
            result = _load(session, collection_id, path, tables, sha, started, reload)
            refresh_within(session, log.warning)  # the dashboard shows the file's answers at once
            return result
    except UnreadableFile as exc:
        error = f"{path.name}: {exc}"
    except CollectionError:
        raise
    except Exception as exc:  # the transaction rolled back: nothing from this file was kept
        if os.environ.get("ONENET_DEBUG") or isinstance(target, Session):
            raise
        error = f"{path.name}: 导入中断，本文件未写入任何数据（{type(exc).__name__}: {exc}）"
    if not isinstance(target, Session):
        with writing(target) as session:
            session.add(ImportBatch(file_name=path.name, file_path=str(path.resolve()), sha256=sha or "",
                                    kind=batch_kind(collection_id), status="failed", error=error, started_at=started,
                                    finished_at=config.local_now()))
    return FileResult(file=str(path), sha256=sha, kind=batch_kind(collection_id), status="failed", error=error)
