"""Load reopening reports: one per enterprise and submission moment, later information winning field by field.

A report's empty fields carry forward the enterprise's last values (named in ``filled_fields`` so that a
report loaded late can be folded in its place in time).  An enterprise first seen in a report joins the
registry, flagged as such, counting from its first report.
"""
from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update

from etl.text import is_missing, map_unique, name_key
from etl.registries import ensure_buildings
from etl.resolve import EnterpriseRegistry, match_enterprises, resolve_divisions
from etl.store import (
    Counts, LoadContext, bulk_insert, bulk_update, differs, enterprise_registry, fetch, in_chunks,
    last_non_null, py_value, same_value, uncarried,
)
from etl.validate import errors_where
from schemas.models import CONFIRMED, PENDING, Enterprise, ReopeningReport

REPORT_FIELDS = ["planned_reopen_date", "reopened", "actual_reopen_date", "staff_total", "staff_returned",
                 "staff_quarantined", "contact_name", "contact_phone"]


def effective_at(frame: pd.DataFrame, loaded_at: datetime) -> pd.Series:
    submitted = frame["submitted_at"] if "submitted_at" in frame else pd.Series(None, index=frame.index, dtype=object)
    return submitted.where(submitted.notna(), loaded_at)


def load_reports(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    frame = frame.drop(index=errors["idx"].unique())
    frame["name_key"] = frame["enterprise_name"].pipe(map_unique, name_key) if "enterprise_name" in frame else None
    frame["effective_at"] = effective_at(frame, ctx.loaded_at)
    registry = enterprise_registry(ctx, frame)
    frame["enterprise_id"] = match_enterprises(frame, registry)

    unknown = frame["enterprise_id"].isna()
    no_street = unknown & frame["street_code"].isna()
    errors = pd.concat([errors, errors_where(frame, no_street, "street", "enterprise_unknown")], ignore_index=True)
    frame = frame[~no_street]
    unknown = frame["enterprise_id"].isna()
    if unknown.any():
        frame.loc[unknown, "enterprise_id"] = _first_seen_enterprises(ctx, frame[unknown])
        unclear = frame["enterprise_id"].isna()
        errors = pd.concat([errors, errors_where(frame, unclear, "enterprise_name", "enterprise_ambiguous")],
                           ignore_index=True)
        frame = frame[~unclear]
    if "uscc" in frame and not registry.empty:
        _attach_uscc(ctx, frame, registry)
    if frame.empty:
        return Counts(), errors

    records = pd.DataFrame({
        "enterprise_id": frame["enterprise_id"].astype(int),
        "batch_id": ctx.batch_id,
        "sheet": ctx.sheet,
        "row_number": frame["_row"],
        "submission_id": frame.get("submission_id"),
        "submitted_at": frame.get("submitted_at"),
        "effective_at": frame["effective_at"],
        **{f: frame[f] if f in frame else None for f in REPORT_FIELDS},
    })
    records["_row"] = records["row_number"]
    counts = Counts()
    keyed = records["submitted_at"].notna()
    # One submission per enterprise and moment: duplicates across and within files merge.
    with_key = last_non_null(records[keyed], ["enterprise_id", "submitted_at"]) if keyed.any() else records[keyed]
    counts.unchanged += int(keyed.sum()) - len(with_key)
    records = pd.concat([with_key, records[~keyed]], ignore_index=True).drop(columns="_row")

    touched = sorted(set(records["enterprise_id"].astype(int)))
    existing = _reports_of(ctx, touched)
    if not existing.empty:
        raw_existing = uncarried(existing, REPORT_FIELDS)
        ex = raw_existing[raw_existing["submitted_at"].notna()].set_index(["enterprise_id", "submitted_at"])
        match_key = list(zip(records["enterprise_id"].astype(int), records["submitted_at"]))
        known = set(ex.index)
        is_dup = pd.Series([k in known for k in match_key], index=records.index) & records["submitted_at"].notna()
        updates = []
        for i in records.index[is_dup]:
            old = ex.loc[match_key[i]]
            old = old.iloc[-1] if isinstance(old, pd.DataFrame) else old
            changed = {f: py_value(records.at[i, f]) for f in REPORT_FIELDS if not is_missing(records.at[i, f]) and not same_value(records.at[i, f], old[f])}
            if changed:
                updates.append({"id": int(old["id"]), **{f: old[f] for f in REPORT_FIELDS}, **changed,
                                "batch_id": ctx.batch_id, "sheet": ctx.sheet, "row_number": int(records.at[i, "row_number"])})
                counts.updated += 1
            else:
                counts.unchanged += 1
        if updates:
            bulk_update(ctx.session, ReopeningReport.__table__, pd.DataFrame(updates))
        records = records[~is_dup]
    bulk_insert(ctx.session, ReopeningReport.__table__, records)
    counts.inserted += len(records)
    _refill_reports(ctx, touched)
    if counts.inserted or counts.updated:
        ctx.touch(enterprise_registry(ctx, ids=touched).street_of.reindex(touched).unique())
    return counts, errors


def _first_seen_enterprises(ctx: LoadContext, rows: pd.DataFrame) -> pd.Series:
    """Enterprises first seen in a report join the registry, counting from their first report.

    Rows of one enterprise are those with its credit code, and those without one that give its name in
    its street: reported once with the code and once without, it is still one enterprise.  A row without
    a code whose name in its street belongs to several enterprises matches none (missing in the result).
    """
    uscc = rows["uscc"].astype(object) if "uscc" in rows else pd.Series(None, index=rows.index, dtype=object)
    uscc = uscc.where(uscc.notna(), None)
    place = pd.MultiIndex.from_arrays([rows["street_code"], rows["name_key"]])
    coded = pd.DataFrame({"street_code": rows["street_code"], "name_key": rows["name_key"], "uscc": uscc})
    coded = coded.dropna().drop_duplicates()
    # Names that stand for more than one enterprise of the street, in these rows and the registry together
    # (a registry enterprise of that name and no code, or of these rows' code, would have matched already).
    taken = enterprise_registry(ctx, rows).frame[["street_code", "name_key", "uscc"]]
    counts = pd.concat([coded, taken], ignore_index=True).groupby(["street_code", "name_key"]).size()
    ambiguous = set(counts[counts > 1].index)
    code_of_name = coded.drop_duplicates(["street_code", "name_key"], keep=False).set_index(["street_code", "name_key"])["uscc"]
    name_code = pd.Series(code_of_name.reindex(place).to_numpy(), index=rows.index, dtype=object)
    unclear = uscc.isna() & pd.Series([p in ambiguous for p in place], index=rows.index, dtype=bool)
    identity = pd.Series(
        [f"u:{u}" if u is not None else f"u:{c}" if isinstance(c, str) else f"n:{s}:{k}"
         for u, c, s, k in zip(uscc, name_code, rows["street_code"], rows["name_key"])],
        index=rows.index,
    )
    clear = rows[~unclear].assign(_identity=identity[~unclear], uscc=uscc[~unclear].where(uscc[~unclear].notna(), name_code[~unclear]))
    if not clear.empty:
        ordered = clear.sort_values("effective_at", kind="stable")
        first = ordered.groupby("_identity", sort=False).first()  # first non-empty value of each field
        first[["_row", "effective_at"]] = ordered.drop_duplicates("_identity").set_index("_identity")[["_row", "effective_at"]]
        first["uscc"] = first["uscc"].astype(object).where(first["uscc"].notna(), None)
        names_given = first["enterprise_name"] if "enterprise_name" in first else pd.Series(None, index=first.index)
        new = pd.DataFrame({
            "uscc": first["uscc"],
            "name": names_given.where(names_given.notna(), first["uscc"]),
            "name_key": first["name_key"].where(first["name_key"].notna(), first["uscc"]),
            "street_code": first["street_code"],
            "kind": "企业",
            "from_registry": False,
            "status": _status(first),
            "registered_at": first["effective_at"],
            "sources": [json.dumps({"name": [ctx.batch_id, ctx.sheet, int(r)]}) for r in first["_row"]],
        })
        new["building_id"] = ensure_buildings(ctx, first, first["effective_at"]).astype(object).where(lambda s: s.notna(), None)
        bulk_insert(ctx.session, Enterprise.__table__, new.reset_index(drop=True))
    ids = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    if not clear.empty:
        ids[clear.index] = match_enterprises(clear, enterprise_registry(ctx, clear))
    return ids


def _status(first: pd.DataFrame) -> pd.Series:
    """Named through a building's QR code (rows with a submission id), a new enterprise is pending until a
    street official confirms it; named in a spreadsheet of the street office, it counts at once."""
    via_qr = first["submission_id"].notna() if "submission_id" in first else pd.Series(False, index=first.index)
    return via_qr.map({True: PENDING, False: CONFIRMED}).astype(object)


def _attach_uscc(ctx: LoadContext, frame: pd.DataFrame, registry: EnterpriseRegistry) -> None:
    """A report that gives the credit code of an enterprise registered without one completes it."""
    ids = frame["enterprise_id"]
    lacking = ids.isin(registry.uscc_of.index) & ids.map(registry.uscc_of).isna()
    rows = frame[frame["uscc"].notna() & lacking]
    if rows.empty:
        return
    taken = set(registry.by_uscc.index)
    for ident, code in rows.drop_duplicates("enterprise_id")[["enterprise_id", "uscc"]].itertuples(index=False):
        if code not in taken:
            ctx.session.connection().execute(update(Enterprise).where(Enterprise.id == int(ident)).values(uscc=code))
            taken.add(code)


def _reports_of(ctx: LoadContext, enterprise_ids: list[int]) -> pd.DataFrame:
    t = ReopeningReport.__table__
    cols = ["id", "enterprise_id", "submitted_at", "effective_at", *REPORT_FIELDS, "filled_fields"]
    frames = [fetch(ctx.session, select(*[t.c[c] for c in cols]).where(t.c.enterprise_id.in_(chunk)), cols)
              for chunk in in_chunks(enterprise_ids)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _refill_reports(ctx: LoadContext, enterprise_ids: list[int]) -> None:
    """Carry each enterprise's last non-empty values forward through its reports in time order."""
    reports = _reports_of(ctx, enterprise_ids)
    if reports.empty:
        return
    raw = uncarried(reports, REPORT_FIELDS).sort_values(["enterprise_id", "effective_at", "id"], kind="stable")
    filled = raw.groupby("enterprise_id", sort=False)[REPORT_FIELDS].ffill()
    was_filled = raw[REPORT_FIELDS].isna() & filled.notna()
    names = np.array(REPORT_FIELDS, dtype=object)
    new_filled = pd.Series([",".join(names[row]) or None for row in was_filled.to_numpy(dtype=bool)],
                           index=was_filled.index, dtype=object)
    current = reports.set_index("id").loc[raw["id"]]
    changed = differs(filled[REPORT_FIELDS], current[REPORT_FIELDS]) | differs(
        new_filled.to_frame("f"), current[["filled_fields"]].set_axis(["f"], axis=1))
    rows = filled[changed].copy()
    if not rows.empty:
        rows.insert(0, "id", raw.loc[rows.index, "id"])
        rows["filled_fields"] = new_filled[changed]
        bulk_update(ctx.session, ReopeningReport.__table__, rows)
    _register_from_first_report(ctx, raw.assign(effective_at=pd.to_datetime(raw["effective_at"], format="mixed"))
                                .groupby("enterprise_id")["effective_at"].min())


def _register_from_first_report(ctx: LoadContext, first: pd.Series) -> None:
    """Enterprises that joined the registry from a report count from their earliest report."""
    t = Enterprise.__table__
    found = pd.concat([fetch(ctx.session, select(t.c.id, t.c.registered_at).where(t.c.id.in_(chunk), t.c.from_registry.is_(False)),
                             ["id", "registered_at"]) for chunk in in_chunks(int(i) for i in first.index)]
                      or [pd.DataFrame(columns=["id", "registered_at"])], ignore_index=True)
    if found.empty:
        return
    earliest = pd.to_datetime(first.reindex(found["id"].astype(int)).to_numpy())
    registered = pd.to_datetime(found["registered_at"].to_numpy())
    later = registered > earliest
    if not later.any():
        return
    moves = [{"ident": int(i), "moment": py_value(m)} for i, m in zip(found["id"][later], earliest[later])]
    ctx.session.connection().execute(
        update(t).where(t.c.id == bindparam("ident")).values(registered_at=bindparam("moment")), moves)


# --- returning staff ------------------------------------------------------------------------
