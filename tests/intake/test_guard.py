"""A building's code touches only its own enterprises; new ones wait, pending, for the street (issue 16)."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.auth import init_login
from dashboard.intake import register_intake
from etl import config
from etl.figures import Day, street_figures
from etl.intake import IntakeSettings
from etl.pending import NotPending, confirm, pending_enterprises
from schemas.aggregates import AggStreetDay
from schemas.models import CONFIRMED, PENDING, Enterprise
from tests.intake.conftest import JSL, P3, U1, U3, U_NEW, World
from tests.intake.helpers import JSON, counts, form_data, open_form
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return onenet("--db", db_url, *args)


def _payload(**fields: Any) -> dict[str, Any]:
    return {"submission_id": str(uuid.uuid4()), "是否复工": "已复工", **fields}


def _figures(world: World) -> tuple[dict[str, int], dict[str, int] | None]:
    """Today's live figures of 江苏路 and what the dashboard's aggregates hold for it."""
    today = config.local_now().date()
    with Session(world.engine) as s:
        live = dict(street_figures(s, Day(today)).get(JSL, {}))
        row = s.get(AggStreetDay, (JSL, today))
        stored = {k: getattr(row, k) for k in ("enterprises", "reopened", "staff_total", "staff_returned")} if row else None
    return live, stored


def test_another_buildings_enterprise_is_refused_storing_nothing(world: World, app: flask.Flask) -> None:
    """江苏路商务楼's code naming 华鑫大厦's enterprise, by code, by name, by both; and on the phone form."""
    client, token = app.test_client(), world.tokens["江苏路商务楼"]
    before = counts(world.engine)
    for named in ({"企业名称": "上海甲科技有限公司", "统一社会信用代码": U1}, {"uscc": U1, "enterprise_name": "随便写的名字"},
                  {"enterprise_name": "上海甲科技有限公司"}):
        resp = client.post(f"/api/intake/{token}", json=_payload(员工总数="999", **named))
        assert resp.status_code == 422, (named, resp.get_json())
        message = resp.get_json()["errors"][0]["message"]
        assert "不是本楼宇" in message and "江苏路商务楼" in message, message
    csrf, _ = open_form(client, token)
    resp = client.post(f"/q/{token}", data={**form_data(csrf, "new", [{"name": "周七", "id_number": P3}]),
                                            "enterprise_name": "上海甲科技有限公司"}, headers=JSON)
    assert resp.status_code == 422 and "不是本楼宇" in resp.get_json()["errors"][0]["message"]
    after = counts(world.engine)
    assert after["rejected_submission"] == before["rejected_submission"] + 4
    assert {k: v for k, v in after.items() if k != "rejected_submission"} == \
        {k: v for k, v in before.items() if k != "rejected_submission"}
    # the building's own enterprise, named the same ways, is taken
    resp = client.post(f"/api/intake/{token}", json=_payload(企业名称="上海丁设计有限公司", 统一社会信用代码=U3))
    assert resp.status_code == 201, resp.get_json()


def test_unknown_enterprise_is_pending_and_counts_nowhere_until_confirmed(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    client.post(f"/api/intake/{token}", json=_payload(enterprise_id=world.enterprise_ids["上海甲科技有限公司"],
                                                      员工总数="10", 已返岗人数="5"))  # today joins the campaign
    live_before, stored_before = _figures(world)
    resp = client.post(f"/api/intake/{token}", json=_payload(enterprise_name="上海新来科技有限公司", uscc=U_NEW,
                                                             员工总数="999", 已返岗人数="999"))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["receipt"]["enterprise"]["pending"] is True
    with Session(world.engine) as s:
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == U_NEW)).one()
        assert ent.status == PENDING and ent.building_id == world.building_ids["华鑫大厦"]
        assert [p.name for p in pending_enterprises(s, [JSL])] == ["上海新来科技有限公司"]
        assert pending_enterprises(s, ["310105004"]) == []
    assert _figures(world) == (live_before, stored_before), "a pending enterprise counts in no figure"

    # only its street confirms it
    try:
        confirm(world.engine, ent.id, "新华路的人", streets=["310105004"])
        raise AssertionError("confirmed out of scope")
    except NotPending:
        pass
    listed = run_cli(world.url, "enterprises", "pending", "--street", "江苏路")
    assert listed.returncode == 0 and "上海新来科技有限公司" in listed.stdout, listed.stderr
    done = run_cli(world.url, "enterprises", "confirm", str(ent.id), "--user", "江苏路街道王")
    assert done.returncode == 0, done.stderr
    with Session(world.engine) as s:
        ent = s.get(Enterprise, ent.id)
        assert ent.status == CONFIRMED and ent.confirmed_by == "江苏路街道王" and ent.confirmed_at is not None
    live, stored = _figures(world)
    assert live["enterprises"] == live_before["enterprises"] + 1
    assert live["staff_total"] == live_before["staff_total"] + 999
    assert stored == {k: live[k] for k in stored}, "the dashboard follows at once"
    again = run_cli(world.url, "enterprises", "confirm", str(ent.id))
    assert again.returncode == 2 and "no pending enterprise" in again.stderr


def test_spreadsheet_enterprises_first_seen_still_count_at_once(world: World, tmp_path: Path) -> None:
    from etl.pipeline import Ingestor
    from tests.fixtures.messy import write_csv

    path = write_csv(tmp_path / "复工申报.csv", [
        ["企业名称", "所属街道", "所在楼宇", "是否复工", "员工总数", "已返岗人数", "填报时间"],
        ["上海表格新企业有限公司", "江苏路", "华鑫大厦", "是", "7", "3", "2020-02-10 09:00"],
    ])
    assert Ingestor(world.engine, log=lambda m: None).ingest([path])[0].status == "loaded"
    with Session(world.engine) as s:
        assert s.scalars(select(Enterprise.status).where(Enterprise.name == "上海表格新企业有限公司")).one() == CONFIRMED


def test_bearer_post_passes_the_dashboards_login_guard(world: World) -> None:
    app = flask.Flask(__name__)
    init_login(app, world.engine)
    register_intake(app, world.engine)
    client, token = app.test_client(), world.tokens["江苏路商务楼"]
    payload = _payload(enterprise_id=world.enterprise_ids["上海丁设计有限公司"], 员工总数="12")
    resp = client.post("/api/intake", json=payload, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, (resp.status_code, resp.get_data(as_text=True)[:200])
    assert client.post("/api/intakes", json=payload).status_code == 401  # nothing else opened


def _client_at(app: flask.Flask, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_one_client_over_its_limit_does_not_lock_out_the_building(world: World) -> None:
    app = flask.Flask(__name__)
    register_intake(app, world.engine, IntakeSettings(rate_limit=3, building_rate_limit=5, rate_window_seconds=120))
    token = world.tokens["华鑫大厦"]
    noisy, quiet = _client_at(app, "10.0.0.1"), _client_at(app, "10.0.0.2")
    for _ in range(3):
        assert noisy.post(f"/api/intake/{token}", json={"submission_id": "x"}).status_code == 422
    resp = noisy.post(f"/api/intake/{token}", json={"submission_id": "x"})
    assert resp.status_code == 429 and "您的提交过于频繁" in resp.get_json()["errors"][0]["message"]
    assert quiet.post(f"/api/intake/{token}", json={"submission_id": "x"}).status_code == 422
    # all clients of a building together have a higher ceiling
    assert quiet.post(f"/api/intake/{token}", json={"submission_id": "x"}).status_code == 422
    third = _client_at(app, "10.0.0.3")
    resp = third.post(f"/api/intake/{token}", json={"submission_id": "x"})
    assert resp.status_code == 429 and "本楼宇的提交过于频繁" in resp.get_json()["errors"][0]["message"]
    assert int(resp.headers["Retry-After"]) >= 1


def test_deeply_nested_json_is_a_400_with_a_message(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    before = counts(world.engine)
    for depth in (50, 100_000):
        body = '{"submission_id": "deep-0001", "staff": ' + "[" * depth + "]" * depth + "}"
        resp = client.post(f"/api/intake/{token}", data=body, content_type="application/json")
        assert resp.status_code == 400, (depth, resp.status_code)
        assert "嵌套" in resp.get_json()["errors"][0]["message"]
    assert counts(world.engine) == before
