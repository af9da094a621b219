"""Load returning staff: one current record per person (their keyed ID hash), later information winning.

A person seen again gets a new record only where something changed; it carries forward what it left
empty (named in ``filled_fields``) and the record it supersedes stops being current.  Each record stored
gets the division code of its origin (``origin_code``, etl.origins) beside the text as written.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update

from etl.origins import origin_codes
from etl.text import is_missing, map_unique, name_key
from etl.reports import effective_at
from etl.resolve import EnterpriseRegistry, match_enterprises, resolve_divisions
from etl.store import (
    Counts, LoadContext, bulk_insert, differs, enterprise_registry, fetch, in_chunks, same_value, uncarried,
)
from etl.validate import errors_where
from schemas.models import ImportBatch, ReturningStaff

STAFF_FIELDS = ["name", "phone", "enterprise_id", "enterprise_name", "uscc", "building", "street_code", "district_code",
                "origin", "return_date", "quarantine_status", "quarantine_end", "temperature", "health", "note"]


def load_staff(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    if not errors.empty:
        frame = frame.drop(index=errors["idx"].unique())
    if "enterprise_name" in frame:
        frame["name_key"] = frame["enterprise_name"].pipe(map_unique, name_key)
    registry = enterprise_registry(ctx, frame)
    frame["enterprise_id"] = match_enterprises(frame, registry, name_anywhere=True).astype(object)
    if not registry.empty and frame["enterprise_id"].notna().any():
        frame["street_code"] = _unit_street(frame, registry)
        frame["district_code"] = frame["street_code"].map(ctx.hierarchy.parents).where(frame["street_code"].notna(), frame["district_code"])
    no_district = frame["district_code"].isna()
    if no_district.any():
        errors = pd.concat([errors, errors_where(frame, no_district, "district", "district_missing")], ignore_index=True)
        frame = frame[~no_district]
    if frame.empty:
        return Counts(), errors

    records = pd.DataFrame({"person_key": frame["person_key"].to_numpy(dtype=np.int64), "id_hash": frame["id_hash"],
                            "id_masked": frame["id_number"]}, index=frame.index)
    for f in STAFF_FIELDS:
        records[f] = frame[f] if f in frame else None
    records["submitted_at"] = frame.get("submitted_at")
    records["batch_id"] = ctx.batch_id
    records["sheet"] = ctx.sheet
    records["row_number"] = frame["_row"]
    records["submission_id"] = frame.get("submission_id")
    records["is_current"] = True
    records["filled_fields"] = None
    counts = Counts()
    duplicated = records["person_key"].duplicated(keep=False)
    existing = _current_staff(ctx, records["person_key"].unique().tolist())
    simple = ~duplicated & ~records["person_key"].isin(existing.index)
    fresh = records[simple]
    counts.inserted += len(fresh)
    out = [fresh]
    retire: list[int] = []
    if (~simple).any():
        repeat = records[~simple].assign(_order=effective_at(records[~simple], ctx.loaded_at))
        repeat = repeat.sort_values(["_order", "row_number"], kind="stable").drop(columns="_order")
        merged_records, merge_counts, retire = _merge_people(ctx, repeat, existing)
        counts += merge_counts
        out.append(merged_records)
        if retire:
            t = ReturningStaff.__table__
            for chunk in in_chunks(retire):
                ctx.session.connection().execute(update(t).where(t.c.id.in_(chunk)).values(is_current=False))
    inserted = pd.concat(out)
    inserted["origin_code"] = origin_codes(inserted["origin"])
    bulk_insert(ctx.session, ReturningStaff.__table__, inserted, report=ctx.progress)
    retired = existing[existing["id"].isin(retire)]
    ctx.touch(_unit_of(inserted["street_code"], inserted["district_code"]).unique(), staff=True)
    if not retired.empty:
        ctx.touch(_unit_of(_unit_street(retired, enterprise_registry(ctx, ids=retired["enterprise_id"])), retired["district_code"]).unique(), staff=True)
    return counts, errors


def _unit_street(rows: pd.DataFrame, registry: EnterpriseRegistry) -> pd.Series:
    """The street a person counts under: their enterprise's street, else the street of their row."""
    ent_street = rows["enterprise_id"].map(registry.street_of)
    return ent_street.where(ent_street.notna(), rows["street_code"])


def _unit_of(street: pd.Series, district: pd.Series) -> pd.Series:
    """The unit a person is counted under (etl.aggregate): their street, else their district, else ''."""
    return street.where(street.notna(), district).fillna("").astype(object)


def _current_staff(ctx: LoadContext, keys: list[int]) -> pd.DataFrame:
    """The current record of each person among ``keys``, with ``_order``: when its information dates from."""
    t, b = ReturningStaff.__table__, ImportBatch.__table__
    cols = ["id", "person_key", *STAFF_FIELDS, "_order"]
    if ctx.session.connection().execute(select(t.c.id).limit(1)).first() is None:
        empty = pd.DataFrame(columns=cols).set_index("person_key")
        return empty
    order = func.coalesce(t.c.submitted_at, b.c.started_at)
    frames = [fetch(ctx.session, select(*[t.c[c] for c in cols[:-1]], order).join(b, b.c.id == t.c.batch_id)
                    .where(t.c.is_current.is_(True), t.c.person_key.in_(chunk)), cols)
              for chunk in in_chunks(keys, 20_000)]
    return pd.concat(frames, ignore_index=True).set_index("person_key")


