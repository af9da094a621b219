"""Schema migrations on SQLite and PostgreSQL: an empty database, one made before migrations existed
(create_all of the models, with rows in it), a second run, the `onenet db` commands, and the
models agreeing with the newest revision."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from etl.cli import main
from schemas import migrate
from schemas.migrations import HEAD
from etl.database import init_db, make_engine
from schemas.models import Base, Building, Division, Enterprise, ImportBatch

ROOT = Path(__file__).resolve().parents[2]


def shape(engine: Engine) -> dict[str, Any]:
    """Tables with their columns (name, nullability), primary keys, indexes and foreign keys."""
    found = inspect(engine)
    out: dict[str, Any] = {}
    for table in found.get_table_names():
        if table == migrate.VERSION_TABLE:
            continue
        out[table] = {
            "columns": sorted((c["name"], c["nullable"]) for c in found.get_columns(table)),
            "pk": sorted(found.get_pk_constraint(table)["constrained_columns"]),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table)),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                          for f in found.get_foreign_keys(table)),
            "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
        }
    return out


def models_shape(db_url: str, tmp_path: Path) -> dict[str, Any]:
    """The same, for the models created with create_all in a database of the same engine."""
    if db_url.startswith("sqlite"):
        other = make_engine(f"sqlite:///{tmp_path / 'models.db'}")
        Base.metadata.create_all(other)
        return shape(other)
    from tests.conftest import empty_database  # noqa: PLC0415

    with empty_database("postgres", tmp_path) as url:
        other = make_engine(url)
        Base.metadata.create_all(other)
        result = shape(other)
        other.dispose()
    return result


def upgraded_line(before: str) -> list[str]:
    head = migrate.head_revision()
    return [f"database schema upgraded from {before} to {head}"] if before != head else []


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return migrate.current_revision(conn)


def test_the_head_that_lets_an_up_to_date_database_open_without_alembic_is_alembics() -> None:
    assert migrate.head_revision() == HEAD


def test_empty_database_to_head(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    result = migrate.upgrade(engine)
    assert result.created and result.after == migrate.head_revision()
    assert revision(engine) == migrate.head_revision()
    assert shape(engine) == models_shape(db_url, tmp_path)
    if engine.dialect.name == "postgresql":  # the version table lives in the test's own schema
        with engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
            assert conn.scalar(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s "
                                    "AND table_name = 'alembic_version'"), {"s": schema}) == 1
    engine.dispose()


def test_models_agree_with_head(db_url: str) -> None:
    """A model changed without a migration (`onenet db revision -m ...`) fails here."""
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == [], f"the models differ from the newest migration: {diffs}"
    engine.dispose()


def make_old_database(engine: Engine) -> None:
    """What the release before migrations made (the tables of the baseline, no version table), then rows."""
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), migrate.BASELINE)
        conn.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    with Session(engine) as session, session.begin():
        session.add(Division(code="310105", name="长宁区", level="区"))
        # Written with the baseline's columns: today's model has columns the baseline lacks.
        session.execute(text("INSERT INTO import_batch (file_name, file_path, sha256, status, rows, inserted, updated,"
                             " unchanged, rejected, started_at) VALUES ('a.xlsx', '/in/a.xlsx', :sha, 'loaded',"
                             " 0, 0, 0, 0, 0, :at)"), {"sha": "0" * 64, "at": datetime(2020, 2, 10, 9)})


def test_database_made_before_migrations_is_adopted(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    make_old_database(engine)
    lines: list[str] = []
    result = migrate.upgrade(engine, log=lines.append)
    assert result.adopted and not result.created
    assert revision(engine) == migrate.head_revision()
    assert lines[0] == f"database made before schema versions: its tables match revision {migrate.BASELINE}, stamped so"
    assert lines[1:] == upgraded_line(migrate.BASELINE)
    init_db(engine)
    with Session(engine) as session:
        assert session.scalars(select(Division.code)).all() == ["310105"]  # kept; no seeding over it
        assert session.scalar(select(ImportBatch.file_name)) == "a.xlsx"
    assert shape(engine) == models_shape(db_url, tmp_path)
    before = list(lines)
    second = migrate.upgrade(engine, log=lines.append)
    assert not second.changed and lines == before
    engine.dispose()


def test_old_database_missing_a_nullable_column_is_repaired(db_url: str) -> None:
    """What earlier releases did on every start is done once, before the stamp."""
    engine = make_engine(db_url)
    make_old_database(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE agg_meta"))
        conn.execute(text("ALTER TABLE building DROP COLUMN sources"))
    lines: list[str] = []
    migrate.upgrade(engine, log=lines.append)
    assert "  made before schema versions: created the missing table agg_meta" in lines
    assert "  made before schema versions: added the missing column building.sources" in lines
    assert {c["name"] for c in inspect(engine).get_columns("building")} >= {"sources"}
    engine.dispose()


def test_old_database_that_does_not_match_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["import_batch"], Base.metadata.tables["division"]])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE division DROP COLUMN name"))  # NOT NULL: not repaired
    with pytest.raises(migrate.SchemaMismatch, match=r"column division\.name is missing"):
        migrate.upgrade(engine)
    engine.dispose()


def test_init_db_twice_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with Session(engine) as session:
        divisions = session.scalars(select(Division.code).order_by(Division.code)).all()
    assert len(divisions) == 17  # the city and its 16 districts
    init_db(engine)
    with Session(engine) as session:
        assert session.scalars(select(Division.code).order_by(Division.code)).all() == divisions
    assert revision(engine) == migrate.head_revision()
    engine.dispose()


def onenet(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`onenet --db URL ...` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "etl.cli", "--db", db_url, *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def onenet_db(capsys: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`onenet --db URL db ...` through the command's own entry point, in this process (fast)."""
    def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        rc = main(["--db", db_url, "db", *args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["onenet", "--db", db_url, "db", *args], rc, out, err)
    return run


def test_cli_db_upgrade_and_current_on_an_empty_database(db_url: str, onenet_db: Callable[..., Any]) -> None:
    head = migrate.head_revision()
    proc = onenet_db(db_url, "current")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("none: empty database")

    proc = onenet_db(db_url, "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert f"  applied {migrate.BASELINE} (" in proc.stdout
    assert f"new database: schema created at {head} (" in proc.stdout

    proc = onenet_db(db_url, "current")
    assert proc.stdout.splitlines() == [migrate.describe(head)]
    proc = onenet_db(db_url, "upgrade")
    assert proc.returncode == 0 and "already at the newest revision" in proc.stdout
    engine = make_engine(db_url)
    with Session(engine) as session:  # the upgrade seeds what ships with the product, as every command does
        assert session.scalar(select(Division.name).where(Division.code == "310105")) == "长宁区"
    engine.dispose()


def test_cli_db_upgrade_of_a_database_made_before_migrations(db_url: str, onenet_db: Callable[..., Any]) -> None:
    engine = make_engine(db_url)
    make_old_database(engine)
    proc = onenet_db(db_url, "current")
    assert proc.stdout.startswith("none: made before schema versions")

    proc = onenet_db(db_url, "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert f"database made before schema versions: its tables match revision {migrate.BASELINE}" in proc.stdout
    assert all(line in proc.stdout for line in upgraded_line(migrate.BASELINE))
    assert onenet_db(db_url, "current").stdout.splitlines() == [migrate.describe(migrate.head_revision())]
    with Session(engine) as session:
        assert session.scalar(select(ImportBatch.file_name)) == "a.xlsx"
    engine.dispose()


def test_commands_upgrade_a_database_that_is_behind(db_url: str) -> None:
    """`onenet summary` (like ingest and serve) upgrades on its way in, with one line saying so."""
    engine = make_engine(db_url)
    make_old_database(engine)
    engine.dispose()
    proc = onenet(db_url, "summary", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "database made before schema versions: its tables match revision" in proc.stderr
    assert all(line in proc.stderr for line in upgraded_line(migrate.BASELINE))
    proc = onenet(db_url, "summary", "--json")
    assert proc.returncode == 0 and "database" not in proc.stderr


@pytest.fixture
def next_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """The migrations with one more revision, as a later release brings: a column on building, added on
    SQLite by copying the table (as it needs for most changes) while enterprises refer to it."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9999_test_column.py").write_text(f'''"""test: building.test_note"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{migrate.head_revision()}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    copy = "always" if op.get_context().dialect.name == "sqlite" else "auto"
    with op.batch_alter_table("building", recreate=copy) as batch:
        batch.add_column(sa.Column("test_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("building") as batch:
        batch.drop_column("test_note")
''', encoding="utf-8")
    return lambda: (monkeypatch.setattr(migrate, "MIGRATIONS_DIR", folder), "9999")[1]


def test_database_behind_is_upgraded_with_data_kept(db_url: str, next_revision: Callable[[], str]) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with Session(engine) as session, session.begin():
        session.add(Division(code="310105001", name="华阳路街道", level="街道", parent_code="310105"))
        session.flush()
        session.add(Building(id=7, street_code="310105001", name="来福士", name_key="来福士"))
        session.flush()
        session.add(Enterprise(street_code="310105001", building_id=7, name="甲公司", name_key="甲公司"))
    before = migrate.head_revision()
    after = next_revision()
    lines: list[str] = []
    result = migrate.upgrade(engine, log=lines.append, steps=lines.append)
    assert (result.before, result.after) == (before, after)
    assert lines[0].startswith(f"  applied {after} (test: building.test_note) after ")
    assert lines[1:] == [f"database schema upgraded from {before} to {after}"]
    assert revision(engine) == after
    assert "test_note" in {c["name"] for c in inspect(engine).get_columns("building")}
    with Session(engine) as session:
        assert session.scalar(select(Enterprise.building_id).where(Enterprise.name == "甲公司")) == 7
        assert session.scalar(select(Building.name).where(Building.id == 7)) == "来福士"
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert not migrate.upgrade(engine, log=lines.append).changed
    engine.dispose()
