"""漏报 page queries: buildings with silent enterprises, their enterprises, follow-ups, a street's buildings,
silent enterprises of no registered building (未登记楼宇), enterprises pending confirmation (待核实) and
their confirmation."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.units import Campaign, scoped_street_filter
from etl import config
from etl.aggregate import DayRange, compute
from etl.divisions import DivisionTree as Divisions
from etl.export import latest_follow_ups, unplaced_silent
from etl.masking import as_shown
from etl.pending import confirm, pending_enterprises
from schemas.aggregates import AggBuildingSpan
from schemas.labels import FOLLOW_UP_LABELS
from schemas.models import CONFIRMED, Building, Enterprise, FollowUp, ReopeningReport
from schemas.sources import SHOP_KIND


def missing_buildings(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date,
                      limit: int = 1000, offset: int = 0, *, contacts: bool = False) -> list[dict[str, Any]]:
    """Buildings with silent enterprises on ``day``, most silent first, with the owner's contact (masked unless
    ``contacts``: dashboard.access.unmasked); ``limit`` of them from the ``offset``-th on (a page of the list)."""
    if campaign.covers(day):
        s = AggBuildingSpan
        spans = session.execute(
            select(s.building_id, s.enterprises, s.silent)
            .where(s.day_from <= day, s.day_to >= day, scoped_street_filter(s.street_code, divs, code))
            .order_by(s.silent.desc(), s.building_id).offset(offset).limit(limit)
        ).all()
    else:
        live = compute(session, DayRange(day, day, None), divs.keys_under(code)).building_spans
        live = live.sort_values(["silent", "building_id"], ascending=[False, True]).iloc[offset:offset + limit]
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
        person, phone = as_shown(b.owner_contact, b.owner_phone, contacts)
        out.append({
            "building_id": b.id, "building": b.name, "street": divs.display(b.street_code), "street_code": b.street_code,
            "address": b.address or "", "enterprises": int(enterprises), "silent": int(silent),
            "owner": b.owner or "", "owner_contact": person or "", "owner_phone": phone or "",
            "status": FOLLOW_UP_LABELS.get(f.status, "") if f else "", "status_code": f.status if f else "",
            "note": (f.note or "") if f else "", "set_by": f.set_by if f else "",
            "set_at": f.set_at if f else None, "follow_day": f.day if f else None,
        })
    return out


def unplaced_by_street(session: Session, divs: Divisions, code: str, day: date) -> list[dict[str, Any]]:
    """Per street under ``code``, its silent enterprises that no registered building holds (schemas.labels.UNPLACED):
    counted among the silent but in no building's list. Most first, then by street code."""
    streets: dict[str, int] = {}
    for e in unplaced_silent(session, divs.keys_under(code), day):
        streets[e["street_code"]] = streets.get(e["street_code"], 0) + 1
    return [{"street_code": s, "street": divs.display(s), "silent": n}
            for s, n in sorted(streets.items(), key=lambda kv: (-kv[1], kv[0]))]


def unplaced_of_street(session: Session, street: str, day: date) -> list[dict[str, Any]]:
    """The silent enterprises of one street that no registered building holds, by name."""
    return [{**e, "uscc": e["uscc"] or "", "address": e["address"] or ""} for e in unplaced_silent(session, {street}, day)]


def _chunked_get(session: Session, model: Any, ids: list[int], size: int = 900) -> list[Any]:
    out = []
    for i in range(0, len(ids), size):
        out.extend(session.scalars(select(model).where(model.id.in_(ids[i:i + size]))))
    return out


def record_follow_up(session: Session, building_id: int, day: date, status: str, note: str | None, user: str) -> FollowUp:
    if status not in FOLLOW_UP_LABELS:
        raise ValueError(f"unknown follow-up status {status!r}")
    f = FollowUp(building_id=building_id, day=day, status=status, note=(note or "").strip()[:2000] or None,
                 set_by=user, set_at=config.local_now())
    session.add(f)
    session.flush()
    return f


def building(session: Session, building_id: int) -> Building | None:
    return session.get(Building, building_id)


def building_enterprises(session: Session, building_id: int, day: date, *, contacts: bool = False) -> list[dict[str, Any]]:
    """The registered enterprises and shops of a building on ``day`` with their latest report by then (its contact
    masked unless ``contacts``)."""
    end = datetime.combine(day + timedelta(days=1), time())
    ents = session.scalars(select(Enterprise).where(
        Enterprise.building_id == building_id, Enterprise.status == CONFIRMED,
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
        contact, phone = as_shown(r.contact_name, r.contact_phone, contacts) if r else ("", "")
        out.append({
            "enterprise_id": e.id, "enterprise": e.name, "uscc": e.uscc or "", "kind": e.kind,
            "is_shop": e.kind == SHOP_KIND, "reported": r is not None, "reopened": reopened,
            "planned": r.planned_reopen_date if r else None, "reported_at": r.effective_at if r else None,
            "contact": contact or "", "phone": phone or "",
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
        Enterprise.building_id.in_([b.id for b in blds] or [-1]), Enterprise.kind != SHOP_KIND, Enterprise.status == CONFIRMED,
        or_(Enterprise.registered_at.is_(None), Enterprise.registered_at < end)).group_by(Enterprise.building_id)).all())
    return [{"building_id": b.id, "building": b.name, "lng": b.lng, "lat": b.lat, "address": b.address or "",
             "enterprises": int(counts.get(b.id, 0)), "silent": silent.get(b.id, (0, 0))[1]} for b in blds]



def pending_in_scope(session: Session, divs: Divisions, code: str) -> list[dict[str, Any]]:
    """Enterprises named through a QR code that wait for confirmation, in the streets under ``code``."""
    return [{"enterprise_id": p.id, "enterprise": p.name, "uscc": p.uscc or "", "street": divs.display(p.street_code),
             "building": p.building or "", "registered_at": p.registered_at, "reports": p.reports}
            for p in pending_enterprises(session, divs.streets_under(code))]


def confirm_pending(engine: Engine, divs: Divisions, scope_code: str, enterprise_id: int, user: str, *,
                    actor: str | None = None, address: str | None = None) -> str:
    """Confirm for an official: only in the streets of their scope (etl.pending.NotPending otherwise);
    ``actor`` and ``address`` go to the audit trail."""
    return confirm(engine, enterprise_id, user, divs.streets_under(scope_code), actor=actor, address=address)
