"""Load: validated rows of each source kind → the database, merged by identity (see docs/rules.md).

One loader per source kind, each working inside the caller's transaction (one per file), so a file
that fails midway leaves nothing behind.  Each records in ``LoadContext.touched`` the units whose
figures it changed, so that only those are aggregated again (etl.aggregate).
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from etl.registries import load_buildings, load_divisions, load_enterprises
from etl.reports import load_reports
from etl.staff import load_staff
from etl.store import Counts, LoadContext
from schemas import sources as S

Loader = Callable[[LoadContext, pd.DataFrame], tuple[Counts, pd.DataFrame]]

LOADERS: dict[str, Loader] = {
    S.DIVISION_REGISTRY.name: load_divisions,
    S.BUILDING_REGISTRY.name: load_buildings,
    S.ENTERPRISE_REGISTRY.name: load_enterprises,
    S.REOPENING_REPORT.name: load_reports,
    S.RETURNING_STAFF.name: load_staff,
}
