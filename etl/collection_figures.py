"""A collection's figures for a day (docs/collections.md#figures): per street, then rolled up street →
district → city by adding numerators and denominators, as etl.figures does for the built-in collections.

- expected: the respondents of the collection's scope registered and confirmed by the end of the day
  (enterprises, shops or both; only those of its buildings when it names some);
- answered: those with an answer for the day's period (the start day of a one-off collection, the day
  itself of a daily one) given before the end of the day;
- on time: those whose first answer for the period came by the deadline (deadline_of);
- completion rate (完成率) = answered ÷ expected, None when nothing is expected.

The counts and field totals are read from collection_figure (etl.collection_summary keeps it) when the collection
has no stale mark, else counted live from the answers; both give the same figures (tests/etl/test_collection_summary.py).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from etl import config
from etl.collections import building_ids, deadline_of, definition_of
from etl.divisions import DivisionTree
from etl.export import latest_follow_ups
from etl.figures import Day, ratio, registered_enterprises, roll_up
from schemas.collection_tables import (
    Collection, CollectionAnswer, CollectionFieldTotals, CollectionFigure, CollectionStale,
)
from schemas.collections import COUNTED, NUMERIC, CollectionDef
from schemas.models import Building, Enterprise
from schemas.sources import SHOP_KIND

STATUS_COUNTS = ("expected", "answered", "on_time")
LEVELS = ("city", "district", "street")
YES_NO = {True: "是", False: "否"}
"""How a yes/no answer is counted among a field's choices."""


def respondents(session: Session, collection: Collection, definition: CollectionDef, day: Day,
                streets: set[str] | None = None) -> Any:
    """Subquery (id, street_code, building_id, registered_at) of the respondents expected on the day (of ``streets``
    only, when given: a unit's view reads its own respondents, not the collection's)."""
    ent = registered_enterprises(day)
    stmt = select(ent.c.id, ent.c.street_code, ent.c.building_id, ent.c.registered_at)
    if definition.respondents == "enterprise":
        stmt = stmt.where(ent.c.kind != SHOP_KIND)
    elif definition.respondents == "shop":
        stmt = stmt.where(ent.c.kind == SHOP_KIND)
    if collection.scope_code != config.CITY_CODE:
        inside = DivisionTree.load(session).streets_under(collection.scope_code)
        stmt = stmt.where(ent.c.street_code.in_(sorted(inside) or [""]))
    if streets is not None:
        stmt = stmt.where(ent.c.street_code.in_(sorted(streets) or [""]))
    buildings = building_ids(session, definition)
    if buildings is not None:
        stmt = stmt.where(ent.c.building_id.in_(buildings or [-1]))
    return stmt.subquery("expected")


def period_for(definition: CollectionDef, day: date) -> date:
    return definition.start if definition.frequency == "once" else day


def answered(session: Session, collection: Collection, definition: CollectionDef, day: Day,
             streets: set[str] | None = None) -> Any:
    """Subquery (id, street_code, building_id, first_at, latest_id) of the expected respondents with, for the day's
    period and up to the day's end, the time of their first answer and the id of their latest (None: no answer).

    Both are looked up per respondent in ix_answer_latest, so a street's figures read its own respondents'
    answers, not the collection's million (benchmarks/bench_collections.py); a window over all answers, then
    filtered, took 2–3.5 s for any unit."""
    expected = respondents(session, collection, definition, day, streets)
    a = CollectionAnswer
    own = (a.collection_id == collection.id, a.period == period_for(definition, day.day), a.enterprise_id == expected.c.id,
           a.effective_at < day.end)
    first_at = select(func.min(a.effective_at)).where(*own).scalar_subquery()
    latest_id = select(a.id).where(*own).order_by(a.effective_at.desc(), a.id.desc()).limit(1).scalar_subquery()
    return select(expected.c.id, expected.c.street_code, expected.c.building_id, first_at.label("first_at"),
                  latest_id.label("latest_id")).subquery("answered")


def stored(session: Session, collection: Collection, day: date) -> bool:
    """Are the collection's figures of the day read from collection_figure (no stale mark, rows kept)?"""
    s = CollectionStale
    if session.scalar(select(s.id).where(or_(s.collection_id == collection.id, s.collection_id.is_(None))).limit(1)):
        return False
    f = CollectionFigure
    return session.scalar(select(f.id).where(f.collection_id == collection.id, f.day == day).limit(1)) is not None


