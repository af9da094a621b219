"""The 漏报 page lists the pending enterprises of the user's streets, and its 确认 button confirms only
within them (checked on the server, whatever id the browser sends)."""
from __future__ import annotations

import json
from typing import Any

import flask
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard import queries as q
from dashboard.auth import create_user
from schemas.models import CONFIRMED, PENDING, Enterprise
from tests.intake.conftest import JSL, U_NEW, XHL, World
from tests.intake.test_guard import _figures, _payload

PASSWORD = "a-long-password-1"


def _confirm_call(client: Any, output: str, enterprise_id: int, unit: str) -> str:
    """What the browser posts when the 确认 button of ``enterprise_id`` is clicked."""
    button = {"enterprise": enterprise_id, "type": "pending-confirm"}
    state = {"enterprise": enterprise_id, "type": "pending-state"}
    body = {
        "output": output,
        "outputs": [{"id": state, "property": "children"}, {"id": button, "property": "disabled"}],
        "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
        "state": [{"id": button, "property": "id", "value": button},
                  {"id": "_pages_location", "property": "search", "value": f"?unit={unit}"}],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
    }
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json()["response"], ensure_ascii=False)


def test_pending_enterprises_are_listed_and_confirmed_only_in_scope(world: World, app: flask.Flask) -> None:
    intake = app.test_client()
    intake.post(f"/api/intake/{world.tokens['华鑫大厦']}",
                json=_payload(enterprise_id=world.enterprise_ids["上海甲科技有限公司"], 员工总数="10"))
    resp = intake.post(f"/api/intake/{world.tokens['华鑫大厦']}",
                       json=_payload(enterprise_name="上海新来科技有限公司", uscc=U_NEW, 员工总数="999"))
    assert resp.status_code == 201
    with Session(world.engine) as s, s.begin():
        create_user(s, "jsl_official", PASSWORD, "street", JSL, "江苏路街道")
        create_user(s, "xhl_official", PASSWORD, "street", XHL, "新华路街道")
    live_before, _ = _figures(world)

    dash_app = dashboard_app.create_app(world.engine)
    with Session(world.engine) as s:
        divs = q.load_divisions(s)
        rows = q.pending_in_scope(s, divs, JSL)
        assert [r["enterprise"] for r in rows] == ["上海新来科技有限公司"] and rows[0]["building"] == "华鑫大厦"
        assert q.pending_in_scope(s, divs, XHL) == []
    ident = rows[0]["enterprise_id"]

    other = dash_app.server.test_client()
    assert other.post("/login", data={"username": "xhl_official", "password": PASSWORD}).status_code == 302
    deps = other.get("/_dash-dependencies").get_json()
    output = next(d["output"] for d in deps if "pending-state" in d["output"])
    resp = _confirm_call(other, output, ident, JSL)
    assert "无权确认" in resp, resp
    with Session(world.engine) as s:
        assert s.get(Enterprise, ident).status == PENDING

    own = dash_app.server.test_client()
    assert own.post("/login", data={"username": "jsl_official", "password": PASSWORD}).status_code == 302
    resp = _confirm_call(own, output, ident, JSL)
    assert "已确认" in resp, resp
    with Session(world.engine) as s:
        ent = s.get(Enterprise, ident)
        assert ent.status == CONFIRMED and ent.confirmed_by
    live, stored = _figures(world)
    assert live["enterprises"] == live_before["enterprises"] + 1
    assert stored == {k: live[k] for k in stored}
