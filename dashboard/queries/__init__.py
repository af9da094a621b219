"""The dashboard's query layer: every number and list a page shows comes from here, never from layout code.

One module per concern: ``units`` (the campaign, a unit's figures, its sub-units, trends), ``reopening``,
``missing``, ``staff``, ``quality`` and ``geo``; pages use them through the names below.  Figures are
``etl.figures`` figures on the ``etl.divisions`` tree; callers pass a unit code already checked against
the user's scope (dashboard.context).
"""
from __future__ import annotations

from dashboard.queries.audit import audit_entries, reads_audit
from dashboard.queries.geo import boundaries, surroundings, unit_points
from dashboard.queries.missing import (
    building, building_enterprises, buildings_of_street, confirm_pending, missing_buildings, pending_in_scope,
    record_follow_up, unplaced_by_street, unplaced_of_street,
)
from dashboard.queries.quality import PROVENANCE_FIGURES, Provenance, batches_in_scope, ledger, provenance, rejects
from dashboard.queries.reopening import Projection, overdue_enterprises, projection
from dashboard.queries.staff import StaffBreakdown, staff_breakdown, staff_people
from dashboard.queries.units import (
    Campaign, Divisions, load_campaign, load_divisions, raw_counts, scoped_street_filter, sub_unit_figures, trend,
    unit_figures,
)

__all__ = [
    "PROVENANCE_FIGURES", "Campaign", "Divisions", "Projection", "Provenance", "StaffBreakdown", "audit_entries",
    "batches_in_scope",
    "boundaries", "building", "building_enterprises", "buildings_of_street", "confirm_pending", "ledger", "load_campaign",
    "load_divisions", "missing_buildings", "overdue_enterprises", "pending_in_scope", "projection", "provenance", "raw_counts",
    "reads_audit", "record_follow_up", "rejects", "scoped_street_filter", "staff_breakdown", "staff_people", "sub_unit_figures",
    "surroundings",
    "trend", "unit_figures", "unit_points", "unplaced_by_street", "unplaced_of_street",
]
