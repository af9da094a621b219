"""QR-code intake form and JSON endpoint, mounted on the dashboard's Flask server (issue 5)."""
from __future__ import annotations

from typing import Any


def register_intake(server: Any, engine: Any) -> None:
    """Add the intake routes to ``server`` (a flask.Flask)."""
