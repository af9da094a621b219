"""Store: the low-level writes and reads a load makes inside its file's transaction.

Every function here works in the caller's transaction (one per file), so a file that fails midway
leaves nothing behind.  Bulk inserts take each engine's fast path: multi-row ``INSERT`` statements
on SQLite, ``COPY`` on PostgreSQL.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Engine, LargeBinary, Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from etl.text import first_present, is_missing, map_unique
from etl.database import one_at_a_time
from etl.resolve import EnterpriseRegistry, Hierarchy
from schemas.models import Enterprise

CHUNK = 50_000


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """One writing transaction at a time: committed on success, rolled back on any error.

    Loads, QR submissions and aggregate refreshes all write through here, so two of them at the same
    time give exactly what they give one after the other: each sees everything the one before it
    committed (a file loaded meanwhile under another name is recognised by its hash).
    """
    with one_at_a_time(engine, "write"), sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
        yield session


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
    cache: dict[str, Any] = field(default_factory=dict)  # lives across the files of one run (the division tree)
    touched: set[str] = field(default_factory=set)
    """Units (street codes; a district code for people counted under no street) whose figures this load changed."""
    touched_staff: set[str] = field(default_factory=set)
    """Those of them whose returning-staff figures changed (people loaded, an enterprise moved street)."""
    touched_registry: set[str] = field(default_factory=set)
    """Those of them whose registry changed (who a collection expects to answer: etl.collection_summary)."""

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def touch(self, codes: Iterable[Any], staff: bool = False, registry: bool = False) -> None:
        units = {c for c in codes if isinstance(c, str) and c}
        self.touched |= units
        if staff:
            self.touched_staff |= units
        if registry:
            self.touched_registry |= units


REGISTRY_COLUMNS = ["id", "uscc", "street_code", "name_key", "building_id", "from_registry", "registered_at"]


def enterprise_registry(ctx: LoadContext, rows: pd.DataFrame | None = None, ids: Iterable[Any] = ()) -> EnterpriseRegistry:
    """The registry enterprises that ``rows`` can match, and those of ``ids``: every enterprise with one
    of their credit codes or names, whatever its street (so that whether a name is unique in its street
    or in the city is known).  What a file reads of the registry grows with the file, not with the city.
    """
    t = Enterprise.__table__
    wanted = [(t.c.id, {int(i) for i in ids if not is_missing(i)})]
    for column in ("uscc", "name_key"):
        if rows is not None and column in rows:
            wanted.append((t.c[column], set(rows[column].dropna())))
    frames = [fetch(ctx.session, select(*[t.c[c] for c in REGISTRY_COLUMNS]).where(column.in_(chunk)), REGISTRY_COLUMNS)
              for column, values in wanted for chunk in in_chunks(sorted(values))]
    found = pd.concat(frames, ignore_index=True).drop_duplicates("id") if frames else pd.DataFrame(columns=REGISTRY_COLUMNS)
    return EnterpriseRegistry(found.sort_values("id", ignore_index=True))


def _constant_numbers(frame: pd.DataFrame) -> dict[str, int]:
    """Integer columns holding one value on every row (the batch, is_current): written into the statement once."""
    constant: dict[str, int] = {}
    if len(frame) < 2:
        return constant
    for column in frame.columns:
        series = frame[column]
        if series.dtype.kind in "iub":
            first = series.iloc[0]
            if not is_missing(first) and bool((series == first).fillna(False).all()):  # a missing value equals nothing
                constant[column] = int(first)
    return constant


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
    if series.dtype.kind in "iufb":  # numbers and flags (nullable ones too) convert as a whole, not value by value
        return series.to_numpy(dtype=object, na_value=None)
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
    constant = _constant_numbers(frame[columns[1:]])
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


def bulk_insert(session: Session, table: Table, frame: pd.DataFrame, report: Callable[[int], None] | None = None) -> None:
    """Append rows with the engine's fast path (multi-row statements on SQLite, ``COPY`` on PostgreSQL),
    in the session's transaction."""
    if frame.empty:
        return
    # Columns with no value at all stay out of the statement: NULL is their default anyway.
    columns = [c for c in frame.columns if first_present(frame[c]) is not None]
    connection = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "sqlite":
        for start in range(0, len(frame), CHUNK):
            part = frame.iloc[start : start + CHUNK]
            _sqlite_insert(connection, table, columns, part)
            if report:
                report(len(part))
        return
    with connection.cursor() as cursor:
        statement = f"COPY {table.name} ({','.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        with cursor.copy(statement) as copy:
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


def bulk_update(session: Session, table: Table, frame: pd.DataFrame) -> None:
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
        {"_id": int(r[0]), **{c: (None if is_missing(v) else py_value(v)) for c, v in zip(columns, r[1:])}}
        for r in frame[["id", *columns]].itertuples(index=False, name=None)
    ]
    session.connection().execute(stmt, rows)


def differs(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Row-wise: does any cell differ (two missing cells are equal; numbers within rounding)?

    Cells are compared as a whole array; only pairs that are not plainly equal are looked at one by one.
    """
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    left_missing, right_missing = pd.isna(left), pd.isna(right)
    equal = np.where(left_missing, None, left) == np.where(right_missing, None, right)
    for i, j in zip(*np.nonzero(~equal & ~left_missing & ~right_missing)):
        equal[i, j] = same_value(left[i, j], right[i, j])
    return ~equal.all(axis=1)


def py_value(value: Any) -> Any:
    """A value as the database driver binds it: numpy scalars as Python ones, timestamps as datetimes."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def fetch(session: Session, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    # Plain tuples: handed SQLAlchemy Rows, pandas probes each one for attributes (slow on big loads).
    rows = [tuple(row) for row in session.connection().execute(stmt)]
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def in_chunks(values: Iterable[Any], size: int = 5_000) -> Iterable[list[Any]]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]




def merge_sources(old: str | None, fields: Iterable[str], where: list[Any]) -> str:
    sources = json.loads(old) if old else {}
    for f in fields:
        sources[f] = where
    return json.dumps(sources, ensure_ascii=False)


def uncarried(rows: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """Stored records with the values they brought themselves: the fields named in ``filled_fields``
    were carried forward from earlier records, and are emptied."""
    raw = rows.copy()
    listed = "," + raw["filled_fields"].where(raw["filled_fields"].notna(), "").astype(str) + ","
    for f in fields:
        carried = listed.str.contains(f",{f},", regex=False)
        if carried.any():
            raw.loc[carried, f] = None
    return raw


def last_non_null(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Collapse rows with the same keys: for each field the last non-empty value wins."""
    grouped = frame.groupby(keys, sort=False, dropna=False)
    merged = grouped.last()
    merged["_row"] = grouped["_row"].max()
    return merged.reset_index()


# --- divisions ------------------------------------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """Equal as stored values (numbers within rounding); a missing stored value equals nothing."""
    if is_missing(b):
        return False
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) < 1e-9
        except (TypeError, ValueError):
            return False
    return py_value(a) == py_value(b)
