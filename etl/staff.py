"""Load returning staff: one current record per person (their keyed ID hash), later information winning.

A person seen again gets a new record only where something changed; it carries forward what it left
empty (named in ``filled_fields``) and the record it supersedes stops being current.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update

from etl.text import is_missing, map_unique, name_key
from etl.reports import effective_at
from etl.resolve import match_enterprises, resolve_divisions
from etl.store import Counts, LoadContext, bulk_insert, enterprise_registry, fetch, in_chunks, same_value
from etl.validate import errors_where
from schemas.models import ImportBatch, ReturningStaff

STAFF_FIELDS = ["name", "phone", "enterprise_id", "enterprise_name", "uscc", "building", "street_code", "district_code",
                "origin", "return_date", "quarantine_status", "quarantine_end", "temperature", "health", "note"]


def load_staff(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    if not errors.empty:
        frame = frame.drop(index=errors["idx"].unique())
    registry = enterprise_registry(ctx)
    if "enterprise_name" in frame:
        frame["name_key"] = frame["enterprise_name"].pipe(map_unique, name_key)
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
    bulk_insert(ctx.session, ReturningStaff.__table__, inserted, report=ctx.progress)
    retired = existing[existing["id"].isin(retire)]
    ctx.touch(_unit_of(inserted["street_code"], inserted["district_code"]).unique())
    if not retired.empty:
        ctx.touch(_unit_of(_unit_street(retired, registry), retired["district_code"]).unique())
    return counts, errors


def _unit_street(rows: pd.DataFrame, registry: pd.DataFrame) -> pd.Series:
    """The street a person counts under: their enterprise's street, else the street of their row."""
    street_of = registry.set_index("id")["street_code"] if not registry.empty else pd.Series(dtype=object)
    ent_street = rows["enterprise_id"].map(lambda i: None if is_missing(i) else street_of.get(int(i)))
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


def _history(ctx: LoadContext, key: int) -> pd.DataFrame:
    """Every stored record of a person with the values it brought itself (carried-forward ones emptied)."""
    t, b = ReturningStaff.__table__, ImportBatch.__table__
    cols = [*STAFF_FIELDS, "filled_fields", "row_number", "_order"]
    rows = fetch(ctx.session, select(*[t.c[c] for c in cols[:-1]], func.coalesce(t.c.submitted_at, b.c.started_at))
                 .join(b, b.c.id == t.c.batch_id).where(t.c.person_key == key), cols)
    for i, filled in rows["filled_fields"].items():
        for f in (filled or "").split(","):
            if f:
                rows.at[i, f] = None
    return rows.drop(columns="filled_fields")


def _fold(records: pd.DataFrame) -> dict[str, Any]:
    """The merged state of a person: later information wins field by field, an empty value never erases."""
    state: dict[str, Any] = dict.fromkeys(STAFF_FIELDS)
    for rec in records.sort_values(["_order", "row_number"], kind="stable").to_dict("records"):
        for f in STAFF_FIELDS:
            if not is_missing(rec[f]):
                state[f] = rec[f]
    return state


def _merge_people(ctx: LoadContext, records: pd.DataFrame, existing: pd.DataFrame) -> tuple[pd.DataFrame, Counts, list[int]]:
    """People seen before (or twice in this file): a new record only where something changed.

    The new record carries forward what it left empty from the person's state (named in
    filled_fields); the record it supersedes stops being current.  ``records`` come sorted by when
    their information dates from; a record older than the stored state (a late-loaded file of
    earlier submissions) is merged by re-folding the person's whole history.
    """
    counts, out, retire = Counts(), [], []
    orders = effective_at(records, ctx.loaded_at)
    for key, group in records.groupby("person_key", sort=False):
        state: dict[str, Any] | None = None
        state_id: int | None = None
        if key in existing.index:
            row = existing.loc[key]
            row = row.iloc[-1] if isinstance(row, pd.DataFrame) else row
            state = {f: row[f] for f in STAFF_FIELDS}
            state_id = int(row["id"])
            if (orders[group.index] < row["_order"]).any():
                history = pd.concat([_history(ctx, int(key)), group.assign(_order=orders[group.index])[[*STAFF_FIELDS, "row_number", "_order"]]],
                                    ignore_index=True)
                folded = _fold(history)
                if all(same_value(folded[f], state[f]) or (is_missing(folded[f]) and is_missing(state[f])) for f in STAFF_FIELDS):
                    counts.unchanged += len(group)
                    continue
                new = group.iloc[-1].to_dict()
                new["filled_fields"] = ",".join(f for f in STAFF_FIELDS if is_missing(new[f]) and not is_missing(folded[f])) or None
                new.update(folded)
                out.append(new)
                retire.append(state_id)
                counts.updated += 1
                counts.unchanged += len(group) - 1
                continue
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
    frame = pd.DataFrame(out, columns=records.columns) if out else records.iloc[0:0]
    return frame, counts, retire
