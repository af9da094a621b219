"""复工 page queries: the projection from declared reopening plans and the overdue enterprises."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.units import Campaign, scoped_street_filter
from etl import config
from etl.aggregate import DayRange, compute
from etl.divisions import DivisionTree as Divisions
from etl.masking import as_shown
from schemas.aggregates import AggEnterpriseSpan, AggStreetPlan
from schemas.models import Building, Enterprise, ReopeningReport


@dataclass
class Projection:
    days: list[date]
    projected: list[int]
    enterprises: int
    reopened: int
    overdue: int
    target_day: date | None
    without_plan: int


def projection(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date,
               figures: dict[str, Any], horizon: int = 30) -> Projection:
    """Reopened by day X if every declared plan holds (plans from the latest report by ``day``)."""
    pending: dict[date, int] = defaultdict(int)
    if campaign.covers(day):
        stmt = (select(AggStreetPlan.planned, func.sum(AggStreetPlan.pending))
                .where(AggStreetPlan.day == campaign.as_of(day))
                .where(scoped_street_filter(AggStreetPlan.code, divs, code)).group_by(AggStreetPlan.planned))
        for planned, n in session.execute(stmt):
            pending[planned] += int(n)
    else:
        live = compute(session, DayRange(day, day, None), divs.keys_under(code))
        for planned, n in live.plans.groupby("planned")["pending"].sum().items():
            pending[planned] += int(n)
    enterprises, reopened = figures["enterprises"], figures["reopened"]
    overdue = sum(n for p, n in pending.items() if p < day)
    waiting = enterprises - reopened
    planned_future = sum(n for p, n in pending.items() if p >= day)
    last_plan = max((p for p in pending if p >= day), default=day)
    end = max(day + timedelta(days=14), min(last_plan, day + timedelta(days=horizon)))
    days = [day + timedelta(days=i) for i in range((end - day).days + 1)]
    projected, running = [], reopened
    for d in days:
        running += pending.get(d, 0)
        projected.append(running)
    target = config.REOPENING_TARGET * enterprises
    target_day = next((d for d, v in zip(days, projected) if enterprises and v >= target), None)
    return Projection(days, projected, enterprises, reopened, overdue, target_day,
                      max(waiting - overdue - planned_future, 0))


def overdue_enterprises(session: Session, divs: Divisions, code: str, day: date, limit: int = 500, *,
                        contacts: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """Enterprises whose declared reopening date has passed on ``day`` without reopening, with the contact of
    their latest report (masked unless ``contacts``: dashboard.access.unmasked)."""
    s = AggEnterpriseSpan
    not_open = or_(s.reopened.is_not(True), and_(s.actual_reopen_date.is_not(None), s.actual_reopen_date > day))
    where = and_(s.day_from <= day, s.day_to >= day, s.is_shop.is_(False), s.planned_reopen_date < day, not_open,
                 scoped_street_filter(s.street_code, divs, code))
    total = session.scalar(select(func.count()).select_from(s).where(where)) or 0
    rows = session.execute(
        select(Enterprise.name, Enterprise.uscc, s.street_code, Building.name, s.planned_reopen_date,
               ReopeningReport.contact_name, ReopeningReport.contact_phone, ReopeningReport.effective_at)
        .select_from(s).join(Enterprise, Enterprise.id == s.enterprise_id)
        .outerjoin(Building, Building.id == s.building_id)
        .outerjoin(ReopeningReport, ReopeningReport.id == s.report_id)
        .where(where).order_by(s.planned_reopen_date, Enterprise.name).limit(limit)
    ).all()
    out = []
    for name, uscc, street, building, planned, contact, phone, reported_at in rows:
        contact, phone = as_shown(contact, phone, contacts)
        out.append({"enterprise": name, "uscc": uscc or "", "street": divs.display(street), "building": building or "",
                    "planned": planned, "days_overdue": (day - planned).days, "contact": contact or "",
                    "phone": phone or "", "reported_at": reported_at})
    return int(total), out

