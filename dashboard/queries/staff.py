"""返岗人员 page queries: returning staff by origin and day, quarantines ending soon (personal data masked)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.units import scoped_street_filter
from etl.divisions import DivisionTree as Divisions
from etl.masking import mask_name, mask_phone
from schemas.aggregates import AggQuarantine, AggStaff
from schemas.models import Enterprise, ReturningStaff


@dataclass
class StaffBreakdown:
    by_origin: list[tuple[str, int]]
    by_return_date: list[tuple[date, int]]
    ending: list[tuple[date, int]]
    in_quarantine: int
    total: int
    arrived_today: int


def staff_breakdown(session: Session, divs: Divisions, code: str, day: date, soon_days: int = 3) -> StaffBreakdown:
    """Returning staff of a unit on ``day`` by origin (the place's standard name, as agg_staff groups it:
    etl.origins), by return date, and quarantines ending soon (SQL aggregates)."""
    a, qa = AggStaff, AggQuarantine
    where = [a.return_date <= day, scoped_street_filter(a.code, divs, code)]
    people = func.sum(a.people)
    by_origin = [(o or "未填写", int(n)) for o, n in session.execute(
        select(a.origin, people).where(*where).group_by(a.origin).order_by(people.desc(), a.origin))]
    arrivals = {d: int(n) for d, n in session.execute(
        select(a.return_date, people).where(*where).group_by(a.return_date).order_by(a.return_date))}
    in_quarantine = [qa.return_date <= day, qa.quarantine_end >= day, scoped_street_filter(qa.code, divs, code)]
    ending = {d: int(n) for d, n in session.execute(
        select(qa.quarantine_end, func.sum(qa.people))
        .where(*in_quarantine, qa.quarantine_end <= day + timedelta(days=soon_days)).group_by(qa.quarantine_end))}
    quarantined = session.scalar(select(func.sum(qa.people)).where(*in_quarantine)) or 0
    return StaffBreakdown(
        by_origin=by_origin,
        by_return_date=sorted(arrivals.items()),
        ending=[(day + timedelta(days=i), ending.get(day + timedelta(days=i), 0)) for i in range(soon_days + 1)],
        in_quarantine=int(quarantined), total=sum(arrivals.values()), arrived_today=arrivals.get(day, 0),
    )


def staff_people(session: Session, divs: Divisions, code: str, day: date, personal: bool,
                 soon_days: int = 3, limit: int = 300) -> list[dict[str, Any]]:
    """People in quarantine on ``day`` whose quarantine ends within ``soon_days``, soonest first (masked unless
    ``personal``); how many there are in all is ``staff_breakdown(...).ending``."""
    street = func.coalesce(Enterprise.street_code, ReturningStaff.street_code)
    keys = divs.keys_under(code)
    where = [ReturningStaff.is_current.is_(True), ReturningStaff.return_date <= day,
             ReturningStaff.quarantine_end >= day, ReturningStaff.quarantine_end <= day + timedelta(days=soon_days)]
    if keys is not None:
        where.append(or_(street.in_(sorted(keys)), and_(street.is_(None), ReturningStaff.district_code.in_(sorted(keys)))))
    base = select(ReturningStaff).outerjoin(Enterprise, Enterprise.id == ReturningStaff.enterprise_id).where(*where)
    rows = session.scalars(base.order_by(ReturningStaff.quarantine_end, ReturningStaff.id).limit(limit)).all()
    out = [{
        "name": (r.name or "") if personal else (mask_name(r.name) or ""),
        "id_masked": r.id_masked,
        "phone": (r.phone or "") if personal else (mask_phone(r.phone) or ""),
        "enterprise": r.enterprise_name or "", "building": r.building or "",
        "origin": r.origin or "", "return_date": r.return_date, "quarantine_status": r.quarantine_status or "",
        "quarantine_end": r.quarantine_end,
    } for r in rows]
    return out

