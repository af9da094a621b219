"""信息收集 page queries: the collections a viewer may see, and one collection's completion per unit and building,
missing respondents, field summaries and answers, cut on the server to the streets the viewer may see.

The counts are etl.collection_figures': its subqueries of expected respondents and answers, grouped here by
street (or building) over the viewer's streets only, so that a street official's view of a city-wide collection
reads their street, not the city; units add up their streets' numerators and denominators as ``status`` does.

Who sees a collection: one whose scope lies inside the viewer's unit, or holds it (a district's collection is a
street official's too, cut to their street); a draft only a user who may launch collections, inside their scope.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.units import Campaign, unit_figures
from etl import config
from etl.collection_export import shown
from etl.collection_figures import (
    STATUS_COUNTS, YES_NO, add_totals, answered, counted, field_totals, silent_groups, status_rows,
)
from etl.collections import definition_of
from etl.divisions import DivisionTree as Divisions
from etl.export import latest_follow_ups
from etl.figures import LABELS, Day
from etl.masking import as_shown
from schemas.collection_tables import Collection, CollectionAnswer
from schemas.collections import (
    CLOSED, COUNTED, DRAFT, FREQUENCIES, NUMERIC, OPEN, RESPONDENTS, STATUSES, CollectionDef,
)
from schemas.labels import FOLLOW_UP_LABELS, UNPLACED
from schemas.models import Building, Enterprise

STATUS_ORDER = {OPEN: 0, DRAFT: 1, CLOSED: 2}
ANSWERS_SHOWN = 2000
"""Answers the page's grid holds at most (the export has them all)."""


@dataclass(frozen=True)
class Reach:
    """One collection as one viewer sees it: the unit shown (inside both the viewer's scope and the collection's)
    and the day its figures are for (the page's day kept within the collection's days)."""

    collection: Collection
    definition: CollectionDef
    code: str
    day: date
    asked: date  # the page's day

    @property
    def id(self) -> int:
        return self.collection.id


def covers(divs: Divisions, outer: str, inner: str) -> bool:
    """Is ``inner`` (a known unit) ``outer`` or inside it?"""
    return (inner in divs or inner == config.CITY_CODE) and outer in divs.path(inner)


def visible(divs: Divisions, scope_code: str, collection: Collection, may_launch: bool) -> bool:
    """May a viewer of ``scope_code`` see ``collection`` at all (cut to their scope)?"""
    inside = covers(divs, scope_code, collection.scope_code)
    if collection.status == DRAFT:
        return may_launch and inside
    return inside or covers(divs, collection.scope_code, scope_code)


def clamp(definition: CollectionDef, day: date) -> date:
    return min(max(day, definition.start), definition.end)


def reach_of(divs: Divisions, scope_code: str, collection: Collection, code: str, day: date) -> Reach:
    """The unit a viewer sees of a collection they may see: ``code`` (the page's unit, inside their scope) when it
    overlaps the collection, else the narrower of their scope and the collection's."""
    definition = definition_of(collection)
    if covers(divs, collection.scope_code, code):
        unit = code
    elif covers(divs, code, collection.scope_code):
        unit = collection.scope_code
    else:
        unit = collection.scope_code if covers(divs, scope_code, collection.scope_code) else scope_code
    return Reach(collection, definition, unit, clamp(definition, day), day)


def find(session: Session, divs: Divisions, scope_code: str, may_launch: bool, ident: Any, code: str,
         day: date) -> Reach | None:
    """The collection a request names (its id comes from the browser), if the viewer may see it; else None."""
    try:
        collection = session.get(Collection, int(str(ident)))
    except (TypeError, ValueError):
        return None
    if collection is None or not visible(divs, scope_code, collection, may_launch):
        return None
    return reach_of(divs, scope_code, collection, code, day)


def streets_of(divs: Divisions, code: str) -> set[str] | None:
    """The streets under a unit (None: the whole city, no filter)."""
    return None if divs.level_of(code) == "city" else divs.streets_under(code)


