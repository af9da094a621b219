"""The SQLite database file holds names and phone numbers: only its owner may read it."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from etl.database import init_db, make_engine


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_private(tmp_path: Path, usual_umask: None) -> None:
    db = tmp_path / "onenet.db"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM division")).scalar()
        members = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in members), [p.name for p in tmp_path.iterdir()]
        assert {p.name: oct(_mode(p)) for p in members} == {p.name: oct(0o600) for p in members}
    engine.dispose()


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path, usual_umask: None) -> None:
    db = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    engine.dispose()
    db.chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert _mode(db) == 0o600
