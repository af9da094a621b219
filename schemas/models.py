"""The unified street-level database: what is stored, typed with SQLAlchemy 2.x.

Identity (docs/rules.md#identity): a person is the keyed hash of their resident ID, an enterprise its USCC (else
normalised name within its street), a building its normalised name within its street.  Reports and
returning-staff rows are facts: every accepted input row is kept with its provenance (batch, sheet,
row, or submission id).  Fields carried forward from an earlier fact of the same entity, because the
newer row left them empty, are named in ``filled_fields`` so the raw row can always be recovered.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Division(Base):
    """One unit of the hierarchy: city, district, street (街道/镇) or community (居委/村委)."""

    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class ImportBatch(Base):
    """The import ledger: one row per file (or QR submission) taken in."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(Text, doc="the kinds of its sheets, joined by +")
    status: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0", doc="optional values blanked; the rows loaded")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class Reject(Base):
    """A row that failed validation, with where it was and what to do about it."""

    __tablename__ = "reject"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    sheet: Mapped[str | None] = mapped_column(String(128))
    row_number: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(8), default="error", server_default="error",
                                          doc="error: the row was not loaded | warning: an optional value was blanked")
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)


class Building(Base):
    __tablename__ = "building"
    __table_args__ = (Index("ix_building_street_name", "street_code", "name_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(12))
    community_name: Mapped[str | None] = mapped_column(Text)
    lng: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(Text)
    owner_contact: Mapped[str | None] = mapped_column(Text)
    owner_phone: Mapped[str | None] = mapped_column(String(32))
    building_type: Mapped[str | None] = mapped_column(Text)
    from_registry: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    sources: Mapped[str | None] = mapped_column(Text)
    token_generation: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="raised by `onenet qr --revoke`: the QR token of every earlier one is refused"
    )


PENDING, CONFIRMED = "pending", "confirmed"  # Enterprise.status


class Enterprise(Base):
    __tablename__ = "enterprise"
    __table_args__ = (Index("ix_enterprise_street_name", "street_code", "name_key"), Index("ix_enterprise_name_key", "name_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    street_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(Text)
    staff_total: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="企业")
    from_registry: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime | None] = mapped_column(
        DateTime, doc="NULL for registry enterprises; first report time for those first seen in one"
    )
    sources: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), default=CONFIRMED, server_default=CONFIRMED,
        doc="'pending' (待核实): named through a QR code, unknown to the registry, counted nowhere until confirmed",
    )
    confirmed_by: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReopeningReport(Base):
    """One reopening declaration (企业复工申报) of one enterprise, as of its submission."""

    __tablename__ = "reopening_report"
    __table_args__ = (Index("ix_report_enterprise_time", "enterprise_id", "effective_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    sheet: Mapped[str | None] = mapped_column(String(128))
    row_number: Mapped[int | None] = mapped_column(Integer)
    submission_id: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    effective_at: Mapped[datetime] = mapped_column(
        DateTime, doc="submitted_at, else the moment the row was loaded: when the report counts"
    )
    planned_reopen_date: Mapped[date | None] = mapped_column(Date)
    reopened: Mapped[bool | None] = mapped_column(Boolean)
    actual_reopen_date: Mapped[date | None] = mapped_column(Date)
    staff_total: Mapped[int | None] = mapped_column(Integer)
    staff_returned: Mapped[int | None] = mapped_column(Integer)
    staff_quarantined: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    filled_fields: Mapped[str | None] = mapped_column(String(255))


class ReturningStaff(Base):
    """One returning-staff registration (返岗人员登记).  ``is_current`` marks the merged state of a person.

    The city holds millions of these rows, loaded in bulk: batch_id and enterprise_id carry no
    foreign-key constraint, because checking one per row doubles PostgreSQL's COPY time.  The loader
    takes both from rows of the same transaction, and neither batches nor enterprises are deleted.
    """

    __tablename__ = "returning_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_key: Mapped[int] = mapped_column(BigInteger, index=True, doc="first 8 bytes of the HMAC")
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), doc="HMAC-SHA256 of the ID with the installation secret")
    id_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    enterprise_id: Mapped[int | None] = mapped_column(Integer, doc="enterprise.id (no FK constraint: see the class docstring)")
    enterprise_name: Mapped[str | None] = mapped_column(Text)
    uscc: Mapped[str | None] = mapped_column(String(18))
    building: Mapped[str | None] = mapped_column(Text)
    street_code: Mapped[str | None] = mapped_column(String(12))
    district_code: Mapped[str | None] = mapped_column(String(12))
    origin: Mapped[str | None] = mapped_column(Text, doc="as written in the source")
    origin_code: Mapped[str | None] = mapped_column(String(6), doc="division code (prefecture, else province) of origin")
    return_date: Mapped[date | None] = mapped_column(Date)
    quarantine_status: Mapped[str | None] = mapped_column(String(16))
    quarantine_end: Mapped[date | None] = mapped_column(Date)
    temperature: Mapped[float | None] = mapped_column(Float)
    health: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    batch_id: Mapped[int] = mapped_column(Integer, doc="import_batch.id (no FK constraint: see the class docstring)")
    sheet: Mapped[str | None] = mapped_column(String(128))
    row_number: Mapped[int | None] = mapped_column(Integer)
    submission_id: Mapped[str | None] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    filled_fields: Mapped[str | None] = mapped_column(String(255))


class Boundary(Base):
    """A polygon for a unit of the hierarchy, at any level (GeoJSON geometry in WGS 84)."""

    __tablename__ = "boundary"

    code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    geometry: Mapped[str] = mapped_column(Text, doc="GeoJSON geometry, EPSG:4326")
    centroid_lng: Mapped[float | None] = mapped_column(Float)
    centroid_lat: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(255))


class User(Base):
    """A person who logs in to the dashboard; everything they see and export is cut to ``scope_code``."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), doc="city | district | street | analyst | admin")
    scope_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    can_see_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(64), doc="who added the user (user name, or cli:<login>)")
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                                 doc="raised by logout, a password change or disabling: older sessions end")


class FollowUp(Base):
    """A street official's follow-up with a building that is missing reports (漏报跟进)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    day: Mapped[date] = mapped_column(Date, doc="the campaign day the follow-up is about")
    status: Mapped[str] = mapped_column(String(16), doc="called | promised | refused | resolved")
    note: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(DateTime)


class Submission(Base):
    """A QR-form or API submission: idempotent by the id the phone made (docs/sources.md#form-submissions)."""

    __tablename__ = "submission"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="made on the phone")
    body_sha256: Mapped[str] = mapped_column(String(64))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    status: Mapped[str] = mapped_column(String(16), doc="accepted | rejected")
    receipt: Mapped[str | None] = mapped_column(Text, doc="JSON receipt returned to the phone, again on retry")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16), default="form", doc="form | api")
