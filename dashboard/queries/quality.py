"""数据质量 page queries: the import ledger, rejected rows, and the files and rows a figure came from."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.missing import missing_buildings
from dashboard.queries.units import Campaign
from etl.divisions import DivisionTree as Divisions
from etl.figures import LABELS
from schemas.aggregates import AggBatchUnit, AggEnterpriseSpan
from schemas.labels import BATCH_STATUS_LABELS, SEVERITY_LABELS
from schemas.models import Building, Enterprise, ImportBatch, Reject, ReopeningReport, ReturningStaff
from schemas.sources import FIELD_HEADERS, SHOP_KIND, kind_label


def batches_in_scope(session: Session, divs: Divisions, code: str) -> list[int] | None:
    """Import batches that brought data of the unit; None: all (city)."""
    keys = divs.keys_under(code)
    if keys is None:
        return None
    return sorted(session.scalars(select(AggBatchUnit.batch_id).where(AggBatchUnit.code.in_(sorted(keys))).distinct()))


def ledger(session: Session, batch_ids: list[int] | None, limit: int = 2000) -> list[dict[str, Any]]:
    stmt = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)
    if batch_ids is not None:
        stmt = stmt.where(ImportBatch.id.in_(batch_ids or [-1]))
    return [{
        "batch": b.id, "file": b.file_name, "kind": kind_label(b.kind), "status": BATCH_STATUS_LABELS.get(b.status, b.status),
        "rows": b.rows, "inserted": b.inserted, "updated": b.updated, "unchanged": b.unchanged, "rejected": b.rejected,
        "warnings": b.warnings,
        "started_at": b.started_at, "error": b.error or "",
    } for b in session.scalars(stmt)]


def rejects(session: Session, batch_ids: list[int] | None, limit: int = 2000) -> tuple[int, list[dict[str, Any]]]:
    """Rejects and warnings, newest batch first; ``severity`` is 退回 (the row was not loaded) or 警告 (it loaded
    with an optional value left empty)."""
    base = select(Reject, ImportBatch.file_name).join(ImportBatch, ImportBatch.id == Reject.batch_id)
    count = select(func.count()).select_from(Reject)
    if batch_ids is not None:
        base = base.where(Reject.batch_id.in_(batch_ids or [-1]))
        count = count.where(Reject.batch_id.in_(batch_ids or [-1]))
    total = session.scalar(count) or 0
    rows = session.execute(base.order_by(Reject.batch_id.desc(), Reject.id).limit(limit)).all()
    return int(total), [{"batch": r.batch_id, "file": file_name, "sheet": r.sheet or "", "row": r.row_number,
                         "severity": SEVERITY_LABELS.get(r.severity, r.severity),
                         "field": FIELD_HEADERS.get(r.field or "", r.field or ""), "reason": r.reason}
                        for r, file_name in rows]


PROVENANCE_FIGURES = {key: LABELS[key] for key in ("reopened", "reported", "enterprises", "shops_open",
                                                   "buildings_missing", "returning_staff", "in_quarantine")}
"""The figures whose files and rows can be traced, in their one Chinese name."""


@dataclass
class Provenance:
    figure: str
    total: int
    by_file: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def provenance(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date, figure: str,
               limit: int = 300) -> Provenance:
    """The files, sheets and rows a figure of a unit on a day came from."""
    if figure not in PROVENANCE_FIGURES:
        raise ValueError(f"unknown figure {figure!r}")
    keys = divs.keys_under(code)
    end = datetime.combine(day + timedelta(days=1), time())
    records: list[tuple[int | None, str | None, int | None, str | None, str]] = []  # batch, sheet, row, submission, label
    if figure in ("reopened", "reported", "shops_open"):
        s = AggEnterpriseSpan
        where = [s.day_from <= day, s.day_to >= day, s.is_shop.is_(figure == "shops_open")]
        if keys is not None:
            where.append(s.street_code.in_(sorted(keys)))
        if figure != "reported":
            where += [s.reopened.is_(True), or_(s.actual_reopen_date.is_(None), s.actual_reopen_date <= day)]
        if not campaign.covers(day):
            return Provenance(figure, 0)
        for batch, sheet, row, sub, name in session.execute(
                select(ReopeningReport.batch_id, ReopeningReport.sheet, ReopeningReport.row_number,
                       ReopeningReport.submission_id, Enterprise.name)
                .select_from(s).join(ReopeningReport, ReopeningReport.id == s.report_id)
                .join(Enterprise, Enterprise.id == s.enterprise_id).where(*where)):
            records.append((batch, sheet, row, sub, name))
    elif figure == "enterprises":
        stmt = select(Enterprise.name, Enterprise.sources).where(
            Enterprise.kind != SHOP_KIND, or_(Enterprise.registered_at.is_(None), Enterprise.registered_at < end))
        if keys is not None:
            stmt = stmt.where(Enterprise.street_code.in_(sorted(keys)))
        for name, sources in session.execute(stmt):
            batch, sheet, row = _name_source(sources)
            records.append((batch, sheet, row, None, name))
    elif figure == "buildings_missing":
        for b in missing_buildings(session, divs, campaign, code, day, limit=100_000):
            src = session.scalar(select(Building.sources).where(Building.id == b["building_id"]))
            batch, sheet, row = _name_source(src)
            records.append((batch, sheet, row, None, b["building"]))
    else:
        street = func.coalesce(Enterprise.street_code, ReturningStaff.street_code)
        stmt = (select(ReturningStaff.batch_id, ReturningStaff.sheet, ReturningStaff.row_number,
                       ReturningStaff.submission_id, ReturningStaff.id_masked)
                .outerjoin(Enterprise, Enterprise.id == ReturningStaff.enterprise_id)
                .where(ReturningStaff.is_current.is_(True), ReturningStaff.return_date <= day))
        if figure == "in_quarantine":
            stmt = stmt.where(ReturningStaff.quarantine_end >= day)
        if keys is not None:
            stmt = stmt.where(or_(street.in_(sorted(keys)),
                                  and_(street.is_(None), ReturningStaff.district_code.in_(sorted(keys)))))
        records = [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]
    files = dict(session.execute(select(ImportBatch.id, ImportBatch.file_name)
                                 .where(ImportBatch.id.in_(sorted({r[0] for r in records if r[0] is not None}) or [-1]))).all())
    grouped: dict[tuple[int | None, str | None], list[int]] = defaultdict(list)
    for batch, sheet, row, _, _ in records:
        grouped[(batch, sheet)].append(row or 0)
    by_file = sorted(({"batch": b, "file": files.get(b, "二维码填报" if b is None else f"批次 {b}"), "sheet": sh or "",
                       "count": len(rows), "rows": _row_ranges(rows)} for (b, sh), rows in grouped.items()),
                     key=lambda r: (-r["count"], r["file"]))
    detail = [{"item": label, "file": files.get(b, "" if b is None else f"批次 {b}"), "sheet": sh or "", "row": row,
               "submission": sub or ""} for b, sh, row, sub, label in sorted(records, key=lambda r: (r[0] or 0, r[2] or 0))[:limit]]
    return Provenance(figure, len(records), by_file, detail)


def _name_source(sources: str | None) -> tuple[int | None, str | None, int | None]:
    try:
        data = json.loads(sources or "{}")
    except ValueError:
        return None, None, None
    where = data.get("name") or next(iter(data.values()), None)
    if isinstance(where, list) and len(where) == 3:
        return where[0], where[1], where[2]
    return None, None, None


def _row_ranges(rows: list[int], limit: int = 12) -> str:
    """1,2,3,7 → '1–3, 7' (Excel row numbers of a file)."""
    values = sorted({r for r in rows if r})
    parts: list[str] = []
    start = prev = None
    for v in values:
        if start is None:
            start = prev = v
        elif v == prev + 1:  # type: ignore[operator]
            prev = v
        else:
            parts.append(f"{start}–{prev}" if start != prev else str(start))
            start = prev = v
    if start is not None:
        parts.append(f"{start}–{prev}" if start != prev else str(start))
    return ", ".join(parts[:limit]) + ("，…" if len(parts) > limit else "")
