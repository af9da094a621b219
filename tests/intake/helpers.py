"""Posting to the intake as a phone and as a form tool does."""
from __future__ import annotations

import re
import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from schemas.intake import RejectedSubmission
from schemas.models import Building, Enterprise, ImportBatch, Reject, ReopeningReport, ReturningStaff, Submission

JSON = {"Accept": "application/json"}
COUNTED = (ImportBatch, Reject, ReopeningReport, ReturningStaff, Enterprise, Building, Submission, RejectedSubmission)


def open_form(client: FlaskClient, token: str) -> tuple[str, dict[str, str]]:
    """GET the form: the CSRF field value and the enterprises offered (name → id)."""
    resp = client.get(f"/q/{token}")
    assert resp.status_code == 200, resp.status_code
    page = resp.get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    options = dict((n, i) for i, n in re.findall(r'<option value="(\d+)">([^<]+)</option>', page))
    return csrf, options


def form_data(csrf: str, enterprise_id: Any, staff: list[dict[str, str]] | None = None, sid: str | None = None,
              **report: str) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf": csrf, "submission_id": sid or str(uuid.uuid4()), "enterprise_id": str(enterprise_id),
                            "reopened": "是", **report}
    for f in ("name", "id_number", "phone", "origin", "return_date", "quarantine_status"):
        data[f"staff_{f}"] = [row.get(f, "") for row in staff or []]
    return data


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in COUNTED}
