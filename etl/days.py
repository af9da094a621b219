"""The days figures are aggregated on, and the day every page and command shows when none is asked for.

A figure is "as of" a day (docs/figures.md#the-day): it changes only on a day a report counts from, a
reopening date, a registration, a return or the day after a quarantine ends.  The dashboard's
aggregates are kept for those days (and every day of the campaign month) only, so a stray far date
costs one day, not the thousands between; any other day shows the figures of the latest day before it.
"""
from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import Date, func, select
from sqlalchemy.orm import Session

from etl import config
from schemas.models import Building, Enterprise, ReopeningReport, ReturningStaff

RUN_GAP = timedelta(days=31)
"""Days with data further apart than this belong to separate runs: a stray date far from the campaign
(a submission years later) starts a run of its own instead of stretching the campaign's."""
OPEN_END = date.max
"""``day_to`` of a span still valid on the last aggregated day: figures hold until the next change."""


@dataclass(frozen=True)
class DayRange:
    """The days aggregated, ascending: every day ``first``..``last``, or only those ``listed``.

    ``day_range`` lists the days on which a figure can change; on a day between two of them every
    figure is that of the earlier one (``as_of``).
    """

    first: date
    last: date
    data_last: date | None = None
    """The last day of the campaign's data (docs/figures.md#the-default-day); None without any data."""
    listed: tuple[date, ...] | None = None

    @property
    def days(self) -> list[date]:
        if self.listed is not None:
            return list(self.listed)
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def offset(self, day: date) -> int:
        return (day - self.first).days

    @property
    def offsets(self) -> np.ndarray:
        """Calendar-day offset from ``first`` of each day aggregated."""
        return np.array([self.offset(d) for d in self.days], dtype=np.int64)

    def as_of(self, day: date) -> date | None:
        """The aggregated day whose figures hold on ``day`` (None: ``day`` is before the first)."""
        days = self.days
        i = bisect_right(days, day)
        return days[i - 1] if i else None

    def run_until(self, day: date) -> list[date]:
        """The aggregated days of ``day``'s run before it, then ``day``: what a trend up to ``day`` shows."""
        run = next(r for r in runs([*self.days, day]) if day in r)
        return [d for d in run if d < day] + [day]

    def idle_days(self) -> list[date]:
        """The days between runs, where there is no data: a date picker disables them."""
        chunks = runs(self.days)
        return [a[-1] + timedelta(days=i) for a, b in pairwise(chunks) for i in range(1, (b[0] - a[-1]).days)]

    @property
    def default_day(self) -> date:
        """The day shown when none is asked for: the last day of the campaign's data; without any data,
        today when it is one of the days, else the last of them."""
        if self.data_last is not None:
            return self.data_last
        today = config.local_now().date()
        return today if self.first <= today <= self.last else self.last


def runs(days: Iterable[date]) -> list[list[date]]:
    """Distinct ``days`` ascending, cut where two follow each other more than RUN_GAP apart."""
    out: list[list[date]] = []
    for day in sorted(set(days)):
        if out and day - out[-1][-1] <= RUN_GAP:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def campaign_month() -> list[date]:
    """February of the campaign year (etl.config.CAMPAIGN_YEAR), aggregated whether data falls on it or not."""
    year = config.CAMPAIGN_YEAR
    return [date(year, 2, d) for d in range(1, calendar.monthrange(year, 2)[1] + 1)]


def day_range(session: Session) -> DayRange:
    """The days to aggregate: the campaign month and every day on which a figure can change."""
    month = campaign_month()
    reports = _distinct(session, func.date(ReopeningReport.effective_at, type_=Date), ReopeningReport.effective_at)
    changes = _distinct(session, ReturningStaff.return_date, ReturningStaff.return_date)
    changes |= _distinct(session, ReopeningReport.actual_reopen_date, ReopeningReport.actual_reopen_date)
    for model in (Enterprise, Building):
        changes |= _distinct(session, func.date(model.registered_at, type_=Date), model.registered_at)
    changes |= {d + timedelta(days=1) for d in _distinct(session, ReturningStaff.quarantine_end, ReturningStaff.quarantine_end)}
    days = sorted(set(month) | reports | changes)
    return DayRange(days[0], days[-1], campaign_last_day(reports, month), tuple(days))


def campaign_last_day(reports: set[date], month: list[date]) -> date | None:
    """The default day: the last day a report counts from in the run that holds the campaign month; if
    that run has none, the last report day of all.  A stray far date (a QR submission years later, a
    typo) forms a run of its own and does not move it; a campaign that goes on does."""
    campaign = next(r for r in runs(reports | set(month)) if month[0] in r)
    return max((d for d in campaign if d in reports), default=max(reports, default=None))


def default_day(session: Session) -> date:
    """The day `onenet summary`, `export` and `remind` report on when no --date is given: the dashboard's."""
    return day_range(session).default_day


def _distinct(session: Session, expr: Any, column: Any) -> set[date]:
    return {_as_date(v) for v in session.scalars(select(expr).where(column.is_not(None)).distinct())}


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
