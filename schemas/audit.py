"""Who did what (审计日志) and who tried to log in: tables the application only ever appends to.

``audit_log`` holds every login and failed login, logout, export, view of unmasked personal data,
follow-up, user change and ingest (etl.audit writes it, docs/rules.md#audit-trail says what goes in).
It never holds a raw resident ID or phone number: ``detail`` is written through etl.masking.
``login_attempt`` counts recent failed logins per user name and per address (dashboard/auth.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from schemas.models import Base


class AuditEntry(Base):
    """One action of one person (or command) at one moment; never updated or deleted by the application."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True, doc="local time (etl.config.local_now)")
    actor: Mapped[str] = mapped_column(String(64), index=True,
                                       doc="the user name; for the command line 'cli:<login name>'; 'public' for a QR form")
    action: Mapped[str] = mapped_column(String(32), index=True, doc="login, login_failed, logout, export, ... (etl.audit.ACTIONS)")
    scope_code: Mapped[str | None] = mapped_column(String(12), index=True, doc="the division the action concerned")
    day: Mapped[str | None] = mapped_column(String(10), doc="the day of the figures or lists, YYYY-MM-DD")
    rows: Mapped[int | None] = mapped_column(Integer, doc="rows exported, loaded or shown")
    personal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(),
                                           doc="personal data was shown or exported unmasked")
    address: Mapped[str | None] = mapped_column(String(64), doc="the client's address, for web actions")
    detail: Mapped[str | None] = mapped_column(Text, doc="what else the action needs said, masked (no raw ID or phone)")


class LoginAttempt(Base):
    """A login tried: how many failed lately, per user name and per address, decides whether to refuse."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True, doc="as typed (trimmed, masked like the audit trail, cut to 64)")
    address: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
