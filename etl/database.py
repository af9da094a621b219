"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production), and the schema brought up to date (schemas.migrate)."""
from __future__ import annotations

import csv
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from etl import config
import schemas.aggregates  # noqa: F401  (its tables join Base.metadata)
import schemas.audit  # noqa: F401  (likewise)
import schemas.collection_tables  # noqa: F401  (likewise)
import schemas.intake  # noqa: F401  (likewise)
from schemas.migrations import HEAD
from schemas.models import Division


def make_engine(url: str | None = None) -> Engine:
    url = config.database_url(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _private_sqlite_file(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_sqlite_file(database: str | None) -> None:
    """The database holds names and phone numbers: its file is readable by its owner only (0600).

    The file is created here before SQLite opens it, because SQLite would create it 0644 (under
    the usual umask); SQLite gives the -wal and -shm files the mode of the database file.  An
    existing file readable by others is tightened.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite will say the folder is missing
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for member in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if member.stat().st_mode & 0o077:
                member.chmod(0o600)
        except OSError:  # absent, or owned by another account: SQLite's own error, if any, says more
            pass


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-262144")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


@contextmanager
def sorts_on_disk(session: Session) -> Iterator[None]:
    """While a query streams every enterprise of a city, SQLite's sorts spill to a temporary file instead of
    memory (temp_store=MEMORY suits loads): filling a 300,000-enterprise template took 521 MB above its start with
    the sorts in memory, 302 MB (the page cache, bounded) with them on disk, at the same speed
    (benchmarks/bench_fill.py). PostgreSQL sorts within work_mem on its own."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    session.execute(text("PRAGMA temp_store=FILE"))
    try:
        yield
    finally:
        session.execute(text("PRAGMA temp_store=MEMORY"))


def init_db(engine: Engine) -> None:
    """Bring the database to this release's schema and seed the hierarchy that ships with the product.

    schemas.migrate creates an empty database, upgrades an older one (one line on stderr) and
    leaves an up-to-date one alone; the Shanghai districts are added when no division exists."""
    if _up_to_date(engine):
        return
    from schemas.migrate import say, upgrade  # noqa: PLC0415 - Alembic loads only where a database needs it

    with one_at_a_time(engine, "init"):  # two first runs at once: one creates, the other finds it made
        upgrade(engine, log=say)
        _seed_districts(engine)


def _up_to_date(engine: Engine) -> bool:
    """At this release's revision, with its divisions: nothing to do (and a third of a second of
    loading Alembic saved on every command)."""
    try:
        with engine.connect() as conn:
            return (conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
                    and conn.execute(select(Division.code).limit(1)).first() is not None)
    except DBAPIError:  # no version table: a new or an old database
        return False


def _seed_districts(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        if session.scalar(select(Division.code).limit(1)) is None:
            with open(config.SHIPPED_DATA_DIR / "shanghai_districts.csv", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    session.add(
                        Division(code=row["code"], name=row["name"], level=row["level"],
                                 parent_code=row["parent"] or None)
                    )


LOCK_IDS = {"write": 4_202_002, "init": 4_202_001}
"""PostgreSQL advisory lock keys of ``one_at_a_time``."""


@contextmanager
def one_at_a_time(engine: Engine, purpose: str) -> Iterator[None]:
    """Hold, for ``purpose`` ("write", "init"), the lock that one process at a time holds on this database.

    PostgreSQL: a session advisory lock on a connection of its own; SQLite: a lock on a file beside the
    database (SQLite's own write lock would give up after its busy timeout while a big file loads).
    The operating system or the server releases either when a process dies.
    """
    database = engine.url.database
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_IDS[purpose]})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_IDS[purpose]})
                conn.commit()
    elif database and database != ":memory:" and not database.startswith("file:"):
        with open(f"{database}.{purpose}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        yield
