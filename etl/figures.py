"""The figures officials act on, computed by SQL over the database for any day.

Every figure is computed per street (the finest unit that enterprises and buildings belong to) and
rolled up by adding numerators and denominators, street → district → city; rates are never averaged.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from etl import config
from etl.divisions import DivisionTree
from schemas.models import CONFIRMED, Building, Enterprise, ReopeningReport, ReturningStaff
from schemas.sources import SHOP_KIND

COUNTS = ("enterprises", "reopened", "shops", "shops_open", "staff_total", "staff_returned", "reported",
          "reported_on_time", "buildings", "buildings_missing", "returning_staff", "in_quarantine")
RATES: dict[str, tuple[str, str]] = {  # rate → (numerator, denominator), both counts
    "reopening_rate": ("reopened", "enterprises"),
    "shop_reopening_rate": ("shops_open", "shops"),
    "staff_return_rate": ("staff_returned", "staff_total"),
    "reporting_coverage": ("reported", "enterprises"),
    "timeliness": ("reported_on_time", "reported"),
}
FIGURES = COUNTS + tuple(RATES)
LABELS = {  # the one Chinese name of each figure: dashboard cards, workbook headers, provenance
    "enterprises": "登记企业", "reopened": "已复工企业", "reopening_rate": "复工率",
    "shops": "沿街商铺", "shops_open": "已开业商铺", "shop_reopening_rate": "商铺开业率",
    "staff_total": "员工总数", "staff_returned": "已返岗人数", "staff_return_rate": "返岗率",
    "reported": "已填报企业", "reporting_coverage": "填报率",
    "reported_on_time": "及时填报企业", "timeliness": "及时率",
    "buildings": "登记楼宇", "buildings_missing": "漏报楼宇", "returning_staff": "返岗人员", "in_quarantine": "隔离中",
}
BETTER: dict[str, int] = {  # which way a figure should move: 1 up, -1 down, 0 neither (a count of what there is)
    "enterprises": 0, "reopened": 1, "reopening_rate": 1, "shops": 0, "shops_open": 1, "shop_reopening_rate": 1,
    "staff_total": 0, "staff_returned": 1, "staff_return_rate": 1, "reported": 1, "reporting_coverage": 1,
    "reported_on_time": 1, "timeliness": 1, "buildings": 0, "buildings_missing": -1, "returning_staff": 0,
    "in_quarantine": -1,
}
"""Whether a change of a figure is good news, for colouring it: more reopened is good, more buildings
missing reports or more people in quarantine is bad; registered units, staff and people returned are
what there is, neither good nor bad."""
LEVELS = ("city", "district", "street")


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def with_rates(counts: dict[str, int]) -> dict[str, Any]:
    """The counts and the rates made of them (None where the denominator is 0)."""
    return {**{k: counts[k] for k in COUNTS}, **{rate: ratio(counts[n], counts[d]) for rate, (n, d) in RATES.items()}}


def roll_up(tree: DivisionTree, raw: Mapping[str | None, Mapping[str, int]], level: str,
            units: Iterable[str] | None = None, counts: Sequence[str] = COUNTS) -> dict[str, dict[str, int]]:
    """``counts`` per unit of ``level`` (all of them, or ``units``): numerators and denominators of the streets
    (and districts, for staff without a street) below each unit added up, never rates averaged."""
    if level == "city":
        totals = {config.CITY_CODE: dict.fromkeys(counts, 0)}
    else:
        totals = {c: dict.fromkeys(counts, 0) for c in (units if units is not None else tree.codes_at(level))}
    for code, given in raw.items():
        unit = tree.unit_of(code or None, level)
        if unit is None or unit not in totals:
            continue
        target = totals[unit]
        for key in counts:
            target[key] += given.get(key, 0)
    return totals


def unit_row(tree: DivisionTree, code: str, counts: dict[str, int]) -> dict[str, Any]:
    """One unit's row as `onenet summary` prints it: level, code, name, parent, counts, rates."""
    return {"level": tree.level.get(code, "city"), "code": code, "name": tree.display(code),
            "parent_code": tree.parent.get(code), **with_rates(counts)}


