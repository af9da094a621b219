"""The 漏报 page lists the pending enterprises of the user's streets, and its 确认 button confirms only
within them (checked on the server, whatever id the browser sends)."""
from __future__ import annotations

import json
from typing import Any

import flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard import queries as q
from dashboard.auth import create_user
from tests.fixtures.web import login, rendered_page
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
    assert login(other, "xhl_official", PASSWORD).status_code == 302
    deps = other.get("/_dash-dependencies").get_json()
    output = next(d["output"] for d in deps if "pending-state" in d["output"])
    resp = _confirm_call(other, output, ident, JSL)
    assert "无权确认" in resp, resp
    with Session(world.engine) as s:
        assert s.get(Enterprise, ident).status == PENDING

    own = dash_app.server.test_client()
    assert login(own, "jsl_official", PASSWORD).status_code == 302
    resp = _confirm_call(own, output, ident, JSL)
    assert "已确认" in resp, resp
    with Session(world.engine) as s:
        ent = s.get(Enterprise, ident)
        assert ent.status == CONFIRMED and ent.confirmed_by
    live, stored = _figures(world)
    assert live["enterprises"] == live_before["enterprises"] + 1
    assert stored == {k: live[k] for k in stored}


def _ids(tree: Any) -> list[Any]:
    """Every component id in a rendered layout."""
    found, stack = [], [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "id" in item:
                found.append(item["id"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_an_enterprise_named_through_an_empty_buildings_code_waits_on_the_missing_page(world: World, app: flask.Flask) -> None:
    """Issue 18, defect 9: the enterprise HR names on the form of a building with no registered enterprise
    is on its street's 漏报 page, under that building, with a 确认 button; one click makes it count."""
    resp = app.test_client().post(f"/api/intake/{world.tokens['愚园路一号楼']}",
                                  json=_payload(enterprise_name="上海愚园新公司", uscc=U_NEW, 员工总数="12"))
    assert resp.status_code == 201, resp.get_json()
    with Session(world.engine) as s, s.begin():
        create_user(s, "jsl_official", PASSWORD, "street", JSL, "江苏路街道")
    live_before, _ = _figures(world)
    official = dashboard_app.create_app(world.engine).server.test_client()
    assert login(official, "jsl_official", PASSWORD).status_code == 302

    page = rendered_page(official, "/missing", f"?unit={JSL}")
    assert "待核实企业（1 家）" in page and "上海愚园新公司" in page and "愚园路一号楼" in page and U_NEW in page
    with Session(world.engine) as s:
        ident = s.scalars(select(Enterprise.id).where(Enterprise.uscc == U_NEW)).one()
    assert {"type": "pending-confirm", "enterprise": ident} in _ids(json.loads(page))

    deps = official.get("/_dash-dependencies").get_json()
    output = next(d["output"] for d in deps if "pending-state" in d["output"])
    assert "已确认" in _confirm_call(official, output, ident, JSL)
    assert "待核实企业" not in rendered_page(official, "/missing", f"?unit={JSL}")
    live, stored = _figures(world)
    assert (live["enterprises"], live["reported"]) == (live_before["enterprises"] + 1, live_before["reported"] + 1)
    assert stored == {k: live[k] for k in stored}
