"""Tables of the QR-code intake (issue 5) beyond ``schemas.models.Submission``.

Accepted submissions are facts loaded through the pipeline (an ``import_batch`` per submission plus
a ``submission`` row for idempotency).  A submission that fails validation stores nothing but one
``rejected_submission`` row: when, which building, why, and the body with every resident ID masked.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.models import Base


class RejectedSubmission(Base):
    """A QR-form or API submission refused by validation: nothing of it was loaded."""

    __tablename__ = "rejected_submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    token: Mapped[str | None] = mapped_column(String(64), doc="the building token the request came with")
    submission_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), doc="form | api")
    reason: Mapped[str] = mapped_column(Text, doc="the reasons, one per line (resident IDs masked)")
    body_masked: Mapped[str | None] = mapped_column(Text, doc="the submitted body as JSON, IDs and phones masked")
