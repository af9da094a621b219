"""Collection answers (信息收集) through a building's QR code: what the phone form lists, and the checks the form and
the JSON endpoint share before ``etl.collections.store_answers``.

A building's code touches only its own enterprises (docs/rules.md#enterprises): the enterprise must be one of the
building's, and one the collection expects today (``etl.collection_figures.respondents``: confirmed, of its scope,
its kind of respondent, its buildings), so a pending (待核实) enterprise has nothing to answer until it is confirmed.
Values are judged by ``check_answers``, the spreadsheets' parsers. A retry of a submission id stores nothing and
gets the receipt of the stored answer again, rebuilt from it.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import refresh_within
from etl.collection_figures import period_for, respondents
from etl.collections import CollectionError, NewAnswer, check_answers, definition_of, store_answers
from etl.divisions import DivisionTree
from etl.figures import Day
from etl.intake import BuildingInfo, Outcome, record_rejection
from etl.masking import mask_phone
from etl.store import writing
from etl.text import clean_scalar, name_key
from schemas.collection_tables import Collection, CollectionAnswer, CollectionVersion
from schemas.collections import DRAFT, OPEN, CollectionDef, FieldDef
from schemas.models import Enterprise

log = logging.getLogger(__name__)

SUBMISSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{7,63}")
MAX_VALUE_CHARS = 500
MAX_CHOICES = 50
CONFLICT_MESSAGE = "该提交编号已用于另一份不同的回答：请重新打开表单后再提交"


class AnswerRefused(Exception):
    """An answer that cannot be taken: the HTTP status and errors (section, row, field, label, message)."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.status = status
        self.errors = errors


def _error(message: str, field: str | None = None, label: str | None = None) -> dict[str, Any]:
    return {"section": "collection", "row": None, "field": field, "label": label, "message": message}


# --------------------------------------------------------------------------- what a building's enterprises are asked


@dataclass(frozen=True)
class Addressed:
    """An open collection of today with the building's enterprises it expects and those that answered today."""

    collection: Collection
    definition: CollectionDef
    expected: frozenset[int]
    answered: frozenset[int]

    def listing(self, enterprise_id: int | None = None) -> dict[str, Any]:
        d = self.definition
        out: dict[str, Any] = {"id": self.collection.id, "title": d.title, "department": d.department,
                               "frequency": d.frequency, "start": d.start.isoformat(), "end": d.end.isoformat(),
                               "deadline": deadline_text(d)}
        if enterprise_id is not None:
            out["answered"] = enterprise_id in self.answered
        return out


def deadline_text(definition: CollectionDef) -> str:
    """The deadline as the phone shows it: 每日 10:00 前（至 2020-03-01）, or 2020-03-01 前."""
    if definition.frequency == "daily":
        hour = definition.deadline.strftime("%H:%M") if definition.deadline else "10:00"
        return f"每日 {hour} 前（至 {definition.end.isoformat()}）"
    hour = f" {definition.deadline.strftime('%H:%M')}" if definition.deadline else ""
    return f"{definition.end.isoformat()}{hour} 前"


def addressed_to(session: Session, building: BuildingInfo, today: date) -> list[Addressed]:
    """The open collections of today (start ≤ today ≤ end) that expect at least one of the building's enterprises."""
    ids = [e["id"] for e in building.enterprises]
    if not ids:
        return []
    tree = DivisionTree.load(session)
    day = Day(today)
    out = []
    for collection in session.scalars(select(Collection).where(Collection.status == OPEN).order_by(Collection.id)):
        definition = definition_of(collection)
        if not definition.start <= today <= definition.end:
            continue
        if collection.scope_code != config.CITY_CODE and building.street_code not in tree.streets_under(collection.scope_code):
            continue
        try:
            expected_q = respondents(session, collection, definition, day)
        except CollectionError:  # a building it names is gone: it expects no one here
            continue
        expected = frozenset(session.scalars(select(expected_q.c.id).where(expected_q.c.id.in_(ids))))
        if not expected:
            continue
        answered = frozenset(session.scalars(
            select(CollectionAnswer.enterprise_id).distinct()
            .where(CollectionAnswer.collection_id == collection.id,
                   CollectionAnswer.period == period_for(definition, today),
                   CollectionAnswer.enterprise_id.in_(sorted(expected)))))
        out.append(Addressed(collection, definition, expected, answered))
    return out


