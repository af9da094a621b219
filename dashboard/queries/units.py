"""The figures of a unit, of its sub-units and over time, as `onenet summary` computes and rolls them up.

Per-street counts are read from the pre-aggregated tables (``schemas.aggregates``) and rolled up by
``etl.figures.roll_up`` over the division tree (``etl.divisions``); days outside the aggregated
campaign fall back to computing the same figures live.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import day_range
from etl.divisions import DivisionTree
from etl.figures import COUNTS, Day, roll_up, street_figures, unit_row
from schemas.aggregates import AggMeta, AggStreetDay

Divisions = DivisionTree
"""The dashboard's name for the division tree: every page walks the one tree of etl.divisions."""


def load_divisions(session: Session) -> DivisionTree:
    return DivisionTree.load(session)


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


def raw_counts(session: Session, day: date, campaign: Campaign, keys: set[str] | None = None) -> dict[str, dict[str, int]]:
    """street_figures for one day (keyed like it, '' for staff with no street nor district)."""
    if not campaign.covers(day):
        live = street_figures(session, Day(day))
        return {("" if k is None else k): dict(v) for k, v in live.items() if keys is None or k in keys}
    stmt = select(AggStreetDay).where(AggStreetDay.day == day)
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
    in_range = [d for d in days if campaign.covers(d)]
    if in_range:
        stmt = select(AggStreetDay).where(AggStreetDay.day >= min(in_range), AggStreetDay.day <= max(in_range))
        if keys is not None:
            stmt = stmt.where(AggStreetDay.code.in_(sorted(keys)))
        for r in session.scalars(stmt):
            per_day[r.day][r.code] = {c: getattr(r, c) for c in COUNTS}
    for d in days:
        if not campaign.covers(d):
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

