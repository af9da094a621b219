"""Schema versions: Alembic migrations under schemas/migrations, run programmatically.

Every revision has a four-digit id (0001 is the baseline: the schema of the first release with
migrations).  A database made before migrations existed (tables, no ``alembic_version``) is checked
against the baseline, repaired the way earlier releases did on start (missing tables created,
missing nullable columns added), stamped at the baseline and then upgraded like any other.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text

import schemas.aggregates  # noqa: F401  (its tables join Base.metadata)
import schemas.audit  # noqa: F401  (likewise)
import schemas.collection_tables  # noqa: F401  (likewise)
import schemas.intake  # noqa: F401  (likewise)
from schemas.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
_LOCK_ID = 0x6F6E656E6574  # PostgreSQL advisory lock: one process migrates at a time

Log = Callable[[str], None]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class SchemaMismatch(RuntimeError):
    """A database made before migrations whose tables are not those of the baseline."""


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    """The revision the database was at (None: empty, or made before migrations)."""
    after: str
    created: bool = False
    adopted: bool = False
    """Made before migrations: recognised as the baseline and stamped."""

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None, on_version_apply: Callable[..., None] | None = None) -> Config:
    """Alembic's configuration without an ini file; migrations run on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "60")
    config.attributes["connection"] = connection
    config.attributes["on_version_apply"] = on_version_apply
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = scripts().get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def describe(revision: str | None) -> str:
    """``0002 (what it does)`` for a revision id."""
    if revision is None:
        return "none"
    script = scripts().get_revision(revision)
    return f"{revision} ({' '.join(script.doc.split())})" if script is not None and script.doc else revision


def upgrade(engine: Engine, log: Log | None = None, steps: Log | None = None) -> UpgradeResult:
    """Bring the database to the newest revision; nothing is written when it is there already.

    ``log`` gets one line when an existing database was upgraded or adopted; ``steps`` a line per
    revision applied.
    """
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return UpgradeResult(head, head)
        conn.rollback()
        with _foreign_keys_off(conn), conn.begin():
            _lock(conn)
            before = current_revision(conn)
            if before == head:  # another process upgraded it meanwhile
                return UpgradeResult(head, head)
            tables = set(inspect(conn).get_table_names()) - {VERSION_TABLE}
            created = before is None and not tables
            adopted = before is None and bool(tables)
            if adopted:
                _adopt(conn, tables, log)
                command.stamp(alembic_config(conn), BASELINE)
            started = time.monotonic()

            def applied(*, step: Any, **_: Any) -> None:
                if steps is not None:
                    steps(f"  applied {describe(step.up_revision_id)} "
                          f"after {time.monotonic() - started:.1f} s")

            command.upgrade(alembic_config(conn, on_version_apply=applied), "head")
            after = current_revision(conn)
    assert after == head, f"upgrade stopped at {after}, not {head}"
    if log is not None and adopted:
        log(f"database made before schema versions: its tables match revision {BASELINE}, stamped so")
    if log is not None and not created and (before or BASELINE) != head:
        log(f"database schema upgraded from {before or BASELINE} to {head}")
    return UpgradeResult(before, head, created=created, adopted=adopted)


@contextmanager
def _foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite: a batch migration copies a table and drops the old one, which must not cascade or fail
    on foreign keys (the pragma only takes effect outside a transaction)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})


@cache
def _baseline_columns() -> dict[str, dict[str, tuple[Any, bool]]]:
    """The tables of the baseline revision: each column's type (generic) and whether it is nullable,
    read off running the revision on a scratch database."""
    scratch = create_engine("sqlite://")
    with scratch.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
        found = inspect(conn)
        columns = {t: {c["name"]: (c["type"].as_generic(), c["nullable"]) for c in found.get_columns(t)}
                   for t in found.get_table_names() if t != VERSION_TABLE}
    scratch.dispose()
    return columns


def baseline_shape() -> dict[str, frozenset[str]]:
    """The tables of the baseline revision and their columns."""
    return {t: frozenset(columns) for t, columns in _baseline_columns().items()}


def _adopt(conn: Connection, tables: set[str], log: Log | None) -> None:
    """Check a database made before migrations against the baseline.  What earlier releases did on
    every start (create missing tables, add missing nullable columns) is done once more; anything
    else missing stops here, naming it."""
    shape = baseline_shape()
    for name in sorted(set(shape) - tables):
        if name in Base.metadata.tables:
            Base.metadata.tables[name].create(conn)
            if log is not None:
                log(f"  made before schema versions: created the missing table {name}")
    found = inspect(conn)
    present_tables = set(found.get_table_names())
    for name in shape:
        if name not in present_tables:
            continue
        present = {c["name"] for c in found.get_columns(name)}
        for column, (kind, nullable) in _baseline_columns()[name].items():
            if column not in present and nullable:
                conn.execute(text(f"ALTER TABLE {name} ADD COLUMN {column} {kind.compile(dialect=conn.dialect)}"))
                if log is not None:
                    log(f"  made before schema versions: added the missing column {name}.{column}")
    found = inspect(conn)
    now = set(found.get_table_names())
    problems = [f"table {t} is missing" for t in sorted(set(shape) - now)]
    for name in sorted(set(shape) & now):
        missing = sorted(shape[name] - {c["name"] for c in found.get_columns(name)})
        problems += [f"column {name}.{c} is missing" for c in missing]
    if problems:
        raise SchemaMismatch(
            "this database was made before schema versions and does not match the baseline "
            f"({BASELINE}): " + "; ".join(problems) + ". Load its source files "
            "into a new database (onenet --db NEW ingest ...) or add what is missing by hand.")
