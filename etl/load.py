"""Load: validated, resolved rows → the database, merged by identity (SPEC §4).

Every function here works inside the caller's transaction (one per file), so a file that fails
midway leaves nothing behind.  Bulk inserts take each engine's fast path: Arrow tables staged by
ADBC and copied in by SQL on SQLite (etl.staging; multi-row statements for small inserts),
``COPY`` on PostgreSQL.  Later information wins field by field and an
empty cell never erases a value.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import LargeBinary, Table, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex

from etl.normalise import first_present, is_missing, map_unique, name_key
from etl.resolve import Hierarchy, match_enterprises, resolve_divisions
from etl.staging import STAGED_MIN_ROWS, constant_columns, staged_insert
from etl.validate import errors_where, no_errors
from schemas.db import sqlite_file
from schemas.models import Building, Division, Enterprise, ImportBatch, ReopeningReport, ReturningStaff
from schemas import sources as S

CHUNK = 50_000
INDEX_REBUILD_ROWS = 50_000
"""From this many new returning-staff rows into an empty table, the person index is built after the insert
(measured: about even at 100,000 rows, 10 % faster at 200,000)."""


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "Counts") -> "Counts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass
class LoadContext:
    session: Session
    batch_id: int
    sheet: str | None
    loaded_at: datetime
    hierarchy: Hierarchy
    progress: Callable[[int], None] | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # lives across the files of one run; see enterprise_registry

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name


# --- low-level I/O --------------------------------------------------------------------------


def sqlite_value(value: Any) -> Any:
    """A value as sqlite3 binds it, dates and times spelled as SQLAlchemy stores them."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _column_values(series: pd.Series) -> np.ndarray:
    """Python values for sqlite3, None for missing, dates as SQLAlchemy stores them.

    A text column of few distinct values (a district, an origin) becomes one Python string per
    distinct value, repeated, instead of one per row.
    """
    if isinstance(series.dtype, pd.StringDtype) and len(series) > 1000 and series.iloc[:1000].nunique() < 100:
        return map_unique(series, str).to_numpy()
    if isinstance(first_present(series), (date, bool, np.generic)):
        return map_unique(series, sqlite_value).to_numpy()
    return series.to_numpy(dtype=object, na_value=None)


ROWS_PER_STATEMENT = 100


