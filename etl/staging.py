"""SQLite bulk inserts staged through Arrow: rows written by ADBC into scratch files, copied in by SQL.

Python's sqlite3 binds every value under the GIL (about 2 µs a row of staff), and SQLite then
spends as long again writing the row.  Here the rows go, a chunk at a time, as Arrow tables to
the ADBC SQLite driver, which writes each into a scratch database file of its own without
holding the GIL; the loading connection attaches the file and copies it in with one
``INSERT … SELECT`` (SQLite's own C, GIL released too).  Up to four things then run at once: a
thread converts the next chunks to Arrow, two ADBC writers stage chunks k + 1 and k + 2 (one writer
was the bottleneck: staging a chunk takes about twice as long as copying it), the calling thread
copies chunk k.  The copy runs on the caller's connection inside its transaction, so the file's
one-transaction guarantee holds: a failure or a kill leaves nothing in the database.

The scratch files live in a hidden folder beside the database (they hold what the database
will hold, so they belong where it is, not in a shared temp folder) and are removed as soon as
they are copied; ``sweep_stale`` removes what a killed process left.  An attached file cannot be
detached inside a transaction: schemas.db detaches it when the connection goes back to the pool.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from etl.normalise import first_present, is_missing
from schemas.db import STAGED_ALIAS as ALIAS

STAGED_MIN_ROWS = 10_000
"""Smaller inserts bind directly: staging costs a file and a thread start."""
MAX_CHUNKS = 8
"""Each chunk is one attached file, and SQLite attaches at most ten databases to a connection."""
MIN_CHUNK_ROWS = 25_000
"""Each chunk costs a file, a connection and an attach: a few milliseconds."""
FOLDER_PREFIX = ".onenet-staging-"


def constant_columns(frame: pd.DataFrame) -> dict[str, int | str]:
    """Number and text columns holding one value on every row (the batch, the sheet, is_current).

    Such a value is written into the statement once instead of being bound on every row.
    """
    constant: dict[str, int | str] = {}
    if len(frame) < 2:
        return constant
    for column in frame.columns:
        series = frame[column]
        if series.dtype.kind in "iub" or isinstance(series.dtype, pd.StringDtype):
            first = series.iloc[0]
            if not is_missing(first) and bool((series == first).fillna(False).all()):  # a missing value is not equal
                constant[column] = int(first) if series.dtype.kind in "iub" else str(first)
    return constant


def arrow_types(frame: pd.DataFrame) -> dict[str, pa.DataType] | None:
    """The Arrow type each column is staged as (what sqlite3 would bind), or None if one has no such type."""
    types: dict[str, pa.DataType] = {}
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.StringDtype):
            types[column] = pa.large_string()
        elif isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_fixed_size_binary(series.dtype.pyarrow_dtype):
            types[column] = pa.binary()
        elif series.dtype.kind in "iub":
            types[column] = pa.int64()
        elif series.dtype.kind == "f":
            types[column] = pa.float64()
        else:
            sample = first_present(series)
            if isinstance(sample, (datetime, date, str)):
                types[column] = pa.string()
            elif isinstance(sample, bytes):
                types[column] = pa.binary()
            elif isinstance(sample, (bool, np.bool_, int, np.integer)):
                types[column] = pa.int64()
            elif isinstance(sample, (float, np.floating)):
                types[column] = pa.float64()
            else:
                return None
    return types


def arrow_chunk(frame: pd.DataFrame, types: dict[str, pa.DataType], to_sqlite: Callable[[pd.Series], np.ndarray]) -> pa.Table:
    """One chunk as an Arrow table; ``to_sqlite`` gives a column's Python values as sqlite3 would bind them."""
    arrays = {}
    for column, kind in types.items():
        series = frame[column]
        if isinstance(series.dtype, pd.ArrowDtype):
            arrays[column] = pa.chunked_array(series.array.__arrow_array__()).cast(kind)
        elif isinstance(series.dtype, pd.StringDtype) or series.dtype.kind in "if":
            arrays[column] = pa.array(series, type=kind, from_pandas=True)
        elif series.dtype.kind in "ub":
            arrays[column] = pa.array(series.to_numpy().astype(np.int64), type=kind)
        else:
            arrays[column] = pa.array(to_sqlite(series), type=kind, from_pandas=True)
    return pa.table(arrays)


def sweep_stale(directory: Path) -> None:
    """Remove scratch folders of processes that no longer run (a load that was killed)."""
    for folder in directory.glob(f"{FOLDER_PREFIX}*"):
        try:
            pid = int(folder.name[len(FOLDER_PREFIX):].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            continue


def free_slots(connection: sqlite3.Connection) -> int:
    attached = [row[1] for row in connection.execute("PRAGMA database_list") if row[1] not in ("main", "temp")]
    return connection.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) - len(attached)


def _stage(path: Path, chunk: pa.Table) -> None:
    import adbc_driver_sqlite.dbapi as adbc  # noqa: PLC0415 - loaded only for big inserts

    with adbc.connect(str(path), autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.adbc_ingest("rows", chunk, mode="create")


def staged_insert(
    connection: sqlite3.Connection,
    table: str,
    frame: pd.DataFrame,
    directory: Path,
    to_sqlite: Callable[[pd.Series], np.ndarray],
    fallback: Callable[[pd.DataFrame], None],
    report: Callable[[int], None] | None = None,
) -> bool:
    """Insert ``frame`` into ``table`` through staged files; False (nothing done) when it cannot be staged.

    The connection is used on the calling thread only.  ``fallback`` inserts a chunk the plain way
    (a column of mixed types that Arrow cannot hold); rows keep their order either way.
    """
    constant = constant_columns(frame)
    types = arrow_types(frame.drop(columns=list(constant)))
    chunks = min(MAX_CHUNKS, free_slots(connection))
    if not types or chunks < 2:
        return False
    sweep_stale(directory)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=directory))
    except OSError:  # a folder this process may not write to: bind the rows instead
        return False
    first_alias = 1 + max((int(row[1][len(ALIAS):]) for row in connection.execute("PRAGMA database_list")
                           if row[1].startswith(ALIAS)), default=-1)
    targets = ",".join([*types, *constant])
    selected = ",".join([*types, *["?"] * len(constant)])
    size = max(-(-len(frame) // chunks), MIN_CHUNK_ROWS)
    parts = [frame.iloc[start : start + size] for start in range(0, len(frame), size)]

    def stage(path: Path, converted: Future[pa.Table]) -> Path | None:
        try:
            chunk = converted.result()
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed types: this chunk is bound instead
            return None
        _stage(path, chunk)
        return path

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="arrow") as converter, \
                ThreadPoolExecutor(2, thread_name_prefix="stage") as writer:
            converted = [converter.submit(arrow_chunk, part, types, to_sqlite) for part in parts]
            staged = [writer.submit(stage, folder / f"{k}.db", c) for k, c in enumerate(converted)]
            try:
                for k, (part, done) in enumerate(zip(parts, staged)):
                    path = done.result()
                    if path is None:
                        fallback(part)
                    else:
                        alias = f"{ALIAS}{first_alias + k}"
                        connection.execute(f"ATTACH DATABASE ? AS {alias}", (str(path),))
                        connection.execute(f"INSERT INTO {table} ({targets}) SELECT {selected} FROM {alias}.rows",
                                           tuple(constant.values()))
                        path.unlink()
                    if report:
                        report(len(part))
            except BaseException:
                for pending in (*converted, *staged):
                    pending.cancel()
                raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return True
