"""Load the registries: divisions, buildings and enterprises, merged by identity (see docs/rules.md).

A building is its normalised name within its street; an enterprise its credit code, else its
normalised name within its street.  Later information wins field by field and an empty cell never
erases a value; every value keeps the file, sheet and row it came from (``sources``).
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import select, update

from etl.text import is_missing, map_unique, name_key
from etl.resolve import Hierarchy, match_enterprises, resolve_divisions
from etl.store import (
    Counts, LoadContext, bulk_insert, enterprise_registry, fetch, in_chunks, last_non_null,
    merge_sources, py_value, same_value,
)
from etl.validate import errors_where
from schemas.models import Building, Division, Enterprise

LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community"}


def load_divisions(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame = frame.copy()
    frame["level"] = frame.get("level", pd.Series(None, index=frame.index)).where(
        frame.get("level", pd.Series(None, index=frame.index)).notna(), frame["code"].str.len().map(LEVEL_BY_LENGTH)
    )
    inferred_parent = frame["code"].map(lambda c: c[:6] if len(c) == 9 else c[:9] if len(c) == 12 else c[:2] + "0000")
    parent = frame["parent"] if "parent" in frame else pd.Series(None, index=frame.index)
    frame["parent_code"] = parent.where(parent.notna(), inferred_parent)
    frame.loc[frame["code"] == frame["parent_code"], "parent_code"] = None
    frame = frame.sort_values("code", key=lambda s: s.str.len(), kind="stable")

    existing = fetch(ctx.session, select(Division.code, Division.name, Division.level, Division.parent_code),
                     ["code", "name", "level", "parent_code"]).set_index("code")
    known = set(existing.index)
    counts, errors, inserts, updates = Counts(), [], [], []
    for idx, row in frame.iterrows():
        if row["parent_code"] is not None and row["parent_code"] not in known:
            errors.append({"idx": idx, "field": "parent", "code": "parent_unknown", "value": row["parent_code"]})
            continue
        values = {"name": row["name"], "level": row["level"], "parent_code": row["parent_code"]}
        if row["code"] in existing.index:
            old = existing.loc[row["code"]]
            if all(old[k] == v for k, v in values.items()):
                counts.unchanged += 1
            else:
                updates.append({"code": row["code"], **values})
                counts.updated += 1
        elif row["code"] in known:
            counts.unchanged += 1
        else:
            inserts.append(Division(code=row["code"], batch_id=ctx.batch_id, **values))
            known.add(row["code"])
            counts.inserted += 1
    for item in updates:
        ctx.session.execute(update(Division).where(Division.code == item.pop("code")).values(**item))
    ctx.session.add_all(inserts)
    ctx.session.flush()
    ctx.hierarchy = Hierarchy.load(ctx.session)
    return counts, pd.DataFrame(errors, columns=["idx", "field", "code", "value"])


# --- registries: buildings and enterprises ----------------------------------------------------

BUILDING_FIELDS = ["name", "address", "community_code", "community_name", "lng", "lat", "owner",
                   "owner_contact", "owner_phone", "building_type"]
ENTERPRISE_FIELDS = ["name", "uscc", "street_code", "building_id", "address", "industry", "staff_total", "kind"]


def _require_street(frame: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """Rows that name no street at all (errors on named-but-unknown streets exist already)."""
    flagged = set(errors["idx"]) if not errors.empty else set()
    mask = frame["street_code"].isna() & ~frame.index.isin(list(flagged))
    return errors_where(frame, mask, "street", "street_missing")


def _upsert_registry(
    ctx: LoadContext,
    model: type[Building] | type[Enterprise],
    rows: pd.DataFrame,
    fields: list[str],
    existing_id: pd.Series,
) -> Counts:
    """Insert rows without an existing id; merge the others field by field (non-empty wins)."""
    table = model.__table__
    counts = Counts()
    present = [f for f in fields if f in rows]
    new = rows[existing_id.isna()].copy()
    if not new.empty:
        new["from_registry"] = True
        new["registered_at"] = None
        new["sources"] = [
            merge_sources(None, [f for f, v in zip(present, values) if not is_missing(v)], [ctx.batch_id, ctx.sheet, int(r)])
            for values, r in zip(new[present].itertuples(index=False, name=None), new["_row"])
        ]
        columns = [c for c in [*present, "street_code", "name_key", "from_registry", "registered_at", "sources"] if c in new]
        bulk_insert(ctx.session, table, new[list(dict.fromkeys(columns))])
        ctx.touch(new["street_code"].unique(), registry=True)
        counts.inserted = len(new)
    old_rows = rows[existing_id.notna()].copy()
    if old_rows.empty:
        return counts
    old_rows["id"] = existing_id[existing_id.notna()].astype(int)
    current = pd.concat([
        fetch(ctx.session, select(table.c.id, *[table.c[f] for f in present], table.c.from_registry, table.c.sources).where(table.c.id.in_(chunk)),
              ["id", *present, "from_registry", "sources"])
        for chunk in in_chunks(old_rows["id"].tolist())
    ]).set_index("id")
    changes = []
    for row in old_rows.to_dict("records"):
        before = current.loc[row["id"]]
        changed = [f for f in present if not is_missing(row[f]) and not same_value(row[f], before[f])]
        if changed or not before["from_registry"]:
            change = {"id": row["id"], **{f: py_value(row[f]) for f in changed}}
            change["sources"] = merge_sources(before["sources"], changed, [ctx.batch_id, ctx.sheet, int(row["_row"])])
            change["from_registry"] = True
            change["registered_at"] = None
            changes.append(change)
            ctx.touch([row["street_code"], before.get("street_code")], staff=model is Enterprise, registry=True)
            counts.updated += 1
        else:
            counts.unchanged += 1
    for change in changes:
        ident = change.pop("id")
        ctx.session.connection().execute(update(table).where(table.c.id == ident).values(**change))
    return counts


def ensure_buildings(ctx: LoadContext, frame: pd.DataFrame, registered_at: pd.Series | None) -> pd.Series:
    """Building id for each row naming a building in its street; unknown buildings join as first seen."""
    result = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if "building" not in frame:
        return result
    keys = pd.DataFrame({"street_code": frame["street_code"], "name": frame["building"],
                         "name_key": frame["building"].pipe(map_unique, name_key)}, index=frame.index)
    keys = keys.dropna(subset=["street_code", "name_key"])
    if keys.empty:
        return result
    streets = keys["street_code"].unique().tolist()
    existing = pd.concat([
        fetch(ctx.session, select(Building.id, Building.street_code, Building.name_key).where(Building.street_code.in_(chunk)),
              ["id", "street_code", "name_key"]) for chunk in in_chunks(streets)
    ])
    lookup = {(s, k): i for i, s, k in existing.itertuples(index=False, name=None)}
    missing = keys[[(s, k) not in lookup for s, k in zip(keys["street_code"], keys["name_key"])]]
    if not missing.empty:
        first_seen = missing.assign(registered_at=registered_at[missing.index] if registered_at is not None else None)
        first_seen = first_seen.sort_values("registered_at", kind="stable", na_position="first") if registered_at is not None else first_seen
        first_seen = first_seen.drop_duplicates(["street_code", "name_key"])
        first_seen = first_seen.assign(from_registry=False,
                                       sources=json.dumps({"name": [ctx.batch_id, ctx.sheet, None]}))
        bulk_insert(ctx.session, Building.__table__, first_seen[["street_code", "name", "name_key", "from_registry", "registered_at", "sources"]])
        ctx.touch(first_seen["street_code"].unique(), registry=True)
        created = pd.concat([
            fetch(ctx.session, select(Building.id, Building.street_code, Building.name_key).where(Building.street_code.in_(chunk)),
                  ["id", "street_code", "name_key"]) for chunk in in_chunks(first_seen["street_code"].unique().tolist())
        ])
        lookup.update({(s, k): i for i, s, k in created.itertuples(index=False, name=None)})
    result[keys.index] = [lookup[(s, k)] for s, k in zip(keys["street_code"], keys["name_key"])]
    return result


def load_buildings(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    errors = pd.concat([errors, _require_street(frame, errors)], ignore_index=True)
    frame = frame.drop(index=errors["idx"].unique())
    if frame.empty:
        return Counts(), errors
    frame = frame.rename(columns={"building": "name"})
    frame["name_key"] = frame["name"].pipe(map_unique, name_key)
    if "community" in frame:
        frame["community_name"] = frame["community"]
        frame["community_code"] = [ctx.hierarchy.resolve_community(c, s) for c, s in zip(frame["community"], frame["street_code"])]
    merged = last_non_null(frame, ["street_code", "name_key"])
    existing = pd.concat([
        fetch(ctx.session, select(Building.id, Building.street_code, Building.name_key).where(Building.street_code.in_(chunk)),
              ["id", "street_code", "name_key"]) for chunk in in_chunks(merged["street_code"].unique().tolist())
    ])
    lookup = {(s, k): i for i, s, k in existing.itertuples(index=False, name=None)}
    existing_id = pd.Series([lookup.get((s, k)) for s, k in zip(merged["street_code"], merged["name_key"])], dtype="Int64")
    counts = _upsert_registry(ctx, Building, merged, BUILDING_FIELDS, existing_id)
    counts.unchanged += len(frame) - len(merged)
    return counts, errors


def load_enterprises(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    frame = frame.drop(index=errors["idx"].unique()).rename(columns={"enterprise_name": "name"})
    frame["name_key"] = frame["name"].pipe(map_unique, name_key) if "name" in frame else None
    registry = enterprise_registry(ctx, frame)
    existing_id = match_enterprises(frame, registry)
    # A known enterprise keeps its street when the row names none.
    known_street = existing_id.map(registry.street_of) if not registry.empty else existing_id
    frame["street_code"] = frame["street_code"].where(frame["street_code"].notna(), known_street.astype(object))
    missing_street = errors_where(frame, frame["street_code"].isna(), "street", "street_missing")
    errors = pd.concat([errors, missing_street], ignore_index=True)
    keep = ~frame.index.isin(missing_street["idx"].tolist())
    frame, existing_id = frame[keep], existing_id[keep]
    if frame.empty:
        return Counts(), errors
    if "kind" in frame:
        frame["kind"] = frame["kind"].fillna("企业")
    frame["building_id"] = ensure_buildings(ctx, frame, None).astype(object)
    frame.loc[frame["building_id"].isna(), "building_id"] = None
    frame["_identity"] = [
        f"u:{u}" if isinstance(u, str) else f"n:{s}:{k}"
        for u, s, k in zip(frame.get("uscc", pd.Series(None, index=frame.index)), frame["street_code"], frame["name_key"])
    ]
    frame["_existing"] = existing_id.astype(object)
    frame["_existing_key"] = frame["_existing"].where(frame["_existing"].notna(), frame["_identity"]).astype(str)
    merged = last_non_null(frame.drop(columns=["_identity"]), ["_existing_key"])
    merged_existing = pd.to_numeric(merged["_existing"], errors="coerce").astype("Int64")
    if "kind" in merged:
        merged.loc[merged_existing.isna() & merged["kind"].isna(), "kind"] = "企业"
    else:
        merged["kind"] = "企业"
    counts = _upsert_registry(ctx, Enterprise, merged.drop(columns=["_existing", "_existing_key"]), ENTERPRISE_FIELDS, merged_existing)
    counts.unchanged += len(frame) - len(merged)
    return counts, errors


# --- reopening reports ----------------------------------------------------------------------
