"""The dashboard's query layer: every number and list a page shows comes from here, never from layout code.

Figures are ``etl.figures`` figures (SPEC §5): per-street counts read from the pre-aggregated
tables (``schemas.aggregates``) and rolled up exactly as ``etl.figures.summary`` rolls them up
(numerators and denominators added, never rates averaged).  Days outside the aggregated campaign
fall back to computing the same figures live.  Callers pass a unit code that has already been
checked against the user's scope (dashboard.context).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import COUNT_COLUMNS, DayRange, compute, day_range
from etl.export import latest_follow_ups
from etl.figures import Day, ratio, street_figures
from etl.masking import mask_name, mask_phone
from schemas.aggregates import (
    AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggMeta, AggQuarantine, AggStaff, AggStreetDay, AggStreetPlan,
)
from schemas.models import (
    Boundary, Building, Division, Enterprise, FollowUp, ImportBatch, Reject, ReopeningReport, ReturningStaff,
)
from schemas.sources import SHOP_KIND, SOURCE_KINDS

FOLLOW_UP_STATUSES = {"called": "已致电", "promised": "已承诺填报", "refused": "拒绝配合", "resolved": "已解决"}


# --------------------------------------------------------------------------- hierarchy


@dataclass(frozen=True)
class Divisions:
    """The division table in memory: names, levels, parents, children."""

    name: dict[str, str]
    level: dict[str, str]
    parent: dict[str, str | None]
    children: dict[str, list[str]]

    def ancestor(self, code: str | None, wanted: str) -> str | None:
        """As etl.figures.summary resolves a code to the unit of a level."""
        seen = 0
        while code is not None and self.level.get(code) != wanted and seen < 10:
            code = self.parent.get(code)
            seen += 1
        return code if code is not None and self.level.get(code) == wanted else None

    def unit_of(self, code: str, level: str) -> str | None:
        if level == "city":
            return config.CITY_CODE
        return self.ancestor(code, level)

    def path(self, code: str) -> list[str]:
        """City → … → code."""
        out = []
        current: str | None = code
        while current is not None and len(out) < 10:
            out.append(current)
            current = self.parent.get(current)
        if config.CITY_CODE not in out:
            out.append(config.CITY_CODE)
        return list(reversed(out))

    def display(self, code: str) -> str:
        return self.name.get(code, config.CITY_NAME if code == config.CITY_CODE else code)

    def sub_units(self, code: str) -> list[str]:
        """Districts of the city, streets of a district (sorted by code)."""
        wanted = {"city": "district", "district": "street"}.get(self.level.get(code, ""))
        if wanted is None:
            return []
        return sorted(c for c in self.children.get(code, []) if self.level.get(c) == wanted)

    def streets_under(self, code: str) -> set[str]:
        if self.level.get(code) == "street":
            return {code}
        out: set[str] = set()
        stack = [code]
        while stack:
            current = stack.pop()
            for child in self.children.get(current, []):
                if self.level.get(child) == "street":
                    out.add(child)
                elif self.level.get(child) in ("district", "city"):
                    stack.append(child)
        return out

    def keys_under(self, code: str) -> set[str] | None:
        """Aggregate keys of a unit (itself and every division below it); None: all (the city)."""
        if self.level.get(code) == "city" or code == config.CITY_CODE:
            return None
        keys, stack = {code}, [code]
        while stack:
            for child in self.children.get(stack.pop(), []):
                if child not in keys:
                    keys.add(child)
                    stack.append(child)
        return keys


def load_divisions(session: Session) -> Divisions:
    rows = session.execute(select(Division.code, Division.name, Division.level, Division.parent_code)).all()
    children: dict[str, list[str]] = defaultdict(list)
    for code, _, _, parent in rows:
        if parent:
            children[parent].append(code)
    return Divisions(
        name={r.code: r.name for r in rows},
        level={r.code: r.level for r in rows},
        parent={r.code: r.parent_code for r in rows},
        children=dict(children),
    )


# --------------------------------------------------------------------------- campaign days


@dataclass(frozen=True)
class Campaign:
    first: date
    last: date
    data_last: date | None
    aggregated: bool

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def default_day(self) -> date:
        """The latest day with data (reports), else today within the campaign, else its last day."""
        if self.data_last is not None:
            return min(max(self.data_last, self.first), self.last)
        today = config.local_now().date()
        return today if self.first <= today <= self.last else self.last

    def covers(self, day: date) -> bool:
        return self.aggregated and self.first <= day <= self.last


def load_campaign(session: Session) -> Campaign:
    meta = session.get(AggMeta, "range")
    if meta is not None:
        return Campaign(meta.first_day, meta.last_day, meta.data_last_day, True)
    rng = day_range(session)
    return Campaign(rng.first, rng.last, rng.data_last, False)


# --------------------------------------------------------------------------- figures


def raw_counts(session: Session, day: date, campaign: Campaign, keys: set[str] | None = None) -> dict[str, dict[str, int]]:
    """street_figures for one day (keyed like it, '' for staff with no street nor district)."""
    if not campaign.covers(day):
        live = street_figures(session, Day(day))
        return {("" if k is None else k): dict(v) for k, v in live.items() if keys is None or k in keys}
    stmt = select(AggStreetDay).where(AggStreetDay.day == day)
    if keys is not None:
        stmt = stmt.where(AggStreetDay.code.in_(sorted(keys)))
    return {r.code: {c: getattr(r, c) for c in COUNT_COLUMNS} for r in session.scalars(stmt)}


def with_rates(counts: dict[str, int]) -> dict[str, Any]:
    return {
        **counts,
        "reopening_rate": ratio(counts["reopened"], counts["enterprises"]),
        "shop_reopening_rate": ratio(counts["shops_open"], counts["shops"]),
        "staff_return_rate": ratio(counts["staff_returned"], counts["staff_total"]),
        "reporting_coverage": ratio(counts["reported"], counts["enterprises"]),
        "timeliness": ratio(counts["reported_on_time"], counts["enterprises"]),
    }


def rollup(divs: Divisions, raw: dict[str, dict[str, int]], level: str, units: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """Counts per unit of ``level``, as etl.figures.summary adds them up."""
    totals: dict[str, dict[str, int]]
    if level == "city":
        totals = {config.CITY_CODE: dict.fromkeys(COUNT_COLUMNS, 0)}
    else:
        wanted = set(units) if units is not None else {c for c, lvl in divs.level.items() if lvl == level}
        totals = {c: dict.fromkeys(COUNT_COLUMNS, 0) for c in wanted}
    for code, counts in raw.items():
        unit = divs.unit_of(code, level) if code else (config.CITY_CODE if level == "city" else None)
        if unit is None or unit not in totals:
            continue
        target = totals[unit]
        for key in COUNT_COLUMNS:
            target[key] += counts.get(key, 0)
    return totals


def unit_row(divs: Divisions, code: str, counts: dict[str, int]) -> dict[str, Any]:
    level = divs.level.get(code, "city")
    return {"level": level, "code": code, "name": divs.display(code), "parent_code": divs.parent.get(code),
            **with_rates(counts)}


def unit_figures(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date) -> dict[str, Any]:
    """The summary() row of one unit (city, district or street) on one day."""
    level = divs.level.get(code, "city")
    raw = raw_counts(session, day, campaign, divs.keys_under(code))
    return unit_row(divs, code, rollup(divs, raw, level, [code])[code])


def sub_unit_figures(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date) -> list[dict[str, Any]]:
    """The summary() rows of the districts of the city / streets of a district."""
    subs = divs.sub_units(code)
    if not subs:
        return []
    level = divs.level[subs[0]]
    raw = raw_counts(session, day, campaign, divs.keys_under(code))
    totals = rollup(divs, raw, level, subs)
    return [unit_row(divs, c, totals[c]) for c in subs]


def trend(session: Session, divs: Divisions, campaign: Campaign, code: str, days: Sequence[date],
          by_sub_unit: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Figures per day of a unit (and of each sub-unit): {code: [row per day]}."""
    keys = divs.keys_under(code)
    subs = divs.sub_units(code) if by_sub_unit else []
    per_day: dict[date, dict[str, dict[str, int]]] = defaultdict(dict)
    in_range = [d for d in days if campaign.covers(d)]
    if in_range:
        stmt = select(AggStreetDay).where(AggStreetDay.day >= min(in_range), AggStreetDay.day <= max(in_range))
        if keys is not None:
            stmt = stmt.where(AggStreetDay.code.in_(sorted(keys)))
        for r in session.scalars(stmt):
            per_day[r.day][r.code] = {c: getattr(r, c) for c in COUNT_COLUMNS}
    for d in days:
        if not campaign.covers(d):
            per_day[d] = raw_counts(session, d, campaign, keys)
    level = divs.level.get(code, "city")
    out: dict[str, list[dict[str, Any]]] = {code: []}
    for c in subs:
        out[c] = []
    for d in days:
        raw = per_day.get(d, {})
        row = unit_row(divs, code, rollup(divs, raw, level, [code])[code])
        out[code].append({"day": d, **row})
        if subs:
            totals = rollup(divs, raw, divs.level[subs[0]], subs)
            for c in subs:
                out[c].append({"day": d, **unit_row(divs, c, totals[c])})
    return out