def _stored_rows(table: type[CollectionFigure] | type[CollectionFieldTotals], collection: Collection, day: date,
                 streets: set[str] | None, *columns: Any) -> Any:
    stmt = select(*columns).where(table.collection_id == collection.id, table.day == day)
    return stmt if streets is None else stmt.where(table.street_code.in_(sorted(streets) or [""]))


def counted(session: Session, collection: Collection, definition: CollectionDef, day: date, key: str,
            streets: set[str] | None = None) -> dict[Any, dict[str, int]]:
    """expected, answered and on-time respondents per ``key`` (street_code or building_id) of ``answered``."""
    if stored(session, collection, day):
        f = CollectionFigure
        group = f.street_code if key == "street_code" else f.building_id
        stmt = _stored_rows(f, collection, day, streets, group, func.sum(f.expected), func.sum(f.answered),
                            func.sum(f.on_time)).group_by(group)
    else:
        rows = answered(session, collection, definition, Day(day), streets)
        deadline = deadline_of(definition, period_for(definition, day))
        has = rows.c.first_at.is_not(None)
        group = rows.c[key]
        stmt = select(group, func.count(), func.sum(case((has, 1), else_=0)),
                      func.sum(case((and_(has, rows.c.first_at <= deadline), 1), else_=0))).group_by(group)
    return {k: {"expected": int(n), "answered": int(a or 0), "on_time": int(t or 0)}
            for k, n, a, t in session.execute(stmt)}


def silent_groups(session: Session, collection: Collection, definition: CollectionDef, day: date,
                  streets: set[str] | None = None) -> Any:
    """Subquery (street_code, building_id, n) of the buildings (and streets' respondents of no building) with
    ``n`` expected respondents silent by the end of the day."""
    if stored(session, collection, day):
        f = CollectionFigure
        return (_stored_rows(f, collection, day, streets, f.street_code, f.building_id,
                             (f.expected - f.answered).label("n")).where(f.expected > f.answered).subquery("groups"))
    rows = answered(session, collection, definition, Day(day), streets)
    return (select(rows.c.street_code, rows.c.building_id, func.count().label("n")).where(rows.c.first_at.is_(None))
            .group_by(rows.c.street_code, rows.c.building_id).subquery("groups"))


def contribution(definition: CollectionDef, answers: dict[str, Any]) -> dict[str, Any]:
    """What one answer adds to its unit's field totals: each number field's value, a count of 1 for each choice
    of a yes/no or choice field it gives (a "choices" answer counts once for every choice it ticks)."""
    out: dict[str, Any] = {}
    for f in definition.fields:
        value = answers.get(f.key)
        if value is None:
            continue
        if f.type in NUMERIC:
            out[f.key] = value
        elif f.type in COUNTED:
            out[f.key] = {c: 1 for c in (value if isinstance(value, list) else [YES_NO.get(value, value)])}
    return out


def add_totals(target: dict[str, Any], totals: dict[str, Any]) -> None:
    """Add field totals (as ``contribution`` gives them, or sums of them) into ``target``."""
    for key, value in totals.items():
        if isinstance(value, dict):
            counts = target.setdefault(key, {})
            for choice, n in value.items():
                counts[choice] = counts.get(choice, 0) + n
        else:
            target[key] = target.get(key, 0) + value


