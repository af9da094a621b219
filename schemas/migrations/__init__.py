"""Alembic migrations of the onenet schema; run through schemas.migrate (no alembic.ini needed)."""
