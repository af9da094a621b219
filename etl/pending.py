"""Pending enterprises (待核实): named through a building's QR code, unknown to the registry.

They join the registry under the code's building, are offered on that building's form from then on, and
count in no figure (etl/figures.py, etl/aggregate_compute.py) until an official of their street confirms
them, here, through `onenet enterprises confirm` or the dashboard's 漏报 page.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import mark_stale, refresh_within
from etl.collections import mark_figures_stale
from etl.audit import record
from etl.store import writing
from schemas.models import CONFIRMED, PENDING, Building, Enterprise, ReopeningReport

log = logging.getLogger(__name__)


class NotPending(LookupError):
    """No pending enterprise of that id within the caller's streets (unknown, confirmed, or out of scope)."""


@dataclass(frozen=True)
class PendingEnterprise:
    id: int
    name: str
    uscc: str | None
    street_code: str
    building_id: int | None
    building: str | None
    registered_at: datetime | None
    reports: int


def pending_enterprises(session: Session, streets: Collection[str] | None = None) -> list[PendingEnterprise]:
    """Pending enterprises, oldest first; of ``streets`` only when given (the caller's scope)."""
    reports = (select(ReopeningReport.enterprise_id, func.count().label("n"))
               .group_by(ReopeningReport.enterprise_id).subquery())
    stmt = (select(Enterprise.id, Enterprise.name, Enterprise.uscc, Enterprise.street_code, Enterprise.building_id,
                   Building.name, Enterprise.registered_at, func.coalesce(reports.c.n, 0))
            .outerjoin(Building, Building.id == Enterprise.building_id)
            .outerjoin(reports, reports.c.enterprise_id == Enterprise.id)
            .where(Enterprise.status == PENDING)
            .order_by(Enterprise.registered_at, Enterprise.id))
    if streets is not None:
        stmt = stmt.where(Enterprise.street_code.in_(sorted(streets)))
    return [PendingEnterprise(*row) for row in session.execute(stmt).all()]


def confirm_enterprise(session: Session, enterprise_id: int, user: str,
                       streets: Collection[str] | None = None) -> Enterprise:
    """Confirm a pending enterprise in the caller's transaction: from now on it and its reports count.

    ``streets``: the caller's scope; an enterprise outside it is refused like an unknown one.
    Its street's aggregates are marked stale (etl.aggregate) for the caller to refresh.
    """
    ent = session.get(Enterprise, enterprise_id)
    if ent is None or ent.status != PENDING or (streets is not None and ent.street_code not in streets):
        raise NotPending(f"no pending enterprise {enterprise_id}" + (" in your streets" if streets is not None else ""))
    ent.status, ent.confirmed_by, ent.confirmed_at = CONFIRMED, user, config.local_now()
    mark_stale(session, [ent.street_code])
    mark_figures_stale(session, None, [ent.street_code])
    return ent


def confirm(engine: Engine, enterprise_id: int, user: str, streets: Collection[str] | None = None, *,
            actor: str | None = None, address: str | None = None) -> str:
    """Confirm under the writer lock and bring the dashboard's aggregates up to date; returns the name.

    ``user`` is who the registry says confirmed; ``actor`` (default ``user``) who the audit trail says did.
    """
    with writing(engine) as session:
        ent = confirm_enterprise(session, enterprise_id, user, streets)
        name = ent.name
        record(session, actor or user, "pending_confirm", scope_code=ent.street_code, address=address,
               enterprise_id=enterprise_id, enterprise=name, uscc=ent.uscc, confirmed_by=user)
        refresh_within(session, log.warning)
    return name
