"""Pre-aggregated figures for the dashboard (issue 4)."""
from __future__ import annotations

from sqlalchemy.orm import Session


def refresh_aggregates(session: Session, street_codes: set[str] | None = None) -> None:
    """Rebuild the pre-aggregated tables (for ``street_codes`` only, when given) inside the caller's transaction."""