def offered_to(session: Session, building: BuildingInfo, enterprise_id: int, today: date) -> list[Addressed]:
    return [a for a in addressed_to(session, building, today) if enterprise_id in a.expected]


# --------------------------------------------------------------------------- checking a posted answer


@dataclass(frozen=True)
class PreparedAnswer:
    collection_id: int
    definition: CollectionDef
    building: BuildingInfo
    enterprise_id: int
    submission_id: str
    answers: dict[str, Any]  # JSON-ready, as check_answers gives them


def enterprise_of(building: BuildingInfo, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The building's enterprise a payload names: ``enterprise_id``, or ``enterprise`` as {uscc} or {name} (or a
    name); None when it names none of the building's (a credit code never matches by name one with another code)."""
    picked = payload.get("enterprise_id")
    if picked not in (None, ""):
        try:
            ident = int(picked)
        except (TypeError, ValueError):
            return None
        return next((e for e in building.enterprises if e["id"] == ident), None)
    named = payload.get("enterprise")
    if isinstance(named, str):
        named = {"name": named}
    if not isinstance(named, dict):
        return None
    uscc = clean_scalar(named.get("uscc")) if isinstance(named.get("uscc"), str) else None
    name = clean_scalar(named.get("name")) if isinstance(named.get("name"), str) else None
    if uscc:
        found = next((e for e in building.enterprises if (e["uscc"] or "").upper() == uscc.upper()), None)
        if found is not None or not name:
            return found
    if name:
        key = name_key(name)
        matches = [e for e in building.enterprises if name_key(e["name"]) == key
                   and (not uscc or not e["uscc"] or e["uscc"].upper() == uscc.upper())]
        return matches[0] if len(matches) == 1 else None
    return None


def _raw_value(field: FieldDef, value: Any) -> tuple[str | None, str | None]:
    """A posted value as the text a spreadsheet cell would hold, or a shape error."""
    if value is None:
        return None, None
    if isinstance(value, list):
        if field.type != "choices" or len(value) > MAX_CHOICES or not all(isinstance(v, str) for v in value):
            return None, "应为文字或数字" if field.type != "choices" else "多选应为选项文字的列表"
        value = "、".join(v for v in value if v.strip())
    elif isinstance(value, bool):
        value = "是" if value else "否"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dict):
        return None, "应为文字或数字"
    text = str(value).strip()
    if len(text) > MAX_VALUE_CHARS:
        return None, f"过长（最多 {MAX_VALUE_CHARS} 字）"
    return text or None, None


def checked_values(definition: CollectionDef, posted: Any) -> dict[str, Any]:
    """The answers by field key (a key or a field's label may name it), checked as a spreadsheet row is."""
    if not isinstance(posted, dict):
        raise AnswerRefused(422, [_error("answers 应为对象：字段 → 值", "answers")])
    by_name = {f.key: f for f in definition.fields} | {f.label: f for f in definition.fields}
    errors: list[dict[str, Any]] = []
    raw: dict[str, str | None] = {}
    for name, value in posted.items():
        field = by_name.get(str(name))
        if field is None:
            errors.append(_error(f"没有名为“{str(name)[:40]}”的字段", str(name)[:40]))
            continue
        text, problem = _raw_value(field, value)
        if problem:
            errors.append(_error(f"{field.label}：{problem}", field.key, field.label))
        raw[field.key] = text
    frame = pd.DataFrame([{f.key: raw.get(f.key) for f in definition.fields}], dtype=object)
    rows, problems = check_answers(definition, frame)
    keys = {f.label: f.key for f in definition.fields}
    seen = {e["field"] for e in errors}
    errors += [_error(f"{p.field}：{p.message.replace('重新导入', '重新提交')}", keys[p.field], p.field)
               for p in problems if keys[p.field] not in seen]
    if errors:
        raise AnswerRefused(422, errors)
    return rows[0]


