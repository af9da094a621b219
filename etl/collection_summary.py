"""A collection's figures kept per building and day (collection_figure) and its field totals per street and day
(collection_field_totals), so that a city's or a district's view of a collection with a million answers reads
thousands of rows, not the answers (docs/collections.md#figures).

The rows are derived data, kept in step with the answers and the registry by one rule, as etl.aggregate keeps the
built-in collections' figures:

- whatever changes a collection's figures marks, in its own transaction, which of its streets no longer agree
  (etl.collections.mark_figures_stale): answers stored (their respondents' streets), a collection opened or amended
  (all of them), the registry changed (those streets, of every collection);
- ``refresh`` rebuilds every day of the marked streets of each marked collection and clears the marks, inside the
  caller's writing transaction; etl.aggregate.refresh_stale runs it (after an ingest, a QR answer, before serving);
- a collection with a mark is counted live from its answers (etl.collection_figures.counted), so its figures never
  disagree with its answers: they only take longer until the refresh.

Measured by benchmarks/bench_collections.py (300,000 respondents, 1,000,000 answers).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from etl.collection_figures import contribution, period_for, respondents
from etl.collections import EVERY_STREET, deadline_of, definition_of
from etl.divisions import DivisionTree
from etl.figures import Day
from etl.store import bulk_insert, fetch, in_chunks
from schemas.collection_tables import (
    Collection, CollectionAnswer, CollectionFieldTotals, CollectionFigure, CollectionStale,
)
from schemas.collections import COUNTED, DRAFT, NUMERIC, CollectionDef

NO_BUILDING = -1
"""Stands for a respondent of no building while grouping (pandas drops None keys); stored as NULL."""
CHOICE_MARK = "\x1f"
"""Joins a field key and one of its choices in a column name of the counted choices."""


def days_of(definition: CollectionDef) -> list[date]:
    """The days a collection's figures are kept for: its start to its end."""
    return [definition.start + timedelta(days=i) for i in range((definition.end - definition.start).days + 1)]


def has_marks(session: Session) -> bool:
    return session.scalar(select(CollectionStale.id).limit(1)) is not None


def refresh(session: Session) -> int:
    """Rebuild what the marks name, in the caller's writing transaction; returns how many collections were rebuilt."""
    marks = session.execute(select(CollectionStale.id, CollectionStale.collection_id, CollectionStale.street_code)).all()
    if not marks:
        return 0
    everyone = {street for _, ident, street in marks if ident is None}
    own: dict[int, set[str]] = defaultdict(set)
    for _, ident, street in marks:
        if ident is not None:
            own[ident].add(street)
    stmt = select(Collection).where(Collection.status != DRAFT).order_by(Collection.id)
    if not everyone:
        stmt = stmt.where(Collection.id.in_(sorted(own)))
    collections = session.scalars(stmt).all()
    tree = DivisionTree.load(session)
    rebuilt = 0
    for collection in collections:
        streets = own.get(collection.id, set()) | everyone
        if EVERY_STREET not in streets:
            streets &= tree.streets_under(collection.scope_code)  # a registry change elsewhere: nothing to do
        if streets:
            rebuild(session, collection, None if EVERY_STREET in streets else streets)
            rebuilt += 1
    for chunk in in_chunks([i for i, _, _ in marks]):
        session.execute(delete(CollectionStale).where(CollectionStale.id.in_(chunk)))
    session.flush()
    return rebuilt


def rebuild(session: Session, collection: Collection, streets: set[str] | None) -> None:
    """Replace the rows of ``streets`` (None: all) of a collection by freshly computed ones."""
    counts, totals = compute(session, collection, streets)
    for table, frame in ((CollectionFigure, counts), (CollectionFieldTotals, totals)):
        stmt = delete(table).where(table.collection_id == collection.id)
        if streets is not None:
            stmt = stmt.where(table.street_code.in_(sorted(streets)))
        session.execute(stmt)
        bulk_insert(session, table.__table__, frame)