@dataclass(frozen=True)
class Day:
    day: date

    @property
    def end(self) -> datetime:
        """Exclusive end of the day: a report counts when it arrived before this moment."""
        return datetime.combine(self.day + timedelta(days=1), time())



def latest_reports(day: Day):  # type: ignore[no-untyped-def]
    """Each enterprise's latest report counting on the day (values already carried forward)."""
    ranked = select(
        ReopeningReport,
        func.row_number().over(
            partition_by=ReopeningReport.enterprise_id,
            order_by=(ReopeningReport.effective_at.desc(), ReopeningReport.id.desc()),
        ).label("rn"),
    ).where(ReopeningReport.effective_at < day.end).subquery()
    return select(ranked).where(ranked.c.rn == 1).subquery("latest")


def registered_enterprises(day: Day):  # type: ignore[no-untyped-def]
    """The enterprises counted on the day: registered by then and confirmed (a pending one counts nowhere)."""
    return select(Enterprise).where(Enterprise.status == CONFIRMED,
                                    or_(Enterprise.registered_at.is_(None), Enterprise.registered_at < day.end)).subquery("ent")


def enterprise_state(session: Session, day: Day):  # type: ignore[no-untyped-def]
    """Per registered enterprise on the day: shop or not, reported, reopened, staff counts, reported on time."""
    ent = registered_enterprises(day)
    latest = latest_reports(day)
    is_shop = ent.c.kind == SHOP_KIND
    reopened = and_(latest.c.reopened.is_(True),
                    or_(latest.c.actual_reopen_date.is_(None), latest.c.actual_reopen_date <= day.day))
    both = and_(latest.c.staff_total.is_not(None), latest.c.staff_returned.is_not(None))
    first = (select(ReopeningReport.enterprise_id, func.min(ReopeningReport.effective_at).label("first_at"))
             .where(ReopeningReport.effective_at < day.end)
             .group_by(ReopeningReport.enterprise_id).subquery("first"))
    # Reported no later than the day it reopened: the latest report says it has not, or names a day on or
    # after the first report's (a reopening without a date cannot show it was declared in time).
    on_time = and_(latest.c.id.is_not(None),
                   or_(latest.c.reopened.is_not(True), latest.c.actual_reopen_date >= func.date(first.c.first_at)))
    return (
        select(
            ent.c.id, ent.c.street_code, ent.c.building_id,
            is_shop.label("is_shop"),
            (latest.c.id.is_not(None)).label("reported"),
            reopened.label("reopened"),
            case((both, latest.c.staff_total), else_=None).label("staff_total"),
            case((both, latest.c.staff_returned), else_=None).label("staff_returned"),
            on_time.label("on_time"),
        )
        .select_from(ent)
        .outerjoin(latest, latest.c.enterprise_id == ent.c.id)
        .outerjoin(first, first.c.enterprise_id == ent.c.id)
        .subquery("state")
    )


def _flag(condition) -> Any:  # type: ignore[no-untyped-def]
    return func.sum(case((condition, 1), else_=0))


def _enterprise_counts(session: Session, state: Any, group: Any) -> list[tuple[Any, ...]]:
    """Per ``group`` value: the enterprise and shop counts of COUNTS (the first eight), one SQL GROUP BY."""
    not_shop = state.c.is_shop.is_(False)
    return session.execute(
        select(
            group,
            _flag(not_shop),
            _flag(and_(not_shop, state.c.reopened)),
            _flag(state.c.is_shop),
            _flag(and_(state.c.is_shop, state.c.reopened)),
            func.coalesce(func.sum(case((not_shop, state.c.staff_total), else_=0)), 0),
            func.coalesce(func.sum(case((not_shop, state.c.staff_returned), else_=0)), 0),
            _flag(and_(not_shop, state.c.reported)),
            _flag(and_(not_shop, state.c.on_time)),
        ).group_by(group)
    ).all()