def prepare_answer(session: Session, building: BuildingInfo, payload: Any) -> PreparedAnswer:
    """Check an answer posted through the building's code: its collection, its submission id and its enterprise
    (one of the building's). Its values are ``checked_values``' once ``check_addressed`` found the collection open
    and expecting the enterprise today (a retry of a stored answer skips that: it has its receipt), so a post for
    a collection not addressed to the enterprise learns nothing of its fields."""
    if not isinstance(payload, dict):
        raise AnswerRefused(422, [_error("提交内容应为 JSON 对象")])
    try:
        collection_id = int(payload.get("collection_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        collection_id = -1
    collection = session.get(Collection, collection_id) if collection_id > 0 else None
    if collection is None or collection.status == DRAFT:
        raise AnswerRefused(404, [_error("没有这项信息收集：请从本楼宇的扫码表单重新进入", "collection_id")])
    sid = payload.get("submission_id")
    if not isinstance(sid, str) or not SUBMISSION_ID_RE.fullmatch(sid):
        raise AnswerRefused(422, [_error("缺少有效的提交编号（submission_id，8–64 位字母、数字或连字符）", "submission_id")])
    enterprise = enterprise_of(building, payload)
    if enterprise is None:
        raise AnswerRefused(422, [_error(f"所填企业不是本楼宇（{building.name}）的企业：本楼宇的二维码只能为本楼宇的企业填报，"
                                         "请扫描该企业所在楼宇的二维码，或联系街道工作人员", "enterprise")])
    return PreparedAnswer(collection.id, definition_of(collection), building, enterprise["id"], sid, {})


def check_addressed(session: Session, prepared: PreparedAnswer, today: date) -> Collection:
    """The collection, when it is open today and expects the enterprise; else refused."""
    collection = session.get(Collection, prepared.collection_id)
    definition = definition_of(collection)
    try:
        expected_q = respondents(session, collection, definition, Day(today))
    except CollectionError:
        expected_q = None
    if expected_q is None or session.scalar(select(expected_q.c.id).where(expected_q.c.id == prepared.enterprise_id)) is None:
        raise AnswerRefused(404, [_error("这项信息收集不需要本企业填报（本企业不在它的范围或填报对象中）", "collection_id")])
    if collection.status != OPEN or not definition.start <= today <= definition.end:
        raise AnswerRefused(422, [_error(f"“{definition.title}”不在收集期内（{definition.start} 至 {definition.end}，"
                                         "或已结束）：无需再填", "collection_id")])
    return collection


# --------------------------------------------------------------------------- storing, once per submission id


def submit_answer(engine: Engine, building: BuildingInfo, payload: Any, source: str, token: str) -> Outcome:
    """Check and store one answer, exactly once per submission id; a refusal leaves only a rejected_submission
    record (masked), as a refused reopening submission does."""
    try:
        with Session(engine) as session:
            prepared = prepare_answer(session, building, payload)
            if _stored(session, prepared.collection_id, prepared.submission_id) is None:
                check_addressed(session, prepared, config.local_now().date())
            prepared = replace(prepared, answers=checked_values(prepared.definition, payload.get("answers", {})))
            prior = _prior(session, prepared)
            if prior is not None:
                return prior
        received = config.local_now()
        with writing(engine) as session:
            collection = check_addressed(session, prepared, received.date())
            new = store_answers(session, collection, [NewAnswer(prepared.enterprise_id, prepared.answers, received,
                                                                source, prepared.submission_id)])
            if not new:  # stored meanwhile by another post of the same id
                return _prior(session, prepared) or Outcome("conflict", 409, errors=[_error(CONFLICT_MESSAGE)])
            refresh_within(session, log.warning)  # the dashboard shows the answer at once
            receipt = receipt_of(session, _stored(session, prepared.collection_id, prepared.submission_id), building)
    except AnswerRefused as refused:
        sid = payload.get("submission_id") if isinstance(payload, dict) else None
        record_rejection(engine, building.id, token, sid, source, refused.errors, payload)
        return Outcome("rejected", refused.status, errors=refused.errors)
    except IntegrityError:  # a concurrent post of the same id won the race
        with Session(engine) as session:
            prior = _prior(session, prepared)
        if prior is None:
            raise
        return prior
    return Outcome("accepted", 201, receipt)


def _stored(session: Session, collection_id: int, submission_id: str) -> CollectionAnswer | None:
    return session.scalars(select(CollectionAnswer).where(CollectionAnswer.collection_id == collection_id,
                                                          CollectionAnswer.submission_id == submission_id)).first()


def _prior(session: Session, prepared: PreparedAnswer) -> Outcome | None:
    row = _stored(session, prepared.collection_id, prepared.submission_id)
    if row is None:
        return None
    if row.enterprise_id == prepared.enterprise_id and json.loads(row.answers) == prepared.answers:
        return Outcome("duplicate", 200, receipt_of(session, row, prepared.building))
    return Outcome("conflict", 409, errors=[_error(CONFLICT_MESSAGE, "submission_id")])


def stored_answer(session: Session, building: BuildingInfo, collection_id: int, submission_id: str) -> dict[str, Any] | None:
    """The receipt of a stored answer, when its enterprise is one of the building's."""
    row = _stored(session, collection_id, submission_id[:64])
    if row is None or not any(e["id"] == row.enterprise_id for e in building.enterprises):
        return None
    return receipt_of(session, row, building)


# --------------------------------------------------------------------------- receipts


def shown_value(field: FieldDef, value: Any) -> str:
    """A stored value as the receipt shows it: resident IDs and phones masked, never in full."""
    if field.type == "resident_id":
        return str(value.get("masked", "")) if isinstance(value, dict) else ""
    if field.type == "phone":
        return mask_phone(str(value)) or ""
    if field.type == "yes_no":
        return "是" if value is True else "否" if value is False else str(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if field.type == "datetime" and isinstance(value, str):
        return value.replace("T", " ")
    return str(value)


def receipt_of(session: Session, row: CollectionAnswer, building: BuildingInfo) -> dict[str, Any]:
    """The receipt of a stored answer, the same every time it is asked for (labels of the version it was given under)."""
    collection = session.get(Collection, row.collection_id)
    text = session.scalar(select(CollectionVersion.definition).where(
        CollectionVersion.collection_id == row.collection_id, CollectionVersion.version == row.version))
    definition = CollectionDef.model_validate_json(text or collection.definition)
    enterprise = session.get(Enterprise, row.enterprise_id)
    values = json.loads(row.answers)
    return {
        "status": "accepted",
        "submission_id": row.submission_id,
        "received_at": row.effective_at.isoformat(sep=" "),
        "collection": {"id": collection.id, "title": definition.title, "department": definition.department},
        "period": row.period.isoformat(),
        "building": {"name": building.name, "address": building.address, "street": building.street_name},
        "enterprise": {"id": enterprise.id, "name": enterprise.name, "uscc": enterprise.uscc},
        "answers": [{"key": f.key, "label": f.label, "value": shown_value(f, values[f.key])}
                    for f in definition.fields if values.get(f.key) is not None],
    }


def answered_at(session: Session, collection: Collection, definition: CollectionDef, enterprise_id: int,
                today: date) -> datetime | None:
    """When the enterprise last answered for today's period (None: not yet)."""
    return session.scalar(select(CollectionAnswer.effective_at).where(
        CollectionAnswer.collection_id == collection.id, CollectionAnswer.enterprise_id == enterprise_id,
        CollectionAnswer.period == period_for(definition, today)).order_by(CollectionAnswer.effective_at.desc()).limit(1))