def scoped_street_filter(column: Any, divs: Divisions, code: str) -> Any:
    keys = divs.keys_under(code)
    return True if keys is None else column.in_(sorted(keys))


# --------------------------------------------------------------------------- reopening


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
        stmt = (select(AggStreetPlan.planned, func.sum(AggStreetPlan.pending)).where(AggStreetPlan.day == day)
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


def overdue_enterprises(session: Session, divs: Divisions, code: str, day: date, limit: int = 500) -> tuple[int, list[dict[str, Any]]]:
    """Enterprises whose declared reopening date has passed on ``day`` without reopening."""
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
    out = [{
        "enterprise": name, "uscc": uscc or "", "street": divs.display(street), "building": building or "",
        "planned": planned, "days_overdue": (day - planned).days, "contact": contact or "", "phone": phone or "",
        "reported_at": reported_at,
    } for name, uscc, street, building, planned, contact, phone, reported_at in rows]
    return int(total), out


# --------------------------------------------------------------------------- missing reports


def missing_buildings(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date,
                      limit: int = 1000) -> list[dict[str, Any]]:
    """Buildings with silent enterprises on ``day``, most silent first, with the owner's contact."""
    if campaign.covers(day):
        s = AggBuildingSpan
        spans = session.execute(
            select(s.building_id, s.enterprises, s.silent)
            .where(s.day_from <= day, s.day_to >= day, scoped_street_filter(s.street_code, divs, code))
            .order_by(s.silent.desc(), s.building_id).limit(limit)
        ).all()
    else:
        live = compute(session, DayRange(day, day, None), divs.keys_under(code)).building_spans
        live = live.sort_values(["silent", "building_id"], ascending=[False, True]).head(limit)
        spans = list(live[["building_id", "enterprises", "silent"]].itertuples(index=False, name=None))
    ids = [int(b) for b, _, _ in spans]
    info = {b.id: b for b in _chunked_get(session, Building, ids)}
    follow = latest_follow_ups(session, ids, day)
    out = []
    for building_id, enterprises, silent in spans:
        b = info.get(int(building_id))
        if b is None:
            continue
        f = follow.get(b.id)
        out.append({
            "building_id": b.id, "building": b.name, "street": divs.display(b.street_code), "street_code": b.street_code,
            "address": b.address or "", "enterprises": int(enterprises), "silent": int(silent),
            "owner": b.owner or "", "owner_contact": b.owner_contact or "", "owner_phone": b.owner_phone or "",
            "status": FOLLOW_UP_STATUSES.get(f.status, "") if f else "", "status_code": f.status if f else "",
            "note": (f.note or "") if f else "", "set_by": f.set_by if f else "",
            "set_at": f.set_at if f else None, "follow_day": f.day if f else None,
        })
    return out


def _chunked_get(session: Session, model: Any, ids: list[int], size: int = 900) -> list[Any]:
    out = []
    for i in range(0, len(ids), size):
        out.extend(session.scalars(select(model).where(model.id.in_(ids[i:i + size]))))
    return out


def record_follow_up(session: Session, building_id: int, day: date, status: str, note: str | None, user: str) -> FollowUp:
    if status not in FOLLOW_UP_STATUSES:
        raise ValueError(f"unknown follow-up status {status!r}")
    f = FollowUp(building_id=building_id, day=day, status=status, note=(note or "").strip()[:2000] or None,
                 set_by=user, set_at=config.local_now())
    session.add(f)
    session.flush()
    return f


def building(session: Session, building_id: int) -> Building | None:
    return session.get(Building, building_id)


def building_enterprises(session: Session, building_id: int, day: date) -> list[dict[str, Any]]:
    """The registered enterprises and shops of a building on ``day`` with their latest report by then."""
    end = datetime.combine(day + timedelta(days=1), time())
    ents = session.scalars(select(Enterprise).where(
        Enterprise.building_id == building_id,
        or_(Enterprise.registered_at.is_(None), Enterprise.registered_at < end)).order_by(Enterprise.name)).all()
    latest: dict[int, ReopeningReport] = {}
    ids = [e.id for e in ents]
    for i in range(0, len(ids), 900):
        for r in session.scalars(select(ReopeningReport).where(ReopeningReport.enterprise_id.in_(ids[i:i + 900]),
                                                               ReopeningReport.effective_at < end)
                                 .order_by(ReopeningReport.effective_at, ReopeningReport.id)):
            latest[r.enterprise_id] = r
    out = []
    for e in ents:
        r = latest.get(e.id)
        reopened = bool(r is not None and r.reopened is True and (r.actual_reopen_date is None or r.actual_reopen_date <= day))
        out.append({
            "enterprise_id": e.id, "enterprise": e.name, "uscc": e.uscc or "", "kind": e.kind,
            "is_shop": e.kind == SHOP_KIND, "reported": r is not None, "reopened": reopened,
            "planned": r.planned_reopen_date if r else None, "reported_at": r.effective_at if r else None,
            "contact": (r.contact_name or "") if r else "", "phone": (r.contact_phone or "") if r else "",
        })
    return out


def buildings_of_street(session: Session, campaign: Campaign, street: str, day: date) -> list[dict[str, Any]]:
    """Every registered building of a street with coordinates and silent enterprises on ``day`` (map points)."""
    end = datetime.combine(day + timedelta(days=1), time())
    blds = session.scalars(select(Building).where(Building.street_code == street,
                                                  or_(Building.registered_at.is_(None), Building.registered_at < end))
                           .order_by(Building.name)).all()
    silent: dict[int, tuple[int, int]] = {}
    if campaign.covers(day):
        for b, n, s in session.execute(select(AggBuildingSpan.building_id, AggBuildingSpan.enterprises, AggBuildingSpan.silent)
                                       .where(AggBuildingSpan.street_code == street, AggBuildingSpan.day_from <= day,
                                              AggBuildingSpan.day_to >= day)):
            silent[b] = (n, s)
    else:
        spans = compute(session, DayRange(day, day, None), {street}).building_spans
        silent = {int(b): (int(n), int(s)) for b, n, s in spans[["building_id", "enterprises", "silent"]].itertuples(index=False)}
    counts = dict(session.execute(select(Enterprise.building_id, func.count()).where(
        Enterprise.building_id.in_([b.id for b in blds] or [-1]), Enterprise.kind != SHOP_KIND,
        or_(Enterprise.registered_at.is_(None), Enterprise.registered_at < end)).group_by(Enterprise.building_id)).all())
    return [{"building_id": b.id, "building": b.name, "lng": b.lng, "lat": b.lat, "address": b.address or "",
             "enterprises": int(counts.get(b.id, 0)), "silent": silent.get(b.id, (0, 0))[1]} for b in blds]


# --------------------------------------------------------------------------- map geometry


@lru_cache(maxsize=1)
def _shipped_districts() -> dict[str, Any]:
    from etl.boundaries import SHANGHAI_DISTRICTS_PATH  # noqa: PLC0415

    data = json.loads(SHANGHAI_DISTRICTS_PATH.read_text(encoding="utf-8"))
    feats = []
    for f in data.get("features", []):
        props = f.get("properties") or {}
        code = str(props.get("code") or props.get("adcode") or "")
        if code:
            feats.append({"type": "Feature", "id": code, "properties": {"code": code}, "geometry": f["geometry"]})
    return {"type": "FeatureCollection", "features": feats}


def boundaries(session: Session, codes: Iterable[str]) -> dict[str, Any]:
    """GeoJSON of the units that have polygons (Boundary table; shipped district polygons otherwise)."""
    wanted = set(codes)
    feats = []
    found: set[str] = set()
    rows = session.execute(select(Boundary.code, Boundary.geometry).where(Boundary.code.in_(sorted(wanted)))).all()
    for code, geometry in rows:
        feats.append({"type": "Feature", "id": code, "properties": {"code": code}, "geometry": json.loads(geometry)})
        found.add(code)
    for f in _shipped_districts()["features"]:
        if f["id"] in wanted and f["id"] not in found:
            feats.append(f)
    return {"type": "FeatureCollection", "features": feats}


def unit_points(session: Session, codes: Iterable[str]) -> dict[str, tuple[float, float]]:
    """A point per unit (for units without a polygon): its boundary centroid, else the mean of its buildings."""
    wanted = sorted(set(codes))
    out: dict[str, tuple[float, float]] = {}
    for code, lng, lat in session.execute(select(Boundary.code, Boundary.centroid_lng, Boundary.centroid_lat)
                                          .where(Boundary.code.in_(wanted))):
        if lng is not None and lat is not None:
            out[code] = (lng, lat)
    rest = [c for c in wanted if c not in out]
    if rest:
        for code, lng, lat in session.execute(
                select(Building.street_code, func.avg(Building.lng), func.avg(Building.lat))
                .where(Building.street_code.in_(rest), Building.lng.is_not(None), Building.lat.is_not(None))
                .group_by(Building.street_code)):
            out[code] = (float(lng), float(lat))
    return out


# --------------------------------------------------------------------------- returning staff


@dataclass
class StaffBreakdown:
    by_origin: list[tuple[str, int]]
    by_return_date: list[tuple[date, int]]
    ending: list[tuple[date, int]]
    in_quarantine: int
    total: int
    arrived_today: int


def staff_breakdown(session: Session, divs: Divisions, code: str, day: date, soon_days: int = 3) -> StaffBreakdown:
    """Returning staff of a unit on ``day`` by origin, by return date, and quarantines ending soon (SQL aggregates)."""
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


# --------------------------------------------------------------------------- data quality


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
        "batch": b.id, "file": b.file_name, "kind": kind_label(b.kind), "status": STATUS_LABELS.get(b.status, b.status),
        "rows": b.rows, "inserted": b.inserted, "updated": b.updated, "unchanged": b.unchanged, "rejected": b.rejected,
        "started_at": b.started_at, "error": b.error or "",
    } for b in session.scalars(stmt)]