ENTERPRISE_COUNTS = ("enterprises", "reopened", "shops", "shops_open", "staff_total", "staff_returned", "reported",
                     "reported_on_time")


def street_figures(session: Session, day: Day) -> dict[str, dict[str, int]]:
    """Raw counts per street code (and per district code for staff without a street)."""
    figures: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    state = enterprise_state(session, day)
    not_shop = state.c.is_shop.is_(False)
    for street, *values in _enterprise_counts(session, state, state.c.street_code):
        target = figures[street]
        for key, value in zip(ENTERPRISE_COUNTS, values):
            target[key] += int(value or 0)

    silent = (
        select(state.c.building_id, _flag(and_(not_shop, state.c.reported.is_(False))).label("silent"))
        .where(state.c.building_id.is_not(None)).group_by(state.c.building_id).subquery("silent")
    )
    buildings = session.execute(
        select(Building.street_code, func.count(Building.id),
               func.sum(case((func.coalesce(silent.c.silent, 0) > 0, 1), else_=0)))
        .select_from(Building)
        .outerjoin(silent, silent.c.building_id == Building.id)
        .where(or_(Building.registered_at.is_(None), Building.registered_at < day.end))
        .group_by(Building.street_code)
    ).all()
    for street, total, missing in buildings:
        figures[street]["buildings"] += int(total or 0)
        figures[street]["buildings_missing"] += int(missing or 0)

    person_street = func.coalesce(Enterprise.street_code, ReturningStaff.street_code)
    staff = session.execute(
        select(
            person_street, ReturningStaff.district_code,
            func.count(func.distinct(ReturningStaff.person_key)),
            func.count(func.distinct(case((ReturningStaff.quarantine_end >= day.day, ReturningStaff.person_key), else_=None))),
        )
        .select_from(ReturningStaff)
        .outerjoin(Enterprise, Enterprise.id == ReturningStaff.enterprise_id)
        .where(ReturningStaff.is_current.is_(True), ReturningStaff.return_date <= day.day)
        .group_by(person_street, ReturningStaff.district_code)
    ).all()
    for street, district, people, quarantined in staff:
        target = figures[street if street is not None else district]
        target["returning_staff"] += int(people)
        target["in_quarantine"] += int(quarantined)
    return figures


def summary(session: Session, day: date, level: str = "street") -> list[dict[str, Any]]:
    """The figures per unit of a level, for one day (what `onenet summary` prints)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    tree = DivisionTree.load(session)
    totals = roll_up(tree, street_figures(session, Day(day)), level)
    return [unit_row(tree, code, totals[code]) for code in sorted(totals)]


def building_figures(session: Session, day: Day) -> dict[int, dict[str, int]]:
    """Raw counts per building id, by the same rules as a street's: its enterprises and shops, their staff, the
    returning staff of its enterprises; ``buildings`` is 1 and ``buildings_missing`` 1 when one is silent."""
    figures: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    state = enterprise_state(session, day)
    for building_id, *values in _enterprise_counts(session, state, state.c.building_id):
        if building_id is not None:
            figures[building_id].update({k: int(v or 0) for k, v in zip(ENTERPRISE_COUNTS, values)})
    for counts in figures.values():
        counts["buildings_missing"] = int(counts["reported"] < counts["enterprises"])
    staff = session.execute(
        select(Enterprise.building_id, func.count(func.distinct(ReturningStaff.person_key)),
               func.count(func.distinct(case((ReturningStaff.quarantine_end >= day.day, ReturningStaff.person_key),
                                             else_=None))))
        .join(Enterprise, Enterprise.id == ReturningStaff.enterprise_id)
        .where(ReturningStaff.is_current.is_(True), ReturningStaff.return_date <= day.day,
               Enterprise.building_id.is_not(None))
        .group_by(Enterprise.building_id)
    ).all()
    for building_id, people, quarantined in staff:
        figures[building_id]["returning_staff"] = int(people)
        figures[building_id]["in_quarantine"] = int(quarantined)
    for counts in figures.values():
        counts["buildings"] = 1
    return figures
