"""Pre-aggregated figures for the dashboard: what to rebuild, and when.

The dashboard shows any day (trends, change since the day before) in well under a second by reading
the tables of ``schemas.aggregates`` instead of computing figures per request.  They hold the days
``etl.days.day_range`` lists (the campaign month and the days a figure can change on; any other day
reads the latest of them before it) and are kept in step with the data by one rule, proportional to
the change:

- a load records in ``agg_stale``, inside its own transaction, the units (streets; a district for
  people counted under no street) whose figures it changed; a load that changes nothing marks nothing;
- ``refresh_stale`` recomputes the stale units for every aggregated day (and their districts), replaces
  their rows and clears the marks, in one transaction.  When the days themselves changed (a report on
  a new day), every unit is recomputed.

The figures of collections (信息收集) follow the same rule with marks of their own
(etl.collection_summary); ``refresh_stale`` rebuilds both.  An ingest refreshes at the end of its run, a QR
submission in its own transaction, and ``serve`` before it starts; a load killed before its refresh leaves its marks, so the next one rebuilds them and
the dashboard never disagrees with the data for longer than that.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.orm import Session

from etl import config
from etl import collection_summary
from etl.aggregate_compute import COUNT_COLUMNS, compute
from etl.days import DayRange, day_range, default_day
from etl.store import bulk_insert, writing
from schemas.aggregates import AggMeta, AggStale, AggStreetDay
from schemas.models import Division

META_KEY = "range"
EVERY_UNIT = "*"

__all__ = ["COUNT_COLUMNS", "DayRange", "aggregated_days", "compute", "day_range", "default_day", "mark_stale",
           "refresh_if_stale", "refresh_stale", "refresh_within"]


def mark_stale(session: Session, codes: Iterable[str], staff: Iterable[str] | None = None) -> None:
    """Record, in the caller's transaction, that the aggregates of ``codes`` no longer agree with the data;
    ``staff``: those of them whose returning-staff figures changed too (None: all of them)."""
    wanted = set(codes)
    if not wanted:
        return
    with_staff = wanted if staff is None else set(staff)
    known = {m.code: m for m in session.scalars(select(AggStale).where(AggStale.code.in_(sorted(wanted))))}
    for code in sorted(wanted):
        if code not in known:
            session.add(AggStale(code=code, staff=code in with_staff))
        elif code in with_staff:
            known[code].staff = True
    session.flush()


def aggregated_days(session: Session) -> list[date]:
    """The days the stored aggregates hold rows of, ascending (every unit has a row on each of them)."""
    return list(session.scalars(select(AggStreetDay.day).distinct().order_by(AggStreetDay.day)))


def stale_units(session: Session) -> set[str]:
    return set(session.scalars(select(AggStale.code)))


def refresh_stale(session: Session) -> set[str] | None:
    """Rebuild the aggregates of the stale units in the caller's transaction (which must hold the writer
    lock, etl.store.writing), and the collections' figures their marks name.  Returns the units rebuilt (None:
    every unit), an empty set when none was stale."""
    session.flush()
    collection_summary.refresh(session)
    marks = dict(session.execute(select(AggStale.code, AggStale.staff)).all())
    if not marks:
        return set()
    stale = set(marks)
    rng = day_range(session)
    meta = session.get(AggMeta, META_KEY)
    every = EVERY_UNIT in stale or meta is None or aggregated_days(session) != rng.days
    codes = None if every else _with_districts(session, stale)
    staff_codes = None if every else _with_districts(session, {c for c, staff in marks.items() if staff})
    aggregates = compute(session, rng, codes, staff_codes)
    for table, frame, key, units in aggregates.tables():
        _replace(session, table, frame, key, units)
    if meta is None:
        meta = AggMeta(key=META_KEY, first_day=rng.first, last_day=rng.last)
        session.add(meta)
    meta.first_day, meta.last_day, meta.data_last_day = rng.first, rng.last, rng.data_last
    meta.refreshed_at = config.local_now()
    session.execute(delete(AggStale).where(AggStale.code.in_(sorted(stale))))
    session.flush()
    return codes


def refresh_if_stale(engine: Engine, log: Callable[[str], None]) -> None:
    """Rebuild what loads left stale, in a transaction of its own (after an ingest run, before serving).

    A failure is reported, not raised: the data stays loaded and the units stay marked for next time.
    """
    try:
        with writing(engine) as session:
            if stale_units(session) or collection_summary.has_marks(session):
                log("refreshing dashboard aggregates")
                refresh_stale(session)
    except Exception as exc:
        if os.environ.get("ONENET_DEBUG"):
            raise
        log(_not_refreshed(exc))


def refresh_within(session: Session, log: Callable[[str], None]) -> None:
    """Rebuild the stale units inside the caller's writing transaction, after its own changes (a QR
    submission, a confirmation), so that the dashboard shows them at once.  Derived data: a failure rolls
    back only the rebuild, which leaves the units stale for the next load or ``serve``."""
    try:
        with session.begin_nested():
            refresh_stale(session)
    except Exception as exc:
        if os.environ.get("ONENET_DEBUG"):
            raise
        log(_not_refreshed(exc))


def _not_refreshed(exc: Exception) -> str:
    return (f"WARNING: dashboard aggregates not refreshed ({type(exc).__name__}: {exc}); "
            "the next load or `onenet serve` tries again")


def _with_districts(session: Session, streets: set[str]) -> set[str]:
    """Streets and their districts: people whose rows name a district but no street count under it."""
    parents = session.scalars(select(Division.parent_code).where(Division.code.in_(sorted(streets)))).all()
    return streets | {p for p in parents if p}


def _replace(session: Session, table: Table, frame: pd.DataFrame, key: Any, codes: set[str] | None) -> None:
    if codes is None:
        session.execute(delete(table))
    elif codes:
        session.execute(delete(table).where(key.in_(sorted(codes))))
    bulk_insert(session, table, frame)
