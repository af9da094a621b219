"""SQLite bulk inserts staged through Arrow (etl.staging): the same rows as binding them, in the caller's
transaction, nothing left attached or on disk afterwards."""
from __future__ import annotations

import os
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from etl import load, staging
from etl.resolve import Hierarchy
from schemas.db import STAGED_ALIAS, init_db, make_engine, session_scope
from schemas.models import ReturningStaff

ROWS = staging.MIN_CHUNK_ROWS + 2_345  # two chunks, the second short
STAFF = ReturningStaff.__table__


def staff_rows(n: int = ROWS) -> pd.DataFrame:
    """Every kind of value a staff row holds, with gaps in each column that may be empty."""
    i = np.arange(n)
    gap = i % 7 == 3
    return pd.DataFrame({
        "person_key": (i * 7919 - 10**12).astype(np.int64),
        "id_hash": pd.array([bytes([k % 256]) * 32 for k in i], dtype=pd.ArrowDtype(pa.binary(32))),  # as etl.identity makes it
        "id_masked": pd.Series([f"310105********{k % 10000:04d}" for k in i], dtype="string[pyarrow]"),
        "phone": pd.Series([None if g else f"138{k:08d}" for k, g in zip(i, gap)], dtype="string[pyarrow]"),
        "name": pd.Series(np.where(gap, None, np.array(["张伟", "王芳", "李娜"])[i % 3]), dtype=object),
        "enterprise_id": pd.Series([pd.NA if g else int(k % 50) for k, g in zip(i, gap)], dtype=object),
        "district_code": "310105",
        "return_date": [None if g else date(2020, 2, 1 + k % 27) for k, g in zip(i, gap)],
        "temperature": np.where(gap, np.nan, 36.0 + (i % 10) / 10),
        "submitted_at": [None if g else datetime(2020, 2, 3, 8, k % 60, 5, 120) for k, g in zip(i, gap)],
        "batch_id": 1,
        "sheet": pd.Series(["名单"] * n, dtype="string[pyarrow]"),  # one value on every row: written once
        "origin": pd.Series([None if g else "湖北武汉" for g in gap], dtype="string[pyarrow]"),  # one value, with gaps
        "row_number": i + 2,
        "is_current": True,
    })


def test_only_columns_with_one_value_on_every_row_are_constant() -> None:
    frame = staff_rows(100)
    assert staging.constant_columns(frame) == {"district_code": "310105", "batch_id": 1, "sheet": "名单", "is_current": 1}


def insert(db: Path, frame: pd.DataFrame, staged: bool, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Rows as stored (value and SQLite storage class of each column) after ``bulk_insert`` committed."""
    monkeypatch.setattr(load, "STAGED_MIN_ROWS", staging.STAGED_MIN_ROWS if staged else 10**9)
    db.parent.mkdir()
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    with session_scope(engine) as session:
        ctx = load.LoadContext(session, 1, None, datetime(2020, 2, 10), Hierarchy.from_frame(
            pd.DataFrame(columns=["code", "name", "level", "parent_code"])))
        load.bulk_insert(ctx, STAFF, frame)
    with engine.connect() as conn:
        columns = [c.name for c in STAFF.columns]
        rows = conn.execute(text(f"SELECT {', '.join(f'{c}, typeof({c})' for c in columns)} FROM returning_staff ORDER BY id"))
        stored = [tuple(r) for r in rows]
        attached = [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]
    engine.dispose()
    assert not any(name.startswith(STAGED_ALIAS) for name in attached), "scratch files detached with the transaction"
    assert not list(db.parent.glob(f"{staging.FOLDER_PREFIX}*")), "scratch files removed"
    return stored


def test_a_staged_insert_stores_exactly_what_binding_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = staff_rows()
    calls: list[int] = []
    stage = staging._stage
    monkeypatch.setattr(staging, "_stage", lambda path, chunk: (calls.append(chunk.num_rows), stage(path, chunk))[1])
    staged = insert(tmp_path / "staged" / "onenet.db", frame, True, monkeypatch)
    assert len(calls) > 1 and sum(calls) == ROWS, "written by ADBC in several chunks"
    bound = insert(tmp_path / "bound" / "onenet.db", frame, False, monkeypatch)
    assert len(staged) == ROWS and staged == bound
    first = dict(zip([c.name for c in STAFF.columns], staged[0][::2]))
    assert (first["return_date"], first["submitted_at"], first["is_current"]) == ("2020-02-01", "2020-02-03 08:00:05.000120", 1)


def test_a_column_arrow_cannot_hold_is_bound_and_the_rows_stay_in_order(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    frame = staff_rows()
    frame["name"] = frame["name"].astype(object)
    frame.loc[ROWS - 5, "name"] = 12345  # the last chunk holds a number among names
    staged = insert(tmp_path / "staged" / "onenet.db", frame, True, monkeypatch)
    bound = insert(tmp_path / "bound" / "onenet.db", frame, False, monkeypatch)
    assert staged == bound


def test_a_rolled_back_transaction_keeps_nothing_of_a_staged_insert(tmp_path: Path) -> None:
    db = tmp_path / "onenet.db"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        ctx = load.LoadContext(session, 1, None, datetime(2020, 2, 10), Hierarchy.from_frame(
            pd.DataFrame(columns=["code", "name", "level", "parent_code"])))
        load.bulk_insert(ctx, STAFF, staff_rows())
        assert session.scalar(text("SELECT count(*) FROM returning_staff")) == ROWS
        raise RuntimeError("the file failed after its rows were written")
    with Session(engine) as session:
        assert session.scalar(text("SELECT count(*) FROM returning_staff")) == 0
    engine.dispose()
    assert not list(tmp_path.glob(f"{staging.FOLDER_PREFIX}*"))


def test_scratch_folders_of_killed_loads_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = tmp_path / f"{staging.FOLDER_PREFIX}{finished.pid}-abc"
    live = tmp_path / f"{staging.FOLDER_PREFIX}{os.getpid()}-def"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "0.db").write_bytes(b"x")
    staging.sweep_stale(tmp_path)
    assert not dead.exists() and live.exists()
