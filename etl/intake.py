"""QR-code intake (issue 5): building tokens, submissions and form-tool exports → the one pipeline.

A submission from the phone form or the JSON endpoint becomes two ``Table``s — a one-row
reopening report (企业复工申报) and the returning-staff rows (返岗人员登记) — and goes through
``etl.pipeline.ingest_tables`` like any spreadsheet, inside one transaction with its ledger row
(``import_batch``, file name ``扫码填报 <submission id>``) and its idempotency row (``submission``).
Nothing of a submission is kept when any of its rows fails the pipeline's validation: only a
``rejected_submission`` record with the reasons and the body, resident IDs masked.  Where a file's
optional value that fails its check is left empty with a warning, a submission is refused with the
reason instead: the person is at the form to put it right.

Form-tool exports in JSON lines (``.jsonl``) are read here too (``read_jsonl``), for ``onenet ingest``.

Building tokens (their own key, per-building revocation) live in ``etl.intake_tokens``, re-exported here.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import refresh_within
from etl.intake_tokens import (  # noqa: F401  (the intake's token API, in one place)
    TOKEN_RE, TokenIndex, building_token, revoke_building_token, token_key, token_key_path,
)
from etl.formtool import REOPENING_SHEET, STAFF_SHEET, field_lookup, records_table
from etl.masking import mask_body, mask_id, mask_name, mask_phone, mask_text
from etl.normalise import WARNING_NOTE
from etl.text import header_key, name_key
from etl.pipeline import ingest_tables
from etl.read import Table
from etl.store import writing
from schemas import sources as S
from schemas.intake import RejectedSubmission
from schemas.models import PENDING, Building, Division, Enterprise, ImportBatch, Reject, ReopeningReport, ReturningStaff, Submission

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class IntakeSettings:
    """Tunables of the intake; each has an environment override."""

    public_url: str = "http://localhost:8050"
    max_body_bytes: int = 256 * 1024
    rate_limit: int = 30  # posts per client address and building token ...
    building_rate_limit: int = 300  # ... and per building token, all clients together ...
    rate_window_seconds: float = 600.0  # ... per sliding window
    max_staff_rows: int = 500
    max_value_chars: int = 200

    @classmethod
    def from_env(cls) -> "IntakeSettings":
        env = os.environ
        return cls(
            public_url=env.get("ONENET_PUBLIC_URL", cls.public_url).rstrip("/"),
            max_body_bytes=int(env.get("ONENET_INTAKE_MAX_BYTES", cls.max_body_bytes)),
            rate_limit=int(env.get("ONENET_INTAKE_RATE_LIMIT", cls.rate_limit)),
            building_rate_limit=int(env.get("ONENET_INTAKE_BUILDING_RATE_LIMIT", cls.building_rate_limit)),
            rate_window_seconds=float(env.get("ONENET_INTAKE_RATE_WINDOW", cls.rate_window_seconds)),
            max_staff_rows=int(env.get("ONENET_INTAKE_MAX_STAFF", cls.max_staff_rows)),
        )


FORM_PATH = "/q/"
API_PATH = "/api/intake/"

# --------------------------------------------------------------------------- building tokens (etl.intake_tokens)

def intake_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{FORM_PATH}{token}"



@dataclass
class BuildingInfo:
    id: int
    name: str
    address: str | None
    street_code: str
    street_name: str
    district_name: str | None
    enterprises: list[dict[str, Any]]  # id, name, uscc, kind


def load_building(session: Session, building_id: int) -> BuildingInfo | None:
    b = session.get(Building, building_id)
    if b is None:
        return None
    street = session.get(Division, b.street_code)
    district = session.get(Division, street.parent_code) if street and street.parent_code else None
    ents = session.execute(select(Enterprise.id, Enterprise.name, Enterprise.uscc, Enterprise.kind)
                           .where(Enterprise.building_id == b.id).order_by(Enterprise.name)).all()
    return BuildingInfo(b.id, b.name, b.address, b.street_code, street.name if street else b.street_code,
                        district.name if district else None,
                        [{"id": i, "name": n, "uscc": u, "kind": k} for i, n, u, k in ents])


# --------------------------------------------------------------------------- payload


class SubmissionInvalid(Exception):
    """The submission cannot be taken: ``errors`` are dicts with section, row, field, message."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