def compute(session: Session, collection: Collection, streets: set[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """collection_figure and collection_field_totals rows of ``streets`` (None: the whole scope) for every day of
    the collection, as etl.collection_figures counts them live: expected, answered and on time per building, and
    per street the field totals of the latest answers."""
    definition = definition_of(collection)
    days = days_of(definition)
    last = Day(days[-1])
    expected = respondents(session, collection, definition, last, streets)
    people = fetch(session, select(expected.c.id, expected.c.street_code, expected.c.building_id,
                                   expected.c.registered_at), ["id", "street_code", "building_id", "registered_at"])
    people = people.astype({"id": "int64"})
    people["building_id"] = people["building_id"].fillna(NO_BUILDING).astype("int64")
    people["registered_at"] = pd.to_datetime(people["registered_at"])
    answers = _answers(session, collection, [period_for(definition, d) for d in days], last,
                       None if streets is None else people["id"].tolist())
    answers = answers[answers["enterprise_id"].isin(people["id"])]
    answers["effective_at"] = pd.to_datetime(answers["effective_at"])
    answers["period"] = pd.to_datetime(answers["period"])
    answers = answers.sort_values(["enterprise_id", "effective_at", "id"], kind="stable")
    daily = []
    for day in days:
        end, period = pd.Timestamp(Day(day).end), period_for(definition, day)
        given = answers[(answers["period"] == pd.Timestamp(period)) & (answers["effective_at"] < end)]
        by_respondent = given.groupby("enterprise_id", sort=False)
        present = people[people["registered_at"].isna() | (people["registered_at"] < end)]
        ids = present["id"].to_numpy()
        first_at = by_respondent["effective_at"].min().reindex(ids).to_numpy()
        daily.append(present[["street_code", "building_id"]].assign(
            day=day, latest=by_respondent["id"].last().reindex(ids).to_numpy(), answered=pd.notna(first_at),
            on_time=first_at <= pd.Timestamp(deadline_of(definition, period))))
    rows = pd.concat(daily, ignore_index=True) if daily else pd.DataFrame()
    if rows.empty:
        return pd.DataFrame(), pd.DataFrame()
    counts = (rows.groupby(["day", "street_code", "building_id"])
              .agg(expected=("answered", "size"), answered=("answered", "sum"), on_time=("on_time", "sum"))
              .reset_index())
    counts["building_id"] = counts["building_id"].astype(object).where(counts["building_id"] != NO_BUILDING, None)
    totals = _field_totals(session, definition, rows.dropna(subset=["latest"]), ["day", "street_code"]).reset_index()
    return counts.assign(collection_id=collection.id), totals.assign(collection_id=collection.id)


def _answers(session: Session, collection: Collection, periods: list[date], last: Day, ids: list[int] | None
             ) -> pd.DataFrame:
    """(enterprise_id, period, effective_at, id) of the answers for ``periods`` given by the end of ``last``: of the
    respondents ``ids`` looked up in ix_answer_latest (a street's: 0.27 s → 0.03 s against a scan of the
    collection's million), else all of them."""
    a = CollectionAnswer
    stmt = select(a.enterprise_id, a.period, a.effective_at, a.id).where(
        a.collection_id == collection.id, a.period.in_(sorted(set(periods))), a.effective_at < last.end)
    columns = ["enterprise_id", "period", "effective_at", "id"]
    parts = ([fetch(session, stmt, columns)] if ids is None else
             [fetch(session, stmt.where(a.enterprise_id.in_(chunk)), columns) for chunk in in_chunks(ids)])
    return pd.concat(parts or [pd.DataFrame(columns=columns)], ignore_index=True).astype(
        {"enterprise_id": "int64", "id": "int64"})


def _field_totals(session: Session, definition: CollectionDef, latest: pd.DataFrame, keys: list[str]
                  ) -> pd.DataFrame:
    """Per group of ``keys`` (a column ``fields``): the JSON of its latest answers' field totals
    (etl.collection_figures.contribution summed); groups whose answers give none are left out."""
    ids = sorted({int(i) for i in latest["latest"]})
    if not ids or not any(f.type in NUMERIC or f.type in COUNTED for f in definition.fields):
        return pd.DataFrame(columns=[*keys, "fields"]).set_index(keys)
    values = []
    for chunk in in_chunks(ids):
        for ident, text in session.execute(select(CollectionAnswer.id, CollectionAnswer.answers)
                                           .where(CollectionAnswer.id.in_(chunk))):
            row: dict[str, Any] = {"latest": ident}
            for key, value in contribution(definition, json.loads(text)).items():
                row.update({f"{key}{CHOICE_MARK}{c}": n for c, n in value.items()} if isinstance(value, dict)
                           else {key: value})
            values.append(row)
    table = pd.DataFrame.from_records(values)
    contributions = latest[keys + ["latest"]].astype({"latest": int}).merge(table, on="latest").drop(columns="latest")
    columns = [c for c in contributions.columns if c not in keys]
    sums = contributions.groupby(keys)[columns].sum(min_count=1)
    integers = {f.key for f in definition.fields if f.type == "integer"}
    out = pd.DataFrame({"fields": [_totals(dict(zip(columns, row)), integers)
                                   for row in sums.itertuples(index=False, name=None)]}, index=sums.index)
    return out[out["fields"].notna()]


def _totals(sums: dict[str, Any], integers: set[str]) -> str | None:
    out: dict[str, Any] = {}
    for column, value in sums.items():
        if pd.isna(value):
            continue
        key, _, choice = column.partition(CHOICE_MARK)
        if choice:
            out.setdefault(key, {})[choice] = int(value)
        else:
            out[key] = int(value) if key in integers or float(value).is_integer() else round(float(value), 6)
    return json.dumps(out, ensure_ascii=False) if out else None
