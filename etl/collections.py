"""Collections (信息收集): created from a definition, opened, closed, amended; answers checked and stored
(docs/collections.md).

Answers from every channel (the phone form, the JSON endpoint, spreadsheets) are checked by ``check_answers``
over a DataFrame with the parsers the spreadsheets use (etl.normalise), so a phone and a file are held to the
same rules; a resident ID is kept as its keyed hash and masked form only (etl.identity).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from etl import config
from etl.divisions import DivisionTree
from etl.identity import identify
from etl.normalise import ERRORS, parse_column
from etl.scope import Scope
from etl.store import in_chunks
from etl.text import clean_scalar, is_missing
from schemas.collection_tables import Collection, CollectionAnswer, CollectionStale, CollectionVersion
from schemas.collections import (
    DRAFT, NEXT_STATUS, OPEN, PARSERS, STATUSES, CollectionDef, FieldDef, changes_allowed,
)
from schemas.models import Building, Enterprise

EVERY_STREET = "*"

ANSWER_ERRORS = {
    "choice_invalid": "不是可选的选项之一",
    "out_of_range": "超出允许的范围",
}
CHOICE_SEPARATORS = ",，、;；|\n"


class CollectionError(ValueError):
    """A collection that cannot be created, changed or answered as asked, with what to do."""


@dataclass(frozen=True)
class AnswerError:
    row: int  # position in the frame checked
    field: str  # the field's label
    code: str
    message: str


def definition_of(collection: Collection) -> CollectionDef:
    return CollectionDef.model_validate_json(collection.definition)


def _check_scope(tree: DivisionTree, definition: CollectionDef, allowed_scope: str | None) -> None:
    if definition.scope != config.CITY_CODE and definition.scope not in tree:
        raise CollectionError(f"范围 {definition.scope} 不是已登记的区划代码")
    if allowed_scope is not None and not Scope.of(tree, allowed_scope).covers(definition.scope):
        raise CollectionError(f"范围 {tree.display(definition.scope)} 超出了您的范围 {tree.display(allowed_scope)}")


def building_ids(session: Session, definition: CollectionDef) -> list[int] | None:
    """The buildings a collection is limited to (None: all of its scope); a name not found is an error."""
    if not definition.buildings:
        return None
    tree = DivisionTree.load(session)
    streets = tree.streets_under(definition.scope) if definition.scope != config.CITY_CODE else None
    stmt = select(Building.id, Building.name)
    if streets is not None:
        stmt = stmt.where(Building.street_code.in_(sorted(streets) or [""]))
    found: dict[str, list[int]] = {}
    for i, name in session.execute(stmt.where(Building.name.in_(definition.buildings))):
        found.setdefault(name, []).append(i)  # one name may stand for a building in each of several streets
    missing = [b for b in definition.buildings if b not in found]
    if missing:
        raise CollectionError(f"范围内找不到楼宇：{'、'.join(missing)}")
    return sorted(i for ids in found.values() for i in ids)


def create(session: Session, definition: CollectionDef, *, created_by: str, allowed_scope: str | None = None,
           template: bytes | None = None, template_name: str | None = None) -> Collection:
    """A new collection, as a draft; ``allowed_scope`` is the creator's (a collection is never wider)."""
    _check_scope(DivisionTree.load(session), definition, allowed_scope)
    building_ids(session, definition)
    now = config.local_now()
    collection = Collection(title=definition.title, department=definition.department, scope_code=definition.scope,
                            status=DRAFT, version=1, definition=definition.model_dump_json(), template=template,
                            template_name=template_name, created_by=created_by[:64], created_at=now)
    session.add(collection)
    session.flush()
    session.add(CollectionVersion(collection_id=collection.id, version=1, definition=collection.definition,
                                  created_by=created_by[:64], created_at=now))
    session.flush()
    return collection