SERVER_SET = {"enterprise_name", "uscc", "building", "street", "district", "submitted_at", "submission_id"}
REPORT_INPUT = tuple(f for f in S.REOPENING_REPORT.fields if f.name not in SERVER_SET)
STAFF_INPUT = tuple(f for f in S.RETURNING_STAFF.fields if f.name not in SERVER_SET)
STAFF_KEYS = ("staff", "returning_staff", "返岗人员", "返岗人员名单", "人员名单", "返沪人员")
SUBMISSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{7,63}")


_REPORT_KEYS = field_lookup(REPORT_INPUT)
_STAFF_KEYS = field_lookup(STAFF_INPUT)
_ENTERPRISE_KEYS = {header_key(sp): f.name for f in (S.ENTERPRISE_NAME, S.USCC_FIELD) for sp in (f.name, *f.spellings)}


def _scalar_text(value: Any) -> str | None:
    """A posted value as the text a spreadsheet cell would hold (True → 是, 3.0 → 3)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        raise TypeError
    text = str(value).strip()
    return text or None


@dataclass
class PreparedSubmission:
    """A submission checked for shape, in canonical form; values are still raw text for the pipeline."""

    submission_id: str
    building: BuildingInfo
    enterprise_id: int | None
    enterprise_name: str
    uscc: str | None
    report: dict[str, str]
    staff: list[dict[str, str]]
    staff_rows: list[int] = field(default_factory=list)  # each staff row's number as posted (empty rows dropped)
    ignored: list[str] = field(default_factory=list)

    def canonical(self) -> dict[str, Any]:
        """What the idempotency check compares: the content, not how it was posted."""
        return {"building": self.building.id, "enterprise_id": self.enterprise_id,
                "enterprise_name": self.enterprise_name, "uscc": self.uscc,
                "report": self.report, "staff": self.staff}

    @property
    def sha256(self) -> str:
        body = json.dumps(self.canonical(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


def _error(message: str, section: str = "report", row: int | None = None, field_name: str | None = None) -> dict[str, Any]:
    return {"section": section, "row": row, "field": field_name, "message": message}


def _text_values(obj: dict[str, Any], keys: dict[str, str], section: str, row: int | None,
                 limit: int, errors: list[dict[str, Any]], ignored: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_key, value in obj.items():
        name = keys.get(header_key(raw_key))
        if name is None:
            ignored.append(str(raw_key)[:40])
            continue
        try:
            text_value = _scalar_text(value)
        except TypeError:
            errors.append(_error(f"{raw_key} 应为文字或数字", section, row, name))
            continue
        if text_value is None:
            continue
        if len(text_value) > limit:
            errors.append(_error(f"{raw_key} 过长（最多 {limit} 字）", section, row, name))
            continue
        out[name] = text_value
    return out


def prepare(payload: dict[str, Any], building: BuildingInfo, settings: IntakeSettings) -> PreparedSubmission:
    """Check the shape of a posted submission and bring it to canonical form; values are the pipeline's to judge.

    ``payload``: submission_id, enterprise_id (one of the building's) or enterprise_name [+ uscc] for
    an enterprise not in the list, the report fields (English names or docs/sources.md headers) at the top
    level, and ``staff``: a list of objects with the returning-staff fields.
    """
    if not isinstance(payload, dict):
        raise SubmissionInvalid([_error("提交内容应为 JSON 对象")])
    errors: list[dict[str, Any]] = []
    ignored: list[str] = []
    sid = payload.get("submission_id")
    if not isinstance(sid, str) or not SUBMISSION_ID_RE.fullmatch(sid):
        errors.append(_error("缺少有效的提交编号（submission_id，8–64 位字母、数字或连字符）", field_name="submission_id"))
    enterprise_id, ent_name, uscc = _enterprise(payload, building, errors)
    report_part = {k: v for k, v in payload.items()
                   if k not in ("submission_id", "enterprise_id", "csrf", *STAFF_KEYS) and header_key(k) not in _ENTERPRISE_KEYS}
    report = _text_values(report_part, _REPORT_KEYS, "report", None, settings.max_value_chars, errors, ignored)
    if "reopened" not in report:
        errors.append(_error("请选择是否已复工", field_name="reopened"))
    numbered = _staff_rows(payload, settings, errors, ignored)
    if errors:
        raise SubmissionInvalid(errors)
    return PreparedSubmission(sid, building, enterprise_id, ent_name, uscc, report, [r for _, r in numbered],
                              [n for n, _ in numbered], sorted(set(ignored)))


def _enterprise(payload: dict[str, Any], building: BuildingInfo, errors: list[dict[str, Any]]) -> tuple[int | None, str, str | None]:
    """The enterprise picked from the building's list, or the name (and code) of one not in it."""
    named = {_ENTERPRISE_KEYS[header_key(k)]: v for k, v in payload.items() if header_key(k) in _ENTERPRISE_KEYS}
    picked = payload.get("enterprise_id")
    if picked not in (None, "", "new"):
        try:
            ident = int(picked)
        except (TypeError, ValueError):
            ident = -1
        match = next((e for e in building.enterprises if e["id"] == ident), None)
        if match is None:
            errors.append(_error("所选企业不在本楼宇的名录中：请重新选择", field_name="enterprise_id"))
            return None, "", None
        return ident, match["name"], match["uscc"]
    try:
        name = _scalar_text(named.get("enterprise_name"))
        uscc = _scalar_text(named.get("uscc"))
    except TypeError:
        name, uscc = None, None
    if not name:
        errors.append(_error("请选择企业，或填写新企业的名称", field_name="enterprise_name"))
        return None, "", None
    if len(name) > 128 or (uscc and len(uscc) > 40):
        errors.append(_error("企业名称或信用代码过长", field_name="enterprise_name"))
    return None, name, uscc


def _staff_rows(payload: dict[str, Any], settings: IntakeSettings, errors: list[dict[str, Any]],
                ignored: list[str]) -> list[tuple[int, dict[str, str]]]:
    raw = next((payload[k] for k in STAFF_KEYS if k in payload), None) or []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        errors.append(_error("返岗人员应为对象的列表", "staff"))
        return []
    if len(raw) > settings.max_staff_rows:
        errors.append(_error(f"返岗人员一次最多 {settings.max_staff_rows} 行：请分批提交", "staff"))
        return []
    rows = []
    for i, obj in enumerate(raw, start=1):
        values = _text_values(obj, _STAFF_KEYS, "staff", i, settings.max_value_chars, errors, ignored)
        if values:
            rows.append((i, values))
    return rows


# --------------------------------------------------------------------------- tables


def submission_tables(sub: PreparedSubmission, received_at: datetime) -> list[Table]:
    """The one-row reopening report and the returning-staff rows, placed in the building's street."""
    where = {"enterprise_name": sub.enterprise_name, "uscc": sub.uscc, "building": sub.building.name,
             "street": sub.building.street_code, "submitted_at": received_at.isoformat(sep=" ")}
    where = {k: v for k, v in where.items() if v}
    tables = [records_table(S.REOPENING_REPORT, [{**sub.report, **where, "submission_id": sub.submission_id}], [1],
                            REOPENING_SHEET)]
    if sub.staff:
        rows = sub.staff_rows or list(range(1, len(sub.staff) + 1))
        tables.append(records_table(S.RETURNING_STAFF, [{**row, **where, "submission_id": sub.submission_id}
                                                        for row in sub.staff], rows, STAFF_SHEET))
    return tables


# --------------------------------------------------------------------------- submitting


@dataclass
class Outcome:
    """What to answer: ``status`` accepted | duplicate | conflict | rejected, with the HTTP code."""

    status: str
    http_status: int
    receipt: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors


CONFLICT_MESSAGE = "该提交编号已用于另一份不同的内容：请重新打开表单后再提交"


def submit(engine: Engine, sub: PreparedSubmission, source: str, token: str) -> Outcome:
    """Load one submission through the pipeline, exactly once per submission id."""
    prior = _prior(engine, sub)
    if prior is not None:
        return prior
    received = config.local_now()
    try:
        with writing(engine) as session:  # one writer at a time, files and submissions alike
            receipt = _load(session, sub, source, token, received)
            refresh_within(session, log.warning)  # the dashboard shows the submission at once
    except IntegrityError:
        prior = _prior(engine, sub)  # a concurrent post of the same id won the race
        if prior is None:
            raise
        return prior
    except _Refused as refused:
        record_rejection(engine, sub.building.id, token, sub.submission_id, source, refused.errors,
                         {"submission_id": sub.submission_id, **sub.canonical()})
        return Outcome("rejected", 422, errors=refused.errors)
    return Outcome("accepted", 201, receipt)


def _prior(engine: Engine, sub: PreparedSubmission) -> Outcome | None:
    with Session(engine) as session:
        row = session.get(Submission, sub.submission_id)
        if row is None:
            return None
        if row.body_sha256 == sub.sha256 and row.building_id == sub.building.id and row.receipt:
            return Outcome("duplicate", 200, json.loads(row.receipt))
        return Outcome("conflict", 409, errors=[_error(CONFLICT_MESSAGE, field_name="submission_id")])


def _load(session: Session, sub: PreparedSubmission, source: str, token: str, received: datetime) -> dict[str, Any]:
    path = (API_PATH if source == "api" else FORM_PATH) + token
    batch = ImportBatch(file_name=f"扫码填报 {sub.submission_id}", file_path=path, sha256=sub.sha256,
                        status="loading", started_at=received)
    session.add(batch)
    session.flush()
    session.add(Submission(id=sub.submission_id, body_sha256=sub.sha256, building_id=sub.building.id,
                           batch_id=batch.id, status="accepted", received_at=received, source=source))
    session.flush()  # IntegrityError here when the same id was stored meanwhile
    result = ingest_tables(session, batch, submission_tables(sub, received))
    if result.rejected or result.warnings:
        raise _Refused(_reasons(session, batch.id))
    if foreign := _foreign_enterprises(session, batch.id, sub.building.id):
        raise _Refused([_error(f"「{name}」不是本楼宇（{sub.building.name}）的企业：本楼宇的二维码只能为本楼宇的企业填报，"
                               "请扫描该企业所在楼宇的二维码，或联系街道工作人员", field_name="enterprise_name")
                        for name in foreign])
    receipt = build_receipt(session, sub, batch.id, received, result.inserted, result.updated, result.unchanged)
    session.get(Submission, sub.submission_id).receipt = json.dumps(receipt, ensure_ascii=False)
    return receipt


def _foreign_enterprises(session: Session, batch_id: int, building_id: int) -> list[str]:
    """Names of the enterprises of other buildings that the pipeline matched this submission's rows to
    (by credit code anywhere in the city, by name in the street): a building's code touches only its own."""
    touched = select(ReopeningReport.enterprise_id.label("id")).where(ReopeningReport.batch_id == batch_id).union(
        select(ReturningStaff.enterprise_id).where(ReturningStaff.batch_id == batch_id,
                                                   ReturningStaff.enterprise_id.is_not(None))).subquery()
    return list(session.scalars(
        select(Enterprise.name).join(touched, touched.c.id == Enterprise.id)
        .where(or_(Enterprise.building_id.is_(None), Enterprise.building_id != building_id)).order_by(Enterprise.name)))


def _reasons(session: Session, batch_id: int) -> list[dict[str, Any]]:
    """The pipeline's rejects and warnings of this submission, worded for a form (the rows are rolled back)."""
    rows = session.execute(select(Reject.sheet, Reject.row_number, Reject.field, Reject.reason)
                           .where(Reject.batch_id == batch_id).order_by(Reject.id)).all()
    out = []
    for sheet, row, field_name, reason in rows:
        reason = mask_text(reason.removesuffix(WARNING_NOTE).replace("重新导入", "重新提交"))
        if sheet == STAFF_SHEET:
            out.append(_error(f"返岗人员第 {row} 行：{reason}", "staff", row, field_name))
        else:
            out.append(_error(reason, "report", None, field_name))
    return out


def build_receipt(session: Session, sub: PreparedSubmission, batch_id: int, received: datetime,
                  inserted: int, updated: int, unchanged: int) -> dict[str, Any]:
    """The receipt shown on the phone and returned again on a retry: masked, never a raw ID."""
    report = session.scalars(select(ReopeningReport).where(ReopeningReport.batch_id == batch_id)).first()
    ent = session.get(Enterprise, report.enterprise_id) if report else _enterprise_of(session, sub)
    state = {}
    if report is not None:
        state = {
            "reopened": report.reopened,
            "planned_reopen_date": report.planned_reopen_date.isoformat() if report.planned_reopen_date else None,
            "actual_reopen_date": report.actual_reopen_date.isoformat() if report.actual_reopen_date else None,
            "staff_total": report.staff_total, "staff_returned": report.staff_returned,
            "staff_quarantined": report.staff_quarantined,
            "contact_name": report.contact_name,
            "contact_phone": mask_phone(report.contact_phone) or None,
        }
    return {
        "status": "accepted",
        "submission_id": sub.submission_id,
        "received_at": received.isoformat(sep=" "),
        "building": {"name": sub.building.name, "address": sub.building.address, "street": sub.building.street_name},
        "enterprise": {"name": ent.name if ent else sub.enterprise_name, "uscc": ent.uscc if ent else sub.uscc,
                       "new": bool(ent is not None and not ent.from_registry),
                       "pending": bool(ent is not None and ent.status == PENDING)},
        "report": state,
        "staff": [{"name": mask_name(r.get("name", "")), "id_number": mask_id(r.get("id_number", ""))} for r in sub.staff],
        "loaded": {"inserted": inserted, "updated": updated, "unchanged": unchanged},
    }


def _enterprise_of(session: Session, sub: PreparedSubmission) -> Enterprise | None:
    if sub.enterprise_id is not None:
        return session.get(Enterprise, sub.enterprise_id)
    if sub.uscc:
        found = session.scalars(select(Enterprise).where(Enterprise.uscc == sub.uscc.upper())).first()
        if found:
            return found
    return session.scalars(select(Enterprise).where(Enterprise.street_code == sub.building.street_code,
                                                    Enterprise.name_key == name_key(sub.enterprise_name))).first()


def record_rejection(engine: Engine, building_id: int | None, token: str | None, submission_id: Any, source: str,
                     errors: list[dict[str, Any]], body: Any) -> None:
    """The one thing a refused submission leaves behind: when, where, why and the masked body."""
    masked = json.dumps(mask_body(body), ensure_ascii=False)
    with Session(engine) as session, session.begin():
        session.add(RejectedSubmission(
            received_at=config.local_now(), building_id=building_id, token=(token or "")[:64] or None,
            submission_id=mask_text(submission_id)[:64] if isinstance(submission_id, str) else None,
            source=source, reason="\n".join(mask_text(e["message"]) for e in errors)[:4000],
            body_masked=masked[: 64 * 1024],
        ))