def field_totals(session: Session, collection: Collection, day: date, streets: set[str] | None = None
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(street code, field totals) pieces whose sum per unit (add_totals) is its field summary: the stored
    streets' totals, else each latest answer's contribution."""
    if stored(session, collection, day):
        t = CollectionFieldTotals
        for street, text in session.execute(_stored_rows(t, collection, day, streets, t.street_code, t.fields)):
            yield street, json.loads(text)
        return
    definition = definition_of(collection)
    for _, street, _, answers in latest_answers(session, collection, day, streets):
        yield street, contribution(definition, answers)


def street_status(session: Session, collection: Collection, day: date,
                  streets: set[str] | None = None) -> dict[str, dict[str, int]]:
    """expected, answered and on-time respondents per street code (of ``streets`` only, when given)."""
    return counted(session, collection, definition_of(collection), day, "street_code", streets)


def status(session: Session, collection: Collection, day: date, level: str = "street",
           units: set[str] | None = None) -> list[dict[str, Any]]:
    """The figures per unit of ``level`` inside the collection's scope (and ``units`` when given), as
    `onenet collections status --json` prints them."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    tree = DivisionTree.load(session)
    raw = street_status(session, collection, day)
    if level == "city":
        codes = [config.CITY_CODE]
    else:
        # the units under the scope, and the one that holds it (a street's collection at district level)
        inside = tree.below(collection.scope_code) | {tree.unit_of(collection.scope_code, level)}
        codes = [c for c in tree.codes_at(level) if c in inside and (units is None or c in units)]
    return status_rows(tree, level, codes, raw)


def status_rows(tree: DivisionTree, level: str, codes: list[str], street_counts: dict[str, dict[str, int]]
                ) -> list[dict[str, Any]]:
    """The rows of ``codes`` (units of ``level``) from their streets' counts, as `onenet collections status` prints
    them: numerators and denominators added up (etl.figures.roll_up), the rate of the sums."""
    totals = roll_up(tree, street_counts, level, codes, STATUS_COUNTS)
    return [{"level": level, "code": c, "name": tree.display(c), **totals[c],
             "completion_rate": ratio(totals[c]["answered"], totals[c]["expected"])} for c in codes]


def latest_answers(session: Session, collection: Collection, day: date, streets: set[str] | None = None
                   ) -> list[tuple[int, str, int | None, dict[str, Any]]]:
    """(enterprise id, street code, building id, answers) of each expected respondent's latest answer for the
    day's period given by the end of the day; ``streets`` limits them (None: the whole scope)."""
    return [(i, s, b, a) for i, s, b, a, _ in latest_answers_at(session, collection, day, streets)]


def latest_answers_at(session: Session, collection: Collection, day: date, streets: set[str] | None = None
                      ) -> list[tuple[int, str, int | None, dict[str, Any], datetime]]:
    """latest_answers with the moment each of those answers was given."""
    rows = answered(session, collection, definition_of(collection), Day(day), streets)
    stmt = (select(rows.c.id, rows.c.street_code, rows.c.building_id, CollectionAnswer.answers,
                   CollectionAnswer.effective_at)
            .join(CollectionAnswer, CollectionAnswer.id == rows.c.latest_id))
    return [(i, s, b, json.loads(a), at) for i, s, b, a, at in session.execute(stmt)]


def field_summaries(session: Session, collection: Collection, day: date, level: str,
                    units: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per unit of ``level``: the sum of each integer or number field, and the count of each choice of each
    yes/no or choice field (contribution)."""
    tree = DivisionTree.load(session)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for street, totals in field_totals(session, collection, day):
        unit = tree.unit_of(street, level)
        if unit is not None and (units is None or unit in units):
            add_totals(out[unit], totals)
    return dict(out)


def missing_respondents(session: Session, collection: Collection, day: date, streets: set[str] | None = None
                        ) -> list[dict[str, Any]]:
    """The expected respondents without an answer by the end of the day, grouped by building (most silent first)
    with the owner's contact; those of no building last, per street."""
    rows = answered(session, collection, definition_of(collection), Day(day), streets)
    stmt = (select(rows.c.building_id, rows.c.street_code, Enterprise.name, Enterprise.uscc)
            .join(Enterprise, Enterprise.id == rows.c.id)
            .where(rows.c.first_at.is_(None)).order_by(rows.c.street_code, Enterprise.name))
    groups: dict[tuple[str, int | None], list[tuple[str, str | None]]] = defaultdict(list)
    for building, street, name, uscc in session.execute(stmt):
        groups[(street, building)].append((name, uscc))
    ids = [b for _, b in groups if b is not None]
    buildings = {b.id: b for start in range(0, len(ids), 900)
                 for b in session.scalars(select(Building).where(Building.id.in_(ids[start:start + 900])))}
    follow = latest_follow_ups(session, ids, day)
    tree = DivisionTree.load(session)
    out = []
    for (street, building_id), silent in groups.items():
        b = buildings.get(building_id) if building_id is not None else None
        f = follow.get(building_id) if building_id is not None else None
        out.append({"id": building_id, "street_code": street, "street": tree.display(street),
                    "name": b.name if b else None, "address": b.address if b else None, "owner": b.owner if b else None,
                    "owner_contact": b.owner_contact if b else None, "owner_phone": b.owner_phone if b else None,
                    "silent": silent, "follow_up": f.status if f else None, "follow_up_note": f.note if f else None})
    out.sort(key=lambda r: (r["id"] is None, -len(r["silent"]), r["street_code"], r["name"] or ""))
    return out
