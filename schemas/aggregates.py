"""Pre-aggregated tables the dashboard reads; rebuilt by etl.aggregate.

They hold nothing that is not derived from the fact tables: ``etl.aggregate.refresh_stale`` can drop
and rebuild any of them at any time.  ``agg_stale`` names the units whose rows no longer agree with
the fact tables: a load marks them in its own transaction, so a crash never hides a change.  Per-day state that changes rarely (a building's
silent tenants, an enterprise's latest report) is stored as day ranges ``day_from``..``day_to``
(``day_to`` 9999-12-31, ``etl.days.OPEN_END``: still valid after the last aggregated day) rather
than one row per day.  The days aggregated are those ``etl.days.day_range`` lists; a day between two of
them has the figures of the earlier one.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from schemas.models import Base


class AggStreetDay(Base):
    """``etl.figures.street_figures`` for one key on one aggregated day (every street has a row on each).

    ``code`` is what street_figures keys by: a street code, or a district code for returning staff
    whose row names no street (and '' for staff with neither).
    """

    __tablename__ = "agg_street_day"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    shops: Mapped[int] = mapped_column(Integer, default=0)
    shops_open: Mapped[int] = mapped_column(Integer, default=0)
    staff_total: Mapped[int] = mapped_column(Integer, default=0)
    staff_returned: Mapped[int] = mapped_column(Integer, default=0)
    reported: Mapped[int] = mapped_column(Integer, default=0)
    reported_on_time: Mapped[int] = mapped_column(Integer, default=0)
    buildings: Mapped[int] = mapped_column(Integer, default=0)
    buildings_missing: Mapped[int] = mapped_column(Integer, default=0)
    returning_staff: Mapped[int] = mapped_column(Integer, default=0)
    in_quarantine: Mapped[int] = mapped_column(Integer, default=0)


class AggBuildingSpan(Base):
    """A building missing reports (silent > 0) with the same counts over ``day_from``..``day_to``."""

    __tablename__ = "agg_building_span"
    __table_args__ = (Index("ix_agg_building_span_street", "street_code", "day_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(Integer, index=True)
    street_code: Mapped[str] = mapped_column(String(12))
    day_from: Mapped[date] = mapped_column(Date)
    day_to: Mapped[date | None] = mapped_column(Date)
    enterprises: Mapped[int] = mapped_column(Integer, doc="registered enterprises (shops excluded) of the building")
    silent: Mapped[int] = mapped_column(Integer, doc="of which without any report by the day")


class AggEnterpriseSpan(Base):
    """An enterprise's latest report (by the end of each day) over ``day_from``..``day_to``.

    Reopened on D = ``reopened`` and (``actual_reopen_date`` is NULL or <= D), as in docs/figures.md#reopened.
    """

    __tablename__ = "agg_enterprise_span"
    __table_args__ = (Index("ix_agg_enterprise_span_street", "street_code", "day_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    report_id: Mapped[int] = mapped_column(Integer)
    street_code: Mapped[str] = mapped_column(String(12))
    building_id: Mapped[int | None] = mapped_column(Integer)
    is_shop: Mapped[bool] = mapped_column(Boolean)
    day_from: Mapped[date] = mapped_column(Date)
    day_to: Mapped[date | None] = mapped_column(Date)
    planned_reopen_date: Mapped[date | None] = mapped_column(Date)
    reopened: Mapped[bool | None] = mapped_column(Boolean)
    actual_reopen_date: Mapped[date | None] = mapped_column(Date)


class AggStreetPlan(Base):
    """Enterprises (shops excluded) not reopened on ``day`` whose latest report plans reopening on ``planned``."""

    __tablename__ = "agg_street_plan"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    planned: Mapped[date] = mapped_column(Date, primary_key=True)
    pending: Mapped[int] = mapped_column(Integer)


class AggStaff(Base):
    """Current returning staff (one record per person) by unit, origin and return date, for the 返岗人员 page."""

    __tablename__ = "agg_staff"
    __table_args__ = (Index("ix_agg_staff_code", "code", "return_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), doc="same key as AggStreetDay.code")
    origin: Mapped[str | None] = mapped_column(Text)
    return_date: Mapped[date] = mapped_column(Date)
    people: Mapped[int] = mapped_column(Integer)


class AggQuarantine(Base):
    """The same people by unit, return date and end of quarantine (those with a quarantine end)."""

    __tablename__ = "agg_quarantine"
    __table_args__ = (Index("ix_agg_quarantine_code", "code", "quarantine_end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), doc="same key as AggStreetDay.code")
    return_date: Mapped[date] = mapped_column(Date)
    quarantine_end: Mapped[date] = mapped_column(Date)
    people: Mapped[int] = mapped_column(Integer)


class AggBatchUnit(Base):
    """Which import batches brought data of which unit (street, else district): the ledger cut to a scope."""

    __tablename__ = "agg_batch_unit"

    batch_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)


class AggMeta(Base):
    """What the aggregates cover: first/last aggregated day, the default day (``data_last_day``,
    docs/figures.md#the-default-day), when refreshed."""

    __tablename__ = "agg_meta"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    data_last_day: Mapped[date | None] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime)


class AggStale(Base):
    """A unit whose aggregates a committed load changed and no refresh has rebuilt yet ('*': every unit)."""

    __tablename__ = "agg_stale"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    staff: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(),
                                        doc="its returning-staff figures too (a load of reports alone leaves them as they are)")
