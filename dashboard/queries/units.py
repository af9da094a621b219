"""The figures of a unit, of its sub-units and over time, as `onenet summary` computes and rolls them up.

Per-street counts are read from the pre-aggregated tables (``schemas.aggregates``) and rolled up by
``etl.figures.roll_up`` over the division tree (``etl.divisions``).  A day the aggregates hold no rows
of reads those of the latest aggregated day before it (etl.days: no figure changes in between); a day
before the first is computed live.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.aggregate import aggregated_days, day_range
from etl.days import DayRange
from etl.divisions import DivisionTree
from etl.figures import COUNTS, Day, roll_up, street_figures, unit_row
from schemas.aggregates import AggMeta, AggStreetDay

Divisions = DivisionTree
"""The dashboard's name for the division tree: every page walks the one tree of etl.divisions."""


def load_divisions(session: Session) -> DivisionTree:
    return DivisionTree.load(session)


@dataclass(frozen=True)
class Campaign:
    """The days the dashboard can show: those aggregated (etl.days.DayRange) and whether they are stored."""

    range: DayRange
    aggregated: bool

    @property
    def first(self) -> date:
        return self.range.first

    @property
    def last(self) -> date:
        return self.range.last

    @property
    def days(self) -> list[date]:
        return self.range.days

    @property
    def default_day(self) -> date:
        return self.range.default_day

    def trend_days(self, day: date) -> list[date]:
        return self.range.run_until(day)

    def idle_days(self) -> list[date]:
        return self.range.idle_days()

    def covers(self, day: date) -> bool:
        """Whether the stored aggregates answer for ``day`` (on or after their first day)."""
        return self.aggregated and self.range.as_of(day) is not None

    def as_of(self, day: date) -> date:
        """The aggregated day whose rows hold the figures of a covered ``day``."""
        stored = self.range.as_of(day)
        if stored is None:
            raise ValueError(f"{day} is before the first aggregated day")
        return stored


def load_campaign(session: Session) -> Campaign:
    meta = session.get(AggMeta, "range")
    if meta is not None:
        days = tuple(aggregated_days(session))
        return Campaign(DayRange(meta.first_day, meta.last_day, meta.data_last_day, days), bool(days))
    return Campaign(day_range(session), False)


def raw_counts(session: Session, day: date, campaign: Campaign, keys: set[str] | None = None) -> dict[str, dict[str, int]]:
    """street_figures for one day (keyed like it, '' for staff with no street nor district)."""
    if not campaign.covers(day):
        live = street_figures(session, Day(day))
        return {("" if k is None else k): dict(v) for k, v in live.items() if keys is None or k in keys}
    stmt = select(AggStreetDay).where(AggStreetDay.day == campaign.as_of(day))
    if keys is not None:
        stmt = stmt.where(AggStreetDay.code.in_(sorted(keys)))
    return {r.code: {c: getattr(r, c) for c in COUNTS} for r in session.scalars(stmt)}


def unit_figures(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date) -> dict[str, Any]:
    """The summary() row of one unit (city, district or street) on one day."""
    level = divs.level.get(code, "city")
    raw = raw_counts(session, day, campaign, divs.keys_under(code))
    return unit_row(divs, code, roll_up(divs, raw, level, [code])[code])


def sub_unit_figures(session: Session, divs: Divisions, campaign: Campaign, code: str, day: date) -> list[dict[str, Any]]:
    """The summary() rows of the districts of the city / streets of a district."""
    subs = divs.sub_units(code)
    if not subs:
        return []
    level = divs.level[subs[0]]
    raw = raw_counts(session, day, campaign, divs.keys_under(code))
    totals = roll_up(divs, raw, level, subs)
    return [unit_row(divs, c, totals[c]) for c in subs]


def trend(session: Session, divs: Divisions, campaign: Campaign, code: str, days: Sequence[date],
          by_sub_unit: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Figures per day of a unit (and of each sub-unit): {code: [row per day]}."""
    keys = divs.keys_under(code)
    subs = divs.sub_units(code) if by_sub_unit else []
    per_day: dict[date, dict[str, dict[str, int]]] = defaultdict(dict)
    stored = {d: campaign.as_of(d) for d in days if campaign.covers(d)}
    if stored:
        stmt = select(AggStreetDay).where(AggStreetDay.day.in_(sorted(set(stored.values()))))
        if keys is not None:
            stmt = stmt.where(AggStreetDay.code.in_(sorted(keys)))
        for r in session.scalars(stmt):
            per_day[r.day][r.code] = {c: getattr(r, c) for c in COUNTS}
    for d in days:
        if d in stored:
            per_day[d] = per_day[stored[d]]
        else:
            per_day[d] = raw_counts(session, d, campaign, keys)
    level = divs.level.get(code, "city")
    out: dict[str, list[dict[str, Any]]] = {code: []}
    for c in subs:
        out[c] = []
    for d in days:
        raw = per_day.get(d, {})
        row = unit_row(divs, code, roll_up(divs, raw, level, [code])[code])
        out[code].append({"day": d, **row})
        if subs:
            totals = roll_up(divs, raw, divs.level[subs[0]], subs)
            for c in subs:
                out[c].append({"day": d, **unit_row(divs, c, totals[c])})
    return out


def scoped_street_filter(column: Any, divs: Divisions, code: str) -> Any:
    keys = divs.keys_under(code)
    return True if keys is None else column.in_(sorted(keys))