def _histories(ctx: LoadContext, keys: list[int]) -> pd.DataFrame:
    """Every stored record of these people with the values it brought itself (carried-forward ones emptied)."""
    t, b = ReturningStaff.__table__, ImportBatch.__table__
    cols = ["person_key", *STAFF_FIELDS, "filled_fields", "row_number", "_order"]
    frames = [fetch(ctx.session, select(*[t.c[c] for c in cols[:-1]], func.coalesce(t.c.submitted_at, b.c.started_at))
                    .join(b, b.c.id == t.c.batch_id).where(t.c.person_key.in_(chunk)), cols)
              for chunk in in_chunks(keys, 20_000)]
    return uncarried(pd.concat(frames, ignore_index=True), STAFF_FIELDS).drop(columns="filled_fields")


def _refold_late(ctx: LoadContext, records: pd.DataFrame, orders: pd.Series,
                 existing: pd.DataFrame) -> tuple[pd.DataFrame, Counts, list[int]]:
    """People with information older than their stored state (a late-loaded file of earlier submissions):
    each person's whole history and the new rows are folded again, later information winning field by
    field and an empty value never erasing, all people at once."""
    counts = Counts()
    keys = records["person_key"].unique().tolist()
    incoming = records.assign(_order=orders)[["person_key", *STAFF_FIELDS, "row_number", "_order"]]
    both = pd.concat([_histories(ctx, keys), incoming], ignore_index=True)
    both["_order"] = pd.to_datetime(both["_order"], format="mixed")
    both = both.sort_values(["person_key", "_order", "row_number"], kind="stable")
    folded = both.groupby("person_key", sort=False)[STAFF_FIELDS].last().reindex(keys)
    state = existing.loc[keys]
    changed = differs(folded[STAFF_FIELDS], state[STAFF_FIELDS])
    sizes = records.groupby("person_key", sort=False).size().reindex(keys).to_numpy()
    counts.unchanged += int(sizes[~changed].sum() + (sizes[changed] - 1).sum())
    counts.updated += int(changed.sum())
    last = records.groupby("person_key", sort=False).tail(1).set_index("person_key").reindex(keys)[changed]
    fold = folded[changed]
    filled = last[STAFF_FIELDS].isna().to_numpy() & fold.notna().to_numpy()
    names = np.array(STAFF_FIELDS, dtype=object)
    last["filled_fields"] = [",".join(names[row]) or None for row in filled]
    last[STAFF_FIELDS] = fold.astype(object).where(fold.notna(), None)
    retire = [int(i) for i in state.loc[changed, "id"]]
    return last.reset_index()[records.columns], counts, retire


def _merge_people(ctx: LoadContext, records: pd.DataFrame, existing: pd.DataFrame) -> tuple[pd.DataFrame, Counts, list[int]]:
    """People seen before (or twice in this file): a new record only where something changed.

    The new record carries forward what it left empty from the person's state (named in
    filled_fields); the record it supersedes stops being current.  ``records`` come sorted by when
    their information dates from; people with a record older than their stored state are folded
    again from their whole history (``_refold_late``).
    """
    counts, out, retire = Counts(), [], []
    refolded = records.iloc[0:0]
    orders = effective_at(records, ctx.loaded_at)
    existing = existing[~existing.index.duplicated(keep="last")]
    stored_order = pd.to_datetime(records["person_key"].map(existing["_order"]), format="mixed")
    late = records["person_key"].isin(records.loc[pd.to_datetime(orders, format="mixed") < stored_order, "person_key"])
    if late.any():
        refolded, counts, retire = _refold_late(ctx, records[late], orders[late], existing)
        records = records[~late]
    for key, group in records.groupby("person_key", sort=False):
        state: dict[str, Any] | None = None
        state_id: int | None = None
        if key in existing.index:
            row = existing.loc[key]
            state = {f: row[f] for f in STAFF_FIELDS}
            state_id = int(row["id"])
        last: dict[str, Any] | None = None
        for _, rec in group.iterrows():
            values = {f: rec[f] for f in STAFF_FIELDS}
            if state is None:
                state, last = values, rec.to_dict()
                counts.inserted += 1
                continue
            changed = [f for f in STAFF_FIELDS if not is_missing(values[f]) and not same_value(values[f], state[f])]
            if not changed:
                counts.unchanged += 1
                continue
            filled = [f for f in STAFF_FIELDS if is_missing(values[f]) and not is_missing(state[f])]
            new = rec.to_dict()
            for f in filled:
                new[f] = state[f]
            new["filled_fields"] = ",".join(filled) or None
            state = {f: new[f] for f in STAFF_FIELDS}
            if last is not None:
                last["is_current"] = False
                out.append(last)
            last = new
            counts.updated += 1
            if state_id is not None:
                retire.append(state_id)
                state_id = None
        if last is not None:
            out.append(last)
    if out:
        refolded = pd.concat([refolded, pd.DataFrame(out, columns=records.columns)], ignore_index=True)
    return refolded, counts, retire
