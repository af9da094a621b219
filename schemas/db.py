"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""
from __future__ import annotations

import csv
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from etl import config
import schemas.aggregates  # noqa: F401  (its tables join Base.metadata)
import schemas.intake  # noqa: F401  (likewise)
from schemas.aggregates import AggMeta
from schemas.models import Division, ImportBatch


STAGED_ALIAS = "onenet_stage_"
"""Schema names of the scratch files etl.staging attaches to a loading connection."""


def make_engine(url: str | None = None) -> Engine:
    url = config.database_url(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _detach_staged)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-262144")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _detach_staged(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """A staged bulk insert (etl.staging) leaves its scratch files attached until its transaction ends."""
    if dbapi_connection is None:
        return
    for _, name, _ in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if name.startswith(STAGED_ALIAS):
            dbapi_connection.execute(f"DETACH DATABASE {name}")


def init_db(engine: Engine) -> None:
    """Bring the database to this release's schema and seed the hierarchy that ships with the product.

    schemas.migrate creates an empty database, upgrades an older one (one line on stderr) and
    leaves an up-to-date one alone; the Shanghai districts are added when no division exists."""
    from schemas.migrate import say, upgrade  # noqa: PLC0415 - Alembic loads only where a database is opened

    upgrade(engine, log=say)
    with Session(engine) as session, session.begin():
        if session.scalar(select(AggMeta.key).limit(1)) is None and session.scalar(select(ImportBatch.id).limit(1)) is None:
            # a new database: its aggregates (empty) account for everything in it
            from etl.aggregate import initial_meta  # noqa: PLC0415 - etl.aggregate builds on these models

            session.add(initial_meta(session))
        if session.scalar(select(Division.code).limit(1)) is None:
            with open(config.SHIPPED_DATA_DIR / "shanghai_districts.csv", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    session.add(
                        Division(code=row["code"], name=row["name"], level=row["level"],
                                 parent_code=row["parent"] or None)
                    )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def pause_checkpoints(session: Session) -> Any | None:
    """SQLite: the commit that makes the write-ahead log big also copies it into the database file (a
    checkpoint, half a second per million rows) unless paused on that connection.  An ingest pauses
    it while loading and runs one checkpoint beside the aggregate refresh (``checkpoint_in_background``).
    Returns the driver connection to resume."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    raw = session.connection().connection.driver_connection
    raw.execute("PRAGMA wal_autocheckpoint=0")
    return raw


def resume_checkpoints(connections: Iterable[Any]) -> None:
    for raw in connections:
        raw.execute("PRAGMA wal_autocheckpoint=1000")


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; None for another engine or a database in memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def checkpoint_in_background(engine: Engine) -> threading.Thread | None:
    """Copy SQLite's write-ahead log into the database file on a thread (sqlite3 releases the GIL)."""
    database = sqlite_file(engine)
    if database is None:
        return None

    def checkpoint() -> None:
        conn = sqlite3.connect(database, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    thread = threading.Thread(target=checkpoint, name="sqlite-checkpoint", daemon=True)
    thread.start()
    return thread
