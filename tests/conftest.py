"""Real databases for tests: a SQLite file per test, and a schema per test on the PostgreSQL server.

Set ONENET_TEST_PG (SQLAlchemy URL of a server database) to point elsewhere; the default is the
local server of this machine.  PostgreSQL tests are never silently skipped: if the server is down
they fail, because the product promises both engines.  ``ONENET_SKIP_PG=1`` skips them on purpose
(a laptop without a server), and says so in the summary.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_BASE = os.environ.get("ONENET_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/onenet_test")


def _ensure_pg_database() -> None:
    admin = create_engine(PG_BASE.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    dbname = PG_BASE.rsplit("/", 1)[1].split("?")[0]
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": dbname}) is None:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    admin.dispose()


@pytest.fixture(autouse=True)
def _isolated_secret(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the developer's data/ folder and secret."""
    home = tmp_path_factory.mktemp("onenet_home")
    monkeypatch.setenv("ONENET_SECRET", "test-secret-not-for-production-use")
    monkeypatch.setenv("ONENET_DATA_DIR", str(home))
    monkeypatch.delenv("ONENET_DB", raising=False)


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: an SQLite file in ``folder``, or a fresh schema on the server."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'onenet.db'}"
        return
    _ensure_pg_database()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ONENET_SKIP_PG") != "1":
        return
    skip = pytest.mark.skip(reason="ONENET_SKIP_PG=1: PostgreSQL tests skipped on purpose")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty database, on each engine the product supports."""
    with empty_database(request.param, tmp_path) as url:
        yield url