def mark_figures_stale(session: Session, collection_id: int | None, streets: Iterable[str]) -> None:
    """Record, in the caller's transaction, that the stored figures of ``streets`` (EVERY_STREET: all) of a
    collection (None: of every collection, after a registry change) no longer agree with the data
    (etl.collection_summary rebuilds them)."""
    wanted = {s for s in streets if s}
    if not wanted:
        return
    mine = (CollectionStale.collection_id.is_(None) if collection_id is None
            else CollectionStale.collection_id == collection_id)
    marked = set(session.scalars(select(CollectionStale.street_code).where(mine)))
    if EVERY_STREET in marked:
        return
    if EVERY_STREET in wanted:
        wanted = {EVERY_STREET}
    session.add_all(CollectionStale(collection_id=collection_id, street_code=s) for s in sorted(wanted - marked))
    session.flush()


def set_status(collection: Collection, status: str) -> None:
    """draft → open → closed, and no other way; an opened collection's figures are to be built."""
    if status not in NEXT_STATUS[collection.status]:
        raise CollectionError(f"“{collection.title}”{STATUSES[collection.status]}，不能改为{STATUSES.get(status, status)}")
    collection.status = status
    session = object_session(collection)
    if status == OPEN and session is not None:
        session.flush()
        mark_figures_stale(session, collection.id, [EVERY_STREET])


def answer_count(session: Session, collection: Collection) -> int:
    return session.scalar(select(func.count()).where(CollectionAnswer.collection_id == collection.id)) or 0


def amend(session: Session, collection: Collection, new: CollectionDef, *, by: str, allowed_scope: str | None = None) -> None:
    """A new version of the definition. Once answers exist, fields may only be added (optional), choices
    only added to; scope, respondents and frequency stay."""
    old = definition_of(collection)
    _check_scope(DivisionTree.load(session), new, allowed_scope)
    building_ids(session, new)
    if answer_count(session, collection):
        problems = changes_allowed(old, new)
        if (old.scope, old.respondents, old.frequency, old.buildings) != (new.scope, new.respondents, new.frequency,
                                                                           new.buildings):
            problems.append("已有回答：范围、填报对象和频次不能再改")
        if old.frequency == "once" and new.start != old.start:
            problems.append("已有回答：一次性收集的开始日期不能再改")  # its answers are stored for that day (period_of)
        if problems:
            raise CollectionError("；".join(problems))
    collection.version += 1
    collection.title, collection.department, collection.scope_code = new.title, new.department, new.scope
    collection.definition = new.model_dump_json()
    session.add(CollectionVersion(collection_id=collection.id, version=collection.version,
                                  definition=collection.definition, created_by=by[:64], created_at=config.local_now()))
    session.flush()
    if collection.status != DRAFT:
        mark_figures_stale(session, collection.id, [EVERY_STREET])


def period_of(definition: CollectionDef, moment: datetime) -> date:
    """The period an answer given at ``moment`` is for: the start day of a one-off collection, the day of a daily one."""
    return definition.start if definition.frequency == "once" else moment.date()


def deadline_of(definition: CollectionDef, period: date) -> datetime:
    """Answers at or before this moment are on time: the deadline hour of a daily collection's day, else the
    end of a one-off collection's last day."""
    if definition.frequency == "daily":
        return datetime.combine(period, definition.deadline or time(10, 0))
    return datetime.combine(definition.end, definition.deadline or time.max)


def _choices(field: FieldDef, raw: Any) -> tuple[Any, str | None]:
    text = None if is_missing(raw) else clean_scalar(raw)
    if text is None:
        return None, None
    if field.type == "choice":
        return (text, None) if text in field.choices else (None, "choice_invalid")
    picked = [p.strip() for p in text.translate({ord(c): "\n" for c in CHOICE_SEPARATORS}).split("\n") if p.strip()]
    if any(p not in field.choices for p in picked):
        return None, "choice_invalid"
    return [c for c in field.choices if c in picked], None


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _field_values(field: FieldDef, raw: pd.Series) -> tuple[list[Any], list[str | None]]:
    if field.type in ("choice", "choices"):
        pairs = [_choices(field, v) for v in raw]
        return [v for v, _ in pairs], [e for _, e in pairs]
    if field.type == "resident_id":
        identity = identify(raw.astype(object), config.installation_secret())
        values = [None if pd.isna(m) else {"masked": m, "key": d.hex()}
                  for m, d in zip(identity.masked, identity.id_hash)]
        return values, [None if pd.isna(e) else e for e in identity.errors]
    parsed = parse_column(PARSERS[field.type], raw.astype(object), config.CAMPAIGN_YEAR)
    values = [_json_value(v) for v in parsed.values]
    errors = [None if e is None or pd.isna(e) else e for e in parsed.errors]
    if field.min is not None or field.max is not None:
        for i, v in enumerate(values):
            if isinstance(v, (int, float)) and ((field.min is not None and v < field.min)
                                                or (field.max is not None and v > field.max)):
                values[i], errors[i] = None, "out_of_range"
    return values, errors


