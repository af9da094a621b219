"""Alembic migrations of the onenet schema; run through schemas.migrate (no alembic.ini needed)."""

HEAD = "0008"
"""The newest revision in versions/: a database stamped with it needs nothing, and opening it need not
load Alembic (etl.database.init_db).  tests/schemas/test_migrations.py holds it equal to Alembic's head."""
