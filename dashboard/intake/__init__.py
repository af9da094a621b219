"""QR-code intake form and JSON endpoint, mounted on the dashboard's Flask server (issue 5).

The routes live under ``/q/``, ``/api/intake/`` and ``/intake-assets/`` (the paths the dashboard's
login guard leaves open); see ``dashboard.intake.routes`` for the list.
"""
from __future__ import annotations

import flask
import sqlalchemy

from etl.intake import IntakeSettings


def register_intake(server: flask.Flask, engine: sqlalchemy.Engine, settings: IntakeSettings | None = None) -> None:
    """Add the intake routes to ``server``; settings come from the environment unless given."""
    from dashboard.intake.routes import Intake, make_blueprint  # noqa: PLC0415

    server.register_blueprint(make_blueprint(Intake(engine, settings or IntakeSettings.from_env())))