def check_answers(definition: CollectionDef, frame: pd.DataFrame) -> tuple[list[dict[str, Any]], list[AnswerError]]:
    """Each row's answers as JSON-ready values by field key (columns of ``frame`` are field keys), and the
    errors: a value that fails its field's check, a required field left empty. A row with an error is not
    to be stored (the caller rejects it whole, as a spreadsheet row is rejected)."""
    n = len(frame)
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    errors: list[AnswerError] = []
    for field in definition.fields:
        raw = frame[field.key] if field.key in frame else pd.Series([None] * n, index=frame.index, dtype=object)
        values, codes = _field_values(field, raw.reset_index(drop=True))
        for i, (value, code) in enumerate(zip(values, codes)):
            if code is not None:
                errors.append(AnswerError(i, field.label, code, _message(field, code)))
            elif value is None and field.required:
                errors.append(AnswerError(i, field.label, "required", ERRORS["required"]))
            elif value is not None:
                rows[i][field.key] = value
    return rows, errors


def _message(field: FieldDef, code: str) -> str:
    if code == "choice_invalid":
        return f"{ANSWER_ERRORS[code]}：{' / '.join(field.choices)}"
    if code == "out_of_range":
        low = "" if field.min is None else f"{field.min:g}"
        high = "" if field.max is None else f"{field.max:g}"
        return f"{ANSWER_ERRORS[code]}：应在 {low}–{high} 之间"
    return ERRORS.get(code, code)


@dataclass(frozen=True)
class NewAnswer:
    enterprise_id: int
    answers: dict[str, Any]
    effective_at: datetime
    source: str  # form | api | file
    submission_id: str | None = None
    batch_id: int | None = None
    row_number: int | None = None


def store_answers(session: Session, collection: Collection, answers: Sequence[NewAnswer]) -> int:
    """Append the answers (a submission id seen before is the same answer again: skipped); how many were new."""
    definition = definition_of(collection)
    ids = [a.submission_id for a in answers if a.submission_id]
    seen: set[str] = set()
    for start in range(0, len(ids), 900):
        seen |= set(session.scalars(select(CollectionAnswer.submission_id).where(
            CollectionAnswer.collection_id == collection.id, CollectionAnswer.submission_id.in_(ids[start:start + 900]))))
    new, fresh = 0, set[int]()
    for a in answers:
        if a.submission_id and a.submission_id in seen:
            continue
        if a.submission_id:
            seen.add(a.submission_id)
        session.add(CollectionAnswer(collection_id=collection.id, enterprise_id=a.enterprise_id,
                                     period=period_of(definition, a.effective_at), effective_at=a.effective_at,
                                     answers=json.dumps(a.answers, ensure_ascii=False), version=collection.version,
                                     source=a.source, submission_id=a.submission_id, batch_id=a.batch_id,
                                     row_number=a.row_number))
        fresh.add(a.enterprise_id)
        new += 1
    session.flush()
    streets: set[str] = set()
    for chunk in in_chunks(sorted(fresh)):
        streets |= set(session.scalars(select(Enterprise.street_code).where(Enterprise.id.in_(chunk)).distinct()))
    mark_figures_stale(session, collection.id, streets)
    return new


def collections_in(session: Session, scope: Scope, statuses: Iterable[str] | None = None) -> list[Collection]:
    """The collections whose scope lies inside ``scope`` (a street official sees their street's), newest first."""
    stmt = select(Collection).order_by(Collection.id.desc())
    if statuses is not None:
        stmt = stmt.where(Collection.status.in_(list(statuses)))
    return [c for c in session.scalars(stmt) if scope.covers(c.scope_code)]