KIND_LABELS = {"returning_staff": "返岗人员登记", "reopening_report": "企业复工申报", "division": "区划表",
               "building": "楼宇台账", "enterprise": "企业名录"}
STATUS_LABELS = {"loaded": "已导入", "failed": "失败", "loading": "导入中", "unchanged": "未变化"}


def kind_label(kind: str | None) -> str:
    return "＋".join(KIND_LABELS.get(k, k) for k in (kind or "").split("+") if k)


FIELD_HEADERS = {f.name: f.header for kind in SOURCE_KINDS for f in kind.fields}


def rejects(session: Session, batch_ids: list[int] | None, limit: int = 2000) -> tuple[int, list[dict[str, Any]]]:
    base = select(Reject, ImportBatch.file_name).join(ImportBatch, ImportBatch.id == Reject.batch_id)
    count = select(func.count()).select_from(Reject)
    if batch_ids is not None:
        base = base.where(Reject.batch_id.in_(batch_ids or [-1]))
        count = count.where(Reject.batch_id.in_(batch_ids or [-1]))
    total = session.scalar(count) or 0
    rows = session.execute(base.order_by(Reject.batch_id.desc(), Reject.id).limit(limit)).all()
    return int(total), [{"batch": r.batch_id, "file": file_name, "sheet": r.sheet or "", "row": r.row_number,
                         "field": FIELD_HEADERS.get(r.field or "", r.field or ""), "reason": r.reason}
                        for r, file_name in rows]


PROVENANCE_FIGURES = {
    "reopened": "复工企业",
    "reported": "已填报企业",
    "enterprises": "登记企业",
    "shops_open": "已开业沿街商铺",
    "buildings_missing": "漏报楼宇",
    "returning_staff": "返岗人员",
    "in_quarantine": "隔离中人员",
}


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
    return ", ".join(parts[:limit]) + (" …" if len(parts) > limit else "")