def _sqlite_insert(connection: Any, table: Table, columns: list[str], frame: pd.DataFrame) -> None:
    """Rows as multi-row ``INSERT … VALUES (…),(…)`` statements bound from one flat list.

    A hundred rows per statement and no per-row tuple: a third less time than ``executemany``
    of one tuple per row, at a million rows.
    """
    # A number that is the same on every row (the batch, is_current) is written into the statement once.
    constant = {c: v for c, v in constant_columns(frame[columns[1:]]).items() if isinstance(v, int)}
    bound = [c for c in columns if c not in constant]
    width = len(bound)
    grid = np.empty((len(frame), width), dtype=object)
    for j, column in enumerate(bound):
        grid[:, j] = _column_values(frame[column])
    flat = grid.ravel().tolist()
    head = f"INSERT INTO {table.name} ({','.join([*bound, *constant])}) VALUES "
    one = "(" + ",".join(["?"] * width + [str(v) for v in constant.values()]) + ")"
    rows = min(ROWS_PER_STATEMENT, 32_000 // width)
    step = rows * width
    whole = len(flat) - len(flat) % step
    if whole:
        connection.executemany(head + ",".join([one] * rows), (flat[i : i + step] for i in range(0, whole, step)))
    if whole < len(flat):
        connection.execute(head + ",".join([one] * ((len(flat) - whole) // width)), flat[whole:])


def bulk_insert(ctx: LoadContext, table: Table, frame: pd.DataFrame, report: Callable[[int], None] | None = None) -> None:
    """Append rows with the engine's fast path, in the session's transaction."""
    if frame.empty:
        return
    # Columns with no value at all stay out of the statement: NULL is their default anyway.
    columns = [c for c in frame.columns if first_present(frame[c]) is not None]
    connection = ctx.session.connection().connection.driver_connection
    if ctx.dialect == "sqlite":
        database = sqlite_file(ctx.session.get_bind())
        if len(frame) >= STAGED_MIN_ROWS and database is not None and staged_insert(
                connection, table.name, frame[columns], database.parent, _column_values,
                lambda part: _sqlite_insert(connection, table, columns, part), report):
            return
        for start in range(0, len(frame), CHUNK):
            part = frame.iloc[start : start + CHUNK]
            _sqlite_insert(connection, table, columns, part)
            if report:
                report(len(part))
        return
    from psycopg.copy import QueuedLibpqWriter  # noqa: PLC0415 - PostgreSQL only

    # One COPY; a writer thread feeds the server while the next chunk is rendered.
    with connection.cursor() as cursor:
        statement = f"COPY {table.name} ({','.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for start in range(0, len(frame), CHUNK):
                part = frame.iloc[start : start + CHUNK]
                copy.write(_csv_bytes(part[columns], table))
                if report:
                    report(len(part))


def _csv_bytes(frame: pd.DataFrame, table: Table) -> bytes:
    """Rows as CSV for PostgreSQL's COPY, written by Arrow's C++ writer (NULL = empty unquoted field)."""
    arrays = {}
    for column in frame.columns:
        values = frame[column]
        if isinstance(table.c[column].type, LargeBinary):
            arrays[column] = pa.array(["\\x" + v.hex() if v is not None else None
                                       for v in values.to_numpy(dtype=object, na_value=None)], pa.string())
        elif values.dtype == object:
            arrays[column] = pa.array(values.to_numpy(dtype=object, na_value=None).tolist(), from_pandas=True)
        else:
            arrays[column] = pa.Array.from_pandas(values)
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(pa.table(arrays), sink, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def bulk_update(ctx: LoadContext, table: Table, frame: pd.DataFrame) -> None:
    """UPDATE table SET <columns> WHERE id = frame.id, one executemany."""
    if frame.empty:
        return
    columns = [c for c in frame.columns if c != "id"]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam(c) for c in columns})
        .execution_options(synchronize_session=False)
    )
    rows = [
        {"_id": int(r[0]), **{c: (None if is_missing(v) else _py(v)) for c, v in zip(columns, r[1:])}}
        for r in frame[["id", *columns]].itertuples(index=False, name=None)
    ]
    ctx.session.connection().execute(stmt, rows)


def _differs(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Row-wise: does any cell differ (two missing cells are equal)?"""
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    out = np.zeros(len(left), dtype=bool)
    for j in range(left.shape[1]):
        out |= np.array([not ((is_missing(x) and is_missing(y)) or (not is_missing(x) and not is_missing(y) and _same(x, y)))
                         for x, y in zip(left[:, j], right[:, j])], dtype=bool)
    return out


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def fetch(ctx: LoadContext, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    # Plain tuples: handed SQLAlchemy Rows, pandas probes each one for attributes (slow on big loads).
    rows = [tuple(row) for row in ctx.session.connection().execute(stmt)]
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def _in_chunks(values: Iterable[Any], size: int = 5_000) -> Iterable[list[Any]]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]




def _merge_sources(old: str | None, fields: Iterable[str], where: list[Any]) -> str:
    sources = json.loads(old) if old else {}
    for f in fields:
        sources[f] = where
    return json.dumps(sources, ensure_ascii=False)


def _last_non_null(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Collapse rows with the same keys: for each field the last non-empty value wins."""
    grouped = frame.groupby(keys, sort=False, dropna=False)
    merged = grouped.last()
    merged["_row"] = grouped["_row"].max()
    return merged.reset_index()


# --- divisions ------------------------------------------------------------------------------

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

    existing = fetch(ctx, select(Division.code, Division.name, Division.level, Division.parent_code),
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
    ctx.hierarchy = Hierarchy.from_frame(fetch(ctx, select(Division.code, Division.name, Division.level, Division.parent_code),
                                               ["code", "name", "level", "parent_code"]))
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
    if model is Enterprise:
        enterprises_changed(ctx)
    counts = Counts()
    present = [f for f in fields if f in rows]
    new = rows[existing_id.isna()].copy()
    if not new.empty:
        new["from_registry"] = True
        new["registered_at"] = None
        new["sources"] = [
            _merge_sources(None, [f for f, v in zip(present, values) if not is_missing(v)], [ctx.batch_id, ctx.sheet, int(r)])
            for values, r in zip(new[present].itertuples(index=False, name=None), new["_row"])
        ]
        columns = [c for c in [*present, "street_code", "name_key", "from_registry", "registered_at", "sources"] if c in new]
        bulk_insert(ctx, table, new[list(dict.fromkeys(columns))])
        counts.inserted = len(new)
    old_rows = rows[existing_id.notna()].copy()
    if old_rows.empty:
        return counts
    old_rows["id"] = existing_id[existing_id.notna()].astype(int)
    current = pd.concat([
        fetch(ctx, select(table.c.id, *[table.c[f] for f in present], table.c.from_registry, table.c.sources).where(table.c.id.in_(chunk)),
              ["id", *present, "from_registry", "sources"])
        for chunk in _in_chunks(old_rows["id"].tolist())
    ]).set_index("id")
    changes = []
    for row in old_rows.to_dict("records"):
        before = current.loc[row["id"]]
        changed = [f for f in present if not is_missing(row[f]) and not _same(row[f], before[f])]
        if changed or not before["from_registry"]:
            change = {"id": row["id"], **{f: _py(row[f]) for f in changed}}
            change["sources"] = _merge_sources(before["sources"], changed, [ctx.batch_id, ctx.sheet, int(row["_row"])])
            change["from_registry"] = True
            change["registered_at"] = None
            changes.append(change)
            counts.updated += 1
        else:
            counts.unchanged += 1
    for change in changes:
        ident = change.pop("id")
        ctx.session.connection().execute(update(table).where(table.c.id == ident).values(**change))
    return counts


def _same(a: Any, b: Any) -> bool:
    if is_missing(b):
        return False
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) < 1e-9
        except (TypeError, ValueError):
            return False
    return _py(a) == _py(b)


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
        fetch(ctx, select(Building.id, Building.street_code, Building.name_key).where(Building.street_code.in_(chunk)),
              ["id", "street_code", "name_key"]) for chunk in _in_chunks(streets)
    ])
    lookup = {(s, k): i for i, s, k in existing.itertuples(index=False, name=None)}
    missing = keys[[(s, k) not in lookup for s, k in zip(keys["street_code"], keys["name_key"])]]
    if not missing.empty:
        first_seen = missing.assign(registered_at=registered_at[missing.index] if registered_at is not None else None)
        first_seen = first_seen.sort_values("registered_at", kind="stable", na_position="first") if registered_at is not None else first_seen
        first_seen = first_seen.drop_duplicates(["street_code", "name_key"])
        first_seen = first_seen.assign(from_registry=False,
                                       sources=json.dumps({"name": [ctx.batch_id, ctx.sheet, None]}))
        bulk_insert(ctx, Building.__table__, first_seen[["street_code", "name", "name_key", "from_registry", "registered_at", "sources"]])
        created = pd.concat([
            fetch(ctx, select(Building.id, Building.street_code, Building.name_key).where(Building.street_code.in_(chunk)),
                  ["id", "street_code", "name_key"]) for chunk in _in_chunks(first_seen["street_code"].unique().tolist())
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
    merged = _last_non_null(frame, ["street_code", "name_key"])
    existing = pd.concat([
        fetch(ctx, select(Building.id, Building.street_code, Building.name_key).where(Building.street_code.in_(chunk)),
              ["id", "street_code", "name_key"]) for chunk in _in_chunks(merged["street_code"].unique().tolist())
    ])
    lookup = {(s, k): i for i, s, k in existing.itertuples(index=False, name=None)}
    existing_id = pd.Series([lookup.get((s, k)) for s, k in zip(merged["street_code"], merged["name_key"])], dtype="Int64")
    counts = _upsert_registry(ctx, Building, merged, BUILDING_FIELDS, existing_id)
    counts.unchanged += len(frame) - len(merged)
    return counts, errors


def enterprise_registry(ctx: LoadContext) -> pd.DataFrame:
    """The enterprise table's identities, read once per run of files and dropped on every write to it
    (``enterprises_changed``): a day's inbox has hundreds of report files against the same registry."""
    if "enterprises" not in ctx.cache:
        ctx.cache["enterprises"] = fetch(
            ctx, select(Enterprise.id, Enterprise.uscc, Enterprise.street_code, Enterprise.name_key,
                        Enterprise.building_id, Enterprise.from_registry, Enterprise.registered_at),
            ["id", "uscc", "street_code", "name_key", "building_id", "from_registry", "registered_at"])
    return ctx.cache["enterprises"]


def enterprises_changed(ctx: LoadContext) -> None:
    ctx.cache.pop("enterprises", None)
    ctx.cache["staff_delta_invalid"] = True  # a person's unit follows their enterprise's street


def load_enterprises(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    frame = frame.drop(index=errors["idx"].unique()).rename(columns={"enterprise_name": "name"})
    frame["name_key"] = frame["name"].pipe(map_unique, name_key) if "name" in frame else None
    registry = enterprise_registry(ctx)
    existing_id = match_enterprises(frame, registry)
    # A known enterprise keeps its street when the row names none.
    known_street = existing_id.map(registry.set_index("id")["street_code"]) if not registry.empty else existing_id
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
    merged = _last_non_null(frame.drop(columns=["_identity"]), ["_existing_key"])
    merged_existing = pd.to_numeric(merged["_existing"], errors="coerce").astype("Int64")
    if "kind" in merged:
        merged.loc[merged_existing.isna() & merged["kind"].isna(), "kind"] = "企业"
    else:
        merged["kind"] = "企业"
    counts = _upsert_registry(ctx, Enterprise, merged.drop(columns=["_existing", "_existing_key"]), ENTERPRISE_FIELDS, merged_existing)
    counts.unchanged += len(frame) - len(merged)
    return counts, errors


# --- reopening reports ----------------------------------------------------------------------

REPORT_FIELDS = ["planned_reopen_date", "reopened", "actual_reopen_date", "staff_total", "staff_returned",
                 "staff_quarantined", "contact_name", "contact_phone"]


def _effective(frame: pd.DataFrame, loaded_at: datetime) -> pd.Series:
    submitted = frame["submitted_at"] if "submitted_at" in frame else pd.Series(None, index=frame.index, dtype=object)
    return submitted.where(submitted.notna(), loaded_at)


def load_reports(ctx: LoadContext, frame: pd.DataFrame) -> tuple[Counts, pd.DataFrame]:
    frame, errors = resolve_divisions(frame, ctx.hierarchy)
    frame = frame.drop(index=errors["idx"].unique())
    frame["name_key"] = frame["enterprise_name"].pipe(map_unique, name_key) if "enterprise_name" in frame else None
    frame["effective_at"] = _effective(frame, ctx.loaded_at)
    registry = enterprise_registry(ctx)
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
    with_key = _last_non_null(records[keyed], ["enterprise_id", "submitted_at"]) if keyed.any() else records[keyed]
    counts.unchanged += int(keyed.sum()) - len(with_key)
    records = pd.concat([with_key, records[~keyed]], ignore_index=True).drop(columns="_row")

    touched = sorted(set(records["enterprise_id"].astype(int)))
    existing = _reports_of(ctx, touched)
    if not existing.empty:
        raw_existing = _raw_values(existing)
        ex = raw_existing[raw_existing["submitted_at"].notna()].set_index(["enterprise_id", "submitted_at"])
        match_key = list(zip(records["enterprise_id"].astype(int), records["submitted_at"]))
        is_dup = pd.Series([k in ex.index for k in match_key], index=records.index) & records["submitted_at"].notna()
        updates = []
        for i in records.index[is_dup]:
            old = ex.loc[match_key[i]]
            old = old.iloc[-1] if isinstance(old, pd.DataFrame) else old
            changed = {f: _py(records.at[i, f]) for f in REPORT_FIELDS if not is_missing(records.at[i, f]) and not _same(records.at[i, f], old[f])}
            if changed:
                updates.append({"id": int(old["id"]), **{f: old[f] for f in REPORT_FIELDS}, **changed,
                                "batch_id": ctx.batch_id, "sheet": ctx.sheet, "row_number": int(records.at[i, "row_number"])})
                counts.updated += 1
            else:
                counts.unchanged += 1
        if updates:
            bulk_update(ctx, ReopeningReport.__table__, pd.DataFrame(updates))
        records = records[~is_dup]
    bulk_insert(ctx, ReopeningReport.__table__, records)
    counts.inserted += len(records)
    _refill_reports(ctx, touched)
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
    taken = enterprise_registry(ctx)[["street_code", "name_key", "uscc"]]
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
            "registered_at": first["effective_at"],
            "sources": [json.dumps({"name": [ctx.batch_id, ctx.sheet, int(r)]}) for r in first["_row"]],
        })
        new["building_id"] = ensure_buildings(ctx, first, first["effective_at"]).astype(object).where(lambda s: s.notna(), None)
        bulk_insert(ctx, Enterprise.__table__, new.reset_index(drop=True))
        enterprises_changed(ctx)
    ids = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    if not clear.empty:
        ids[clear.index] = match_enterprises(clear, enterprise_registry(ctx))
    return ids


def _attach_uscc(ctx: LoadContext, frame: pd.DataFrame, registry: pd.DataFrame) -> None:
    """A report that gives the credit code of an enterprise registered without one completes it."""
    lacking = registry[registry["uscc"].isna()].set_index("id")
    if lacking.empty:
        return
    taken = set(registry["uscc"].dropna())
    rows = frame[frame["uscc"].notna() & frame["enterprise_id"].isin(lacking.index)]
    for ident, code in rows.drop_duplicates("enterprise_id")[["enterprise_id", "uscc"]].itertuples(index=False):
        if code not in taken:
            ctx.session.connection().execute(update(Enterprise).where(Enterprise.id == int(ident)).values(uscc=code))
            enterprises_changed(ctx)
            taken.add(code)


def _reports_of(ctx: LoadContext, enterprise_ids: list[int]) -> pd.DataFrame:
    t = ReopeningReport.__table__
    cols = ["id", "enterprise_id", "submitted_at", "effective_at", *REPORT_FIELDS, "filled_fields"]
    frames = [fetch(ctx, select(*[t.c[c] for c in cols]).where(t.c.enterprise_id.in_(chunk)), cols)
              for chunk in _in_chunks(enterprise_ids)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _raw_values(reports: pd.DataFrame) -> pd.DataFrame:
    """Undo the carry-forward: fields named in filled_fields were empty in the row itself."""
    raw = reports.copy()
    listed = "," + raw["filled_fields"].where(raw["filled_fields"].notna(), "").astype(str) + ","
    for f in REPORT_FIELDS:
        carried = listed.str.contains(f",{f},", regex=False)
        if carried.any():
            raw.loc[carried, f] = None
    return raw


def _refill_reports(ctx: LoadContext, enterprise_ids: list[int]) -> None:
    """Carry each enterprise's last non-empty values forward through its reports in time order."""
    reports = _reports_of(ctx, enterprise_ids)
    if reports.empty:
        return
    raw = _raw_values(reports).sort_values(["enterprise_id", "effective_at", "id"], kind="stable")
    filled = raw.groupby("enterprise_id", sort=False)[REPORT_FIELDS].ffill()
    was_filled = raw[REPORT_FIELDS].isna() & filled.notna()
    names = np.array(REPORT_FIELDS, dtype=object)
    new_filled = pd.Series([",".join(names[row]) or None for row in was_filled.to_numpy(dtype=bool)],
                           index=was_filled.index, dtype=object)
    current = reports.set_index("id").loc[raw["id"]]
    changed = _differs(filled[REPORT_FIELDS], current[REPORT_FIELDS]) | _differs(
        new_filled.to_frame("f"), current[["filled_fields"]].set_axis(["f"], axis=1))
    rows = filled[changed].copy()
    if not rows.empty:
        rows.insert(0, "id", raw.loc[rows.index, "id"])
        rows["filled_fields"] = new_filled[changed]
        bulk_update(ctx, ReopeningReport.__table__, rows)
    _register_from_first_report(ctx, raw.groupby("enterprise_id")["effective_at"].min())


def _register_from_first_report(ctx: LoadContext, first: pd.Series) -> None:
    """Enterprises that joined the registry from a report count from their earliest report."""
    t = Enterprise.__table__
    found = pd.concat([fetch(ctx, select(t.c.id, t.c.registered_at).where(t.c.id.in_(chunk), t.c.from_registry.is_(False)),
                             ["id", "registered_at"]) for chunk in _in_chunks(int(i) for i in first.index)]
                      or [pd.DataFrame(columns=["id", "registered_at"])], ignore_index=True)
    if found.empty:
        return
    earliest = pd.to_datetime(first.reindex(found["id"].astype(int)).to_numpy())
    registered = pd.to_datetime(found["registered_at"].to_numpy())
    later = registered > earliest
    if not later.any():
        return
    moves = [{"ident": int(i), "moment": _py(m)} for i, m in zip(found["id"][later], earliest[later])]
    ctx.session.connection().execute(
        update(t).where(t.c.id == bindparam("ident")).values(registered_at=bindparam("moment")), moves)
    enterprises_changed(ctx)


# --- returning staff ------------------------------------------------------------------------

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
        repeat = records[~simple].assign(_order=_effective(records[~simple], ctx.loaded_at))
        repeat = repeat.sort_values(["_order", "row_number"], kind="stable").drop(columns="_order")
        merged_records, merge_counts, retire = _merge_people(ctx, repeat, existing)
        counts += merge_counts
        out.append(merged_records)
        if retire:
            t = ReturningStaff.__table__
            for chunk in _in_chunks(retire):
                ctx.session.connection().execute(update(t).where(t.c.id.in_(chunk)).values(is_current=False))
    inserted = pd.concat(out)
    retired = existing[existing["id"].isin(retire)]
    if existing.attrs.get("table_empty") and len(records) > INDEX_REBUILD_ROWS:
        # Building the index once after a bulk load into an empty table beats inserting into it row by row;
        # the database builds it (without the GIL) while another thread counts the changes.
        index = next(i for i in ReturningStaff.__table__.indexes if "person_key" in i.columns)
        index.drop(ctx.session.connection())
        bulk_insert(ctx, ReturningStaff.__table__, inserted, report=ctx.progress)
        create = str(CreateIndex(index).compile(dialect=ctx.session.get_bind().dialect))
        with ThreadPoolExecutor(1, thread_name_prefix="staff-delta") as counter:
            counted = counter.submit(_record_staff_delta, ctx, inserted, retired, registry)
            ctx.session.connection().connection.driver_connection.execute(create)
            counted.result()
    else:
        bulk_insert(ctx, ReturningStaff.__table__, inserted, report=ctx.progress)
        _record_staff_delta(ctx, inserted, retired, registry)
    return counts, errors


def _unit_street(rows: pd.DataFrame, registry: pd.DataFrame) -> pd.Series:
    """The street a person counts under: their enterprise's street, else the street of their row."""
    street_of = registry.set_index("id")["street_code"] if not registry.empty else pd.Series(dtype=object)
    ent_street = rows["enterprise_id"].map(lambda i: None if is_missing(i) else street_of.get(int(i)))
    return ent_street.where(ent_street.notna(), rows["street_code"])


def _unit_of(street: pd.Series, district: pd.Series) -> pd.Series:
    """The key a person is counted under (etl.aggregate): their street, else their district, else ''."""
    return street.where(street.notna(), district).fillna("").astype(object)


def _record_staff_delta(ctx: LoadContext, inserted: pd.DataFrame, retired: pd.DataFrame, registry: pd.DataFrame) -> None:
    """Rows made current (+1) and retired (−1) by this load, counted by what the staff aggregates group by,
    and the units of the rows stored, for the import ledger (etl.aggregate.StaffDelta)."""
    units = _unit_of(inserted["street_code"], inserted["district_code"])
    is_current = inserted["is_current"].astype(bool)
    current = inserted[is_current]
    parts = [pd.DataFrame({"code": units[is_current], "origin": current["origin"], "return_date": current["return_date"],
                           "quarantine_end": current["quarantine_end"], "change": 1})]
    if not retired.empty:
        street = _unit_street(retired, registry)
        parts.append(pd.DataFrame({"code": _unit_of(street, retired["district_code"]), "origin": retired["origin"],
                                   "return_date": retired["return_date"], "quarantine_end": retired["quarantine_end"],
                                   "change": -1}))
    changes = pd.concat(parts, ignore_index=True)
    # A million new people come down to a few thousand (unit, origin, day, end of quarantine) counts.
    summed = changes.groupby(["code", "origin", "return_date", "quarantine_end"], dropna=False, as_index=False,
                             sort=False)["change"].sum()
    ctx.cache.setdefault("staff_delta", []).append(summed[summed["change"] != 0])
    ctx.cache["staff_inserted"] = ctx.cache.get("staff_inserted", 0) + len(inserted)
    ctx.cache.setdefault("staff_units", []).append(
        pd.DataFrame({"batch_id": np.int64(ctx.batch_id), "code": [u for u in units.unique() if u]}, columns=["batch_id", "code"]))


def _current_staff(ctx: LoadContext, keys: list[int]) -> pd.DataFrame:
    """The current record of each person among ``keys``, with ``_order``: when its information dates from."""
    t, b = ReturningStaff.__table__, ImportBatch.__table__
    cols = ["id", "person_key", *STAFF_FIELDS, "_order"]
    if ctx.session.connection().execute(select(t.c.id).limit(1)).first() is None:
        empty = pd.DataFrame(columns=cols).set_index("person_key")
        empty.attrs["table_empty"] = True
        return empty
    order = func.coalesce(t.c.submitted_at, b.c.started_at)
    frames = [fetch(ctx, select(*[t.c[c] for c in cols[:-1]], order).join(b, b.c.id == t.c.batch_id)
                    .where(t.c.is_current.is_(True), t.c.person_key.in_(chunk)), cols)
              for chunk in _in_chunks(keys, 20_000)]
    return pd.concat(frames, ignore_index=True).set_index("person_key")


def _history(ctx: LoadContext, key: int) -> pd.DataFrame:
    """Every stored record of a person with the values it brought itself (carried-forward ones emptied)."""
    t, b = ReturningStaff.__table__, ImportBatch.__table__
    cols = [*STAFF_FIELDS, "filled_fields", "row_number", "_order"]
    rows = fetch(ctx, select(*[t.c[c] for c in cols[:-1]], func.coalesce(t.c.submitted_at, b.c.started_at))
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
    orders = _effective(records, ctx.loaded_at)
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
                if all(_same(folded[f], state[f]) or (is_missing(folded[f]) and is_missing(state[f])) for f in STAFF_FIELDS):
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
            changed = [f for f in STAFF_FIELDS if not is_missing(values[f]) and not _same(values[f], state[f])]
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


LOADERS: dict[str, Callable[[LoadContext, pd.DataFrame], tuple[Counts, pd.DataFrame]]] = {
    S.DIVISION_REGISTRY.name: load_divisions,
    S.BUILDING_REGISTRY.name: load_buildings,
    S.ENTERPRISE_REGISTRY.name: load_enterprises,
    S.REOPENING_REPORT.name: load_reports,
    S.RETURNING_STAFF.name: load_staff,
}

__all__ = ["Counts", "LoadContext", "LOADERS", "bulk_insert", "no_errors"]
