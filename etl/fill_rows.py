"""The rows a filled template gets: one per district, street, building, enterprise or shop in the user's scope,
each a dict of the names of schemas.fill_columns (its name, attributes, and for districts, streets and buildings
the counts and rates of etl.figures, computed as `onenet summary` computes them)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from etl import config
from etl.database import sorts_on_disk
from etl.divisions import DivisionTree
from etl.figures import COUNTS, Day, building_figures, enterprise_state, latest_reports, roll_up, street_figures, with_rates
from etl.masking import as_shown
from etl.scope import Scope
from schemas.fill_columns import UNIT_LABELS
from schemas.models import Building, Enterprise

LEVEL_RANK = {"city": 0, "district": 1, "street": 2}


class OutOfScope(ValueError):
    """Rows coarser than the user's scope (a street official given a template of one row per district)."""


def rows_for(session: Session, unit: str, scope: Scope, day: date, personal: bool) -> Iterator[dict[str, Any]]:
    """The rows of ``unit`` inside ``scope`` on ``day``, in the order of the registries (by code, street, name)."""
    if unit in LEVEL_RANK and LEVEL_RANK[unit] < LEVEL_RANK[scope.level]:
        raise OutOfScope(f"本模板每行一个{UNIT_LABELS[unit]}，而您的范围是{scope.name}："
                         f"请用每行一个街道、楼宇或企业的模板")
    tree = DivisionTree.load(session)
    if unit in ("district", "street"):
        return _division_rows(session, tree, unit, scope, day)
    if unit == "building":
        return _building_rows(session, tree, scope, day, personal)
    return _enterprise_rows(session, tree, scope, day, personal, shops=unit == "shop")


def _district_name(tree: DivisionTree, code: str | None) -> str | None:
    district = tree.ancestor(code, "district")
    return tree.display(district) if district else None


def _division_rows(session: Session, tree: DivisionTree, level: str, scope: Scope, day: date) -> Iterator[dict[str, Any]]:
    allowed = scope.districts if level == "district" else scope.streets
    codes = [c for c in tree.codes_at(level) if scope.level == "city" or c in allowed]
    totals = roll_up(tree, street_figures(session, Day(day)), level, codes)
    for code in codes:
        yield {"name": tree.display(code), "code": code, "district": _district_name(tree, code),
               **with_rates(totals[code])}


def _building_rows(session: Session, tree: DivisionTree, scope: Scope, day: date,
                   personal: bool) -> Iterator[dict[str, Any]]:
    figures = building_figures(session, Day(day))
    empty = {**dict.fromkeys(COUNTS, 0), "buildings": 1}
    stmt = (select(Building)
            .where(or_(Building.registered_at.is_(None), Building.registered_at < Day(day).end))
            .order_by(Building.street_code, Building.name, Building.id))
    if scope.level != "city":
        stmt = stmt.where(Building.street_code.in_(sorted(scope.streets) or [""]))
    for b in session.scalars(stmt.execution_options(yield_per=config.STREAM_ROWS)):
        contact, phone = as_shown(b.owner_contact, b.owner_phone, personal)
        yield {"name": b.name, "street": tree.display(b.street_code), "district": _district_name(tree, b.street_code),
               "address": b.address, "community": b.community_name, "owner": b.owner, "owner_contact": contact,
               "owner_phone": phone, "building_type": b.building_type, "lng": b.lng, "lat": b.lat,
               **with_rates(figures.get(b.id, empty))}


def _enterprise_rows(session: Session, tree: DivisionTree, scope: Scope, day: date, personal: bool,
                     shops: bool) -> Iterator[dict[str, Any]]:
    d = Day(day)
    state = enterprise_state(session, d)
    latest = latest_reports(d)
    stmt = (
        select(Enterprise.name, Enterprise.uscc, Enterprise.street_code, Building.name, Enterprise.address,
               Enterprise.industry, Enterprise.kind, state.c.reported, state.c.reopened, latest.c.planned_reopen_date,
               latest.c.actual_reopen_date, latest.c.staff_total, Enterprise.staff_total, latest.c.staff_returned,
               latest.c.staff_quarantined, latest.c.contact_name, latest.c.contact_phone, latest.c.submitted_at)
        .select_from(state)
        .join(Enterprise, Enterprise.id == state.c.id)
        .outerjoin(Building, Building.id == Enterprise.building_id)
        .outerjoin(latest, latest.c.enterprise_id == Enterprise.id)
        .where(state.c.is_shop.is_(shops))
        .order_by(Enterprise.street_code, Building.name, Enterprise.name, Enterprise.id)
    )
    if scope.level != "city":
        stmt = stmt.where(Enterprise.street_code.in_(sorted(scope.streets) or [""]))
    with sorts_on_disk(session):
        yield from _enterprise_dicts(session.execute(stmt.execution_options(yield_per=config.STREAM_ROWS)), tree, personal)


def _enterprise_dicts(result: Any, tree: DivisionTree, personal: bool) -> Iterator[dict[str, Any]]:
    streets: dict[str, tuple[str, str | None]] = {}
    for (name, uscc, street, building, address, industry, kind, reported, reopened, planned, actual, reported_total,
         registry_total, returned, quarantined, contact, phone, submitted) in result:
        if street not in streets:
            streets[street] = (tree.display(street), _district_name(tree, street))
        contact, phone = as_shown(contact, phone, personal)
        yield {"name": name, "enterprise_name": name, "uscc": uscc, "street": streets[street][0],
               "district": streets[street][1], "building": building, "address": address, "industry": industry,
               "kind": kind, "reported": bool(reported), "reopened": bool(reopened) if reported else None,
               "planned_reopen_date": planned, "actual_reopen_date": actual,
               "staff_total": reported_total if reported_total is not None else registry_total,
               "staff_returned": returned, "staff_quarantined": quarantined, "contact_name": contact,
               "contact_phone": phone, "submitted_at": submitted}

