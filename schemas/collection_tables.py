"""Collections (信息收集) as stored: the collection, each version of its definition, and the answers.

A definition (schemas.collections.CollectionDef) is kept as JSON: its fields are what the forms show and
what answers are checked against, never columns of their own, so that a new collection needs no schema
change. Answers are facts like reports: every accepted answer is kept with its provenance; the latest of a
respondent for a period counts (docs/collections.md).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.models import Base


class Collection(Base):
    __tablename__ = "collection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text, doc="发起部门")
    scope_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), doc="draft | open | closed")
    version: Mapped[int] = mapped_column(Integer, doc="the current definition's version (collection_version)")
    definition: Mapped[str] = mapped_column(Text, doc="the current CollectionDef as JSON")
    template: Mapped[bytes | None] = mapped_column(LargeBinary, doc="the department's Excel template it came from")
    template_name: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CollectionVersion(Base):
    """Every definition a collection has had: answers name the version they were given under."""

    __tablename__ = "collection_version"
    __table_args__ = (Index("ix_collection_version", "collection_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CollectionAnswer(Base):
    """One respondent's answer for one period (the start day of a one-off collection, the day of a daily one)."""

    __tablename__ = "collection_answer"
    __table_args__ = (
        Index("ix_answer_latest", "collection_id", "period", "enterprise_id", "effective_at", "id"),
        Index("ix_answer_submission", "collection_id", "submission_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    period: Mapped[date] = mapped_column(Date)
    effective_at: Mapped[datetime] = mapped_column(DateTime, doc="when it was submitted (else loaded): when it counts")
    answers: Mapped[str] = mapped_column(Text, doc="JSON object field key → value; resident IDs as keyed hash and masked form")
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), doc="form | api | file")
    submission_id: Mapped[str | None] = mapped_column(String(64), doc="the phone's or the file row's id: a retry is one answer")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    row_number: Mapped[int | None] = mapped_column(Integer)


class StreetWebhook(Base):
    """The group robot (企业微信/钉钉群机器人) a street's reminders are pushed to (docs/collections.md#reminders)."""

    __tablename__ = "street_webhook"

    street_code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(DateTime)


class CollectionFigure(Base):
    """A collection's counts for one building's respondents (``building_id`` None: a street's respondents of no
    building) on one of the collection's days, derived from the registry and the answers by
    etl.collection_summary, so that a city's or a district's view reads thousands of rows, not a million answers.
    """

    __tablename__ = "collection_figure"
    __table_args__ = (Index("ix_collection_figure", "collection_id", "day", "street_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    day: Mapped[date] = mapped_column(Date)
    street_code: Mapped[str] = mapped_column(String(12))
    building_id: Mapped[int | None] = mapped_column(Integer)
    expected: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)


class CollectionFieldTotals(Base):
    """A street's field totals of a collection on one of its days (each number field's sum, each choice's count
    over the latest answers), kept with collection_figure: nothing shows them finer than a street."""

    __tablename__ = "collection_field_totals"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    street_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    fields: Mapped[str] = mapped_column(Text, doc="JSON: field key → sum, or → {choice: count}")


class CollectionStale(Base):
    """What no longer agrees in collection_figure: a collection's streets (``collection_id`` None: every
    collection's, after a registry change; ``street_code`` '*': all of them). Marked in the transaction that
    changes the data, cleared by the refresh that rebuilds them; a collection with a mark is counted live."""

    __tablename__ = "collection_stale"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int | None] = mapped_column(Integer)
    street_code: Mapped[str] = mapped_column(String(12))
