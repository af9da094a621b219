"""Alembic's entry point: runs the migrations on the connection schemas.migrate hands over.

Batch operations are rendered for every engine (SQLite cannot alter most things in place; on
PostgreSQL a batch is plain ALTER statements), so one migration script serves both.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import schemas.aggregates  # noqa: F401  (its tables join Base.metadata)
import schemas.audit  # noqa: F401  (likewise)
import schemas.collection_tables  # noqa: F401  (likewise)
import schemas.intake  # noqa: F401  (likewise)
from schemas.models import Base

config = context.config


def run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("onenet migrations run on a live database only (no --sql)")
if config.attributes.get("connection") is not None:
    run(config.attributes["connection"])
else:  # the alembic command line with sqlalchemy.url in its ini file
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.begin() as conn:
        run(conn)