def _grouped(session: Session, reach: Reach, by: str, streets: set[str] | None) -> dict[Any, dict[str, int]]:
    """expected, answered and on-time respondents per street code or building id, as street_status counts them."""
    return counted(session, reach.collection, reach.definition, reach.day,
                   "street_code" if by == "street" else "building_id", streets)


def street_counts(session: Session, reach: Reach, divs: Divisions) -> dict[str, dict[str, int]]:
    """Counts per street of the unit shown."""
    return _grouped(session, reach, "street", streets_of(divs, reach.code))


def status_row(divs: Divisions, code: str, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """A unit's row as `onenet collections status` prints it, from its streets' counts."""
    return status_rows(divs, divs.level_of(code), [code], counts)[0]


def sub_unit_rows(divs: Divisions, code: str, counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """The rows of the districts of the city or the streets of a district (none below a street)."""
    return [status_row(divs, sub, counts) for sub in divs.sub_units(code)]


def building_rows(session: Session, reach: Reach) -> list[dict[str, Any]]:
    """The buildings of the street shown that hold expected respondents, with how many and how many are silent
    (the street map's points, ui.unit_map's building dicts)."""
    counts = _grouped(session, reach, "building", {reach.code})
    ids = sorted(b for b in counts if b is not None)
    rows = []
    for start in range(0, len(ids), 900):
        for b in session.scalars(select(Building).where(Building.id.in_(ids[start:start + 900]))):
            c = counts[b.id]
            rows.append({"building_id": b.id, "building": b.name, "lng": b.lng, "lat": b.lat, "address": b.address or "",
                         "enterprises": c["expected"], "silent": c["expected"] - c["answered"]})
    rows.sort(key=lambda r: (-r["silent"], r["building"]))
    return rows


# --------------------------------------------------------------------------- the list


def _deadline_text(definition: CollectionDef) -> str:
    if definition.frequency == "daily":
        return f"每日 {(definition.deadline or time(10, 0)).strftime('%H:%M')} 前"
    at = "" if definition.deadline in (None, time.max) else " " + definition.deadline.strftime("%H:%M")
    return f"{definition.end.isoformat()}{at} 前"


def describe(divs: Divisions, collection: Collection, definition: CollectionDef) -> dict[str, Any]:
    """What the list and the view say of a collection, in the interface's words."""
    days = (definition.start.isoformat() if definition.start == definition.end
            else f"{definition.start.isoformat()} 至 {definition.end.isoformat()}")
    return {"id": collection.id, "title": collection.title, "department": collection.department or "",
            "scope_code": collection.scope_code, "scope": divs.display(collection.scope_code),
            "status": collection.status, "status_label": STATUSES.get(collection.status, collection.status),
            "frequency": FREQUENCIES[definition.frequency], "days": days, "deadline": _deadline_text(definition),
            "respondents": RESPONDENTS[definition.respondents], "buildings": "、".join(definition.buildings),
            "fields": len(definition.fields)}


def listing(session: Session, divs: Divisions, scope_code: str, code: str, day: date,
            may_launch: bool) -> list[dict[str, Any]]:
    """The collections of the page's unit a viewer may see, open first, then drafts, then closed ones (newest first
    within each), each with its completion for the unit shown and the day (none for a draft), and whether the viewer
    may change it on the builder page (inside their scope, not closed)."""
    found = [c for c in session.scalars(select(Collection).order_by(Collection.id.desc()))
             if visible(divs, scope_code, c, may_launch)
             and (covers(divs, code, c.scope_code) or covers(divs, c.scope_code, code))]
    found.sort(key=lambda c: STATUS_ORDER.get(c.status, 3))
    rows = []
    for c in found:
        reach = reach_of(divs, scope_code, c, code, day)
        row = describe(divs, c, reach.definition) | {"unit_code": reach.code, "unit": divs.display(reach.code),
                                                      "day": reach.day, "editable": may_launch and c.status != CLOSED
                                                      and covers(divs, scope_code, c.scope_code)}
        if c.status != DRAFT:
            row |= {k: v for k, v in status_row(divs, reach.code, street_counts(session, reach, divs)).items()
                    if k in (*STATUS_COUNTS, "completion_rate")}
        rows.append(row)
    return rows


def builtin_rows(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date) -> list[dict[str, Any]]:
    """The two collections written into onenet, with their figures of etl.figures for the unit and day."""
    f = unit_figures(session, divs, campaign, code, day)
    return [
        {"key": "reopening", "title": "企业复工申报", "href": "/reopening", "answered": f["reported"],
         "expected": f["enterprises"], "completion_rate": f["reporting_coverage"],
         "figures": f"{LABELS['reporting_coverage']}：{LABELS['reported']} ÷ {LABELS['enterprises']}"},
        {"key": "staff", "title": "返岗人员登记", "href": "/staff", "people": f["returning_staff"],
         "in_quarantine": f["in_quarantine"], "figures": f"{LABELS['returning_staff']}（{LABELS['in_quarantine']} "
                                                         f"{f['in_quarantine']:,} 人）"},
    ]


# --------------------------------------------------------------------------- one collection


@dataclass(frozen=True)
class Missing:
    groups: int  # buildings (and streets' respondents of no building) with silent respondents
    silent: int
    page: list[dict[str, Any]]


def _silent(session: Session, reach: Reach, streets: set[str]) -> Any:
    """Subquery (id, street_code, building_id) of the silent respondents of ``streets``."""
    rows = answered(session, reach.collection, reach.definition, Day(reach.day), streets)
    return (select(rows.c.id, rows.c.street_code, rows.c.building_id).where(rows.c.first_at.is_(None))
            .subquery("silent"))


def missing(session: Session, divs: Divisions, reach: Reach, *, contacts: bool, page: int = 1,
            size: int = 20) -> Missing:
    """The silent respondents of the unit shown grouped by building as etl.collection_figures.missing_respondents
    groups and orders them (most silent first; those of no building last, one group per street), one page of groups
    at a time, grouped and paged in SQL; the owner's contact masked unless ``contacts`` (dashboard.access.unmasked)."""
    groups = silent_groups(session, reach.collection, reach.definition, reach.day, streets_of(divs, reach.code))
    total, people = session.execute(select(func.count(), func.coalesce(func.sum(groups.c.n), 0))).one()
    shown = session.execute(
        select(groups.c.street_code, groups.c.building_id, groups.c.n, Building.name)
        .outerjoin(Building, Building.id == groups.c.building_id)
        .order_by(groups.c.building_id.is_(None), groups.c.n.desc(), groups.c.street_code, Building.name)
        .offset((max(page, 1) - 1) * size).limit(size)).all()
    ids = [b for _, b, _, _ in shown if b is not None]
    streets = sorted({street for street, b, _, _ in shown if b is None})
    names: dict[tuple[str, int | None], list[dict[str, str]]] = {}
    if shown:
        silent = _silent(session, reach, {street for street, _, _, _ in shown})
        of_page = or_(silent.c.building_id.in_(ids or [-1]),
                      and_(silent.c.building_id.is_(None), silent.c.street_code.in_(streets or [""])))
        for street, b, name, uscc in session.execute(
                select(silent.c.street_code, silent.c.building_id, Enterprise.name, Enterprise.uscc)
                .join(Enterprise, Enterprise.id == silent.c.id).where(of_page).order_by(Enterprise.name)):
            names.setdefault((street, b), []).append({"name": name, "uscc": uscc or ""})
    buildings = {b.id: b for b in session.scalars(select(Building).where(Building.id.in_(ids or [-1])))}
    follow = latest_follow_ups(session, ids, reach.day)
    rows = []
    for street, b, _, _ in shown:
        building, f = buildings.get(b), follow.get(b)
        person, phone = as_shown(building.owner_contact, building.owner_phone, contacts) if building else (None, None)
        rows.append({"building_id": b, "building": building.name if building else UNPLACED, "street": divs.display(street),
                     "street_code": street, "owner": (building.owner if building else None) or "",
                     "owner_contact": person or "", "owner_phone": phone or "", "silent": names.get((street, b), []),
                     "status_code": f.status if f else "", "status": FOLLOW_UP_LABELS.get(f.status, "") if f else "",
                     "note": (f.note or "") if f else ""})
    return Missing(int(total), int(people), rows)


def summaries(session: Session, divs: Divisions, reach: Reach) -> dict[str, Any]:
    """etl.collection_figures.field_summaries of the unit shown (``total``) and of its sub-units (``units``: one row per
    sub-unit, the numeric fields summed), from one read of the field totals of the unit's streets; ``choices``: per
    yes/no or choice field of the unit, its choices and their counts."""
    numeric = [f for f in reach.definition.fields if f.type in NUMERIC]
    counted = [f for f in reach.definition.fields if f.type in COUNTED]
    subs = divs.sub_units(reach.code)
    sub_level = divs.level_of(subs[0]) if subs else ""
    total: dict[str, Any] = {}
    by_unit: dict[str, dict[str, Any]] = {s: {} for s in subs}
    for street, totals in field_totals(session, reach.collection, reach.day, streets_of(divs, reach.code)):
        add_totals(total, totals)
        sub = by_unit.get(divs.unit_of(street, sub_level) or "") if subs else None
        if sub is not None:
            add_totals(sub, totals)
    choices = []
    for f in counted:
        order = list(YES_NO.values()) if f.type == "yes_no" else f.choices
        choices.append({"key": f.key, "label": f.label, "labels": order,
                        "counts": [total.get(f.key, {}).get(c, 0) for c in order]})
    return {"numeric": [(f.key, f.label) for f in numeric], "total": {f.key: total.get(f.key, 0) for f in numeric},
            "units": [{"code": s, "name": divs.display(s), **{f.key: by_unit[s].get(f.key, 0) for f in numeric}}
                      for s in subs],
            "choices": choices}


def answers(session: Session, divs: Divisions, reach: Reach, *, personal: bool,
            limit: int = ANSWERS_SHOWN) -> tuple[int, list[dict[str, Any]], list[tuple[str, str]]]:
    """(how many, the first ``limit`` rows, the grid's columns) of the latest answer of each respondent of the unit
    shown (etl.collection_figures.latest_answers), in the export's order (street, building, name) and written as the
    export writes them (etl.collection_export.shown): names and phones masked unless ``personal``, resident IDs
    only ever masked. The rows come street by street, so only the first streets holding ``limit`` answers are read
    (their counts from street_counts): a city's answers cost a page of them."""
    per_street = street_counts(session, reach, divs)
    total, read = 0, set()
    for street in sorted(per_street):
        if total < limit:
            read.add(street)
        total += per_street[street]["answered"]
    rows = answered(session, reach.collection, reach.definition, Day(reach.day), read)
    latest = (select(rows.c.street_code, rows.c.building_id, rows.c.id, CollectionAnswer.answers,
                     CollectionAnswer.effective_at)
              .join(CollectionAnswer, CollectionAnswer.id == rows.c.latest_id).subquery("latest"))
    fields = reach.definition.fields
    rows = []
    for street, building, name, uscc, answers, at in session.execute(
            select(latest.c.street_code, Building.name, Enterprise.name, Enterprise.uscc, latest.c.answers,
                   latest.c.effective_at)
            .join(Enterprise, Enterprise.id == latest.c.id).outerjoin(Building, Building.id == latest.c.building_id)
            .order_by(latest.c.street_code, Building.name.is_(None), Building.name, Enterprise.name).limit(limit)):
        values = json.loads(answers)
        district = divs.unit_of(street, "district")
        rows.append({"@district": divs.display(district) if district else None, "@street": divs.display(street),
                     "@building": building, "@name": name, "@uscc": uscc, "@submitted_at": at,
                     **{f.key: shown(f, values.get(f.key), personal) for f in fields}})
    columns = [("@district", "区"), ("@street", "街道"), ("@building", "楼宇"),
               ("@name", "店铺名称" if reach.definition.respondents == "shop" else "企业名称"),
               ("@uscc", "统一社会信用代码")]
    columns += [(f.key, f.label) for f in fields] + [("@submitted_at", "填报时间")]
    return int(total), rows, columns
