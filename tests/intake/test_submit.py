"""Submissions through the form and the JSON endpoint: one pipeline, idempotent, guarded against abuse."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from typing import Any

import flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.intake import register_intake
from etl.intake import IntakeSettings
from schemas.intake import RejectedSubmission
from schemas.models import Enterprise, ImportBatch, ReopeningReport, ReturningStaff, Submission
from tests.fixtures.messy import wrong_check
from tests.intake.conftest import P1, P2, P3, U1, U_NEW, World
from tests.intake.helpers import JSON, counts, form_data, open_form

STAFF = [
    {"name": "张三", "id_number": P1, "phone": "13800138000", "origin": "湖北武汉", "return_date": "2020-02-05",
     "quarantine_status": "居家隔离"},
    {"name": "李四", "id_number": P2.lower(), "phone": "+86 139-0000-1111", "return_date": "2020-02-08"},
]


def _post(client: Any, token: str, data: dict[str, Any]) -> Any:
    return client.post(f"/q/{token}", data=data, headers=JSON)


def test_form_submission_loads_through_the_pipeline_with_provenance(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    assert set(options) == {"上海甲科技有限公司", "上海乙贸易有限公司", "丙咨询工作室"}  # only this building's
    sid = str(uuid.uuid4())
    resp = _post(client, token, form_data(csrf, options["上海甲科技有限公司"], STAFF, sid, staff_total="20",
                                          staff_returned="8", actual_reopen_date="2020-02-10", contact_phone="13800000000"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    receipt = body["receipt"]
    assert receipt["enterprise"] == {"name": "上海甲科技有限公司", "uscc": U1, "new": False, "pending": False}
    assert receipt["report"]["reopened"] is True and receipt["report"]["staff_total"] == 20
    assert [p["id_number"] for p in receipt["staff"]] == [P1[:6] + "********" + P1[-4:], P2[:6] + "********" + P2[-4:]]
    assert [p["name"] for p in receipt["staff"]] == ["张*", "李*"]  # the one name rule (etl.masking)
    with Session(world.engine) as s:
        batch = s.scalars(select(ImportBatch).where(ImportBatch.file_name == f"扫码填报 {sid}")).one()
        assert batch.status == "loaded" and batch.file_path == f"/q/{token}" and len(batch.sha256) == 64
        report = s.scalars(select(ReopeningReport).where(ReopeningReport.batch_id == batch.id)).one()
        assert report.submission_id == sid and report.submitted_at == batch.started_at
        assert report.enterprise_id == int(options["上海甲科技有限公司"])
        staff = s.scalars(select(ReturningStaff).where(ReturningStaff.batch_id == batch.id)).all()
        assert {p.id_masked for p in staff} == {P1[:6] + "********" + P1[-4:], P2[:6] + "********" + P2[-4:]}
        assert all(p.enterprise_id == report.enterprise_id and p.submitted_at == report.submitted_at
                   and p.submission_id == sid for p in staff)
        stored = s.get(Submission, sid)
        assert stored.batch_id == batch.id and stored.building_id == world.building_ids["华鑫大厦"] and stored.source == "form"
        for text in (stored.receipt, json.dumps(body, ensure_ascii=False)):
            assert P1 not in text and P2 not in text and P2.lower() not in text
    page = client.get(body["receipt_url"]).get_data(as_text=True)
    assert "提交成功" in page and sid in page and P1 not in page and P1[:6] + "********" + P1[-4:] in page


def test_retry_with_same_id_and_body_stores_nothing_new_and_returns_the_same_receipt(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    data = form_data(csrf, options["上海乙贸易有限公司"], STAFF, staff_total="5")
    first = _post(client, token, data)
    assert first.status_code == 201
    before = counts(world.engine)
    again = _post(client, token, data)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert again.get_json()["receipt"] == first.get_json()["receipt"]
    assert counts(world.engine) == before
    # the same submission through the JSON endpoint is the same content: still nothing new
    api = client.post(f"/api/intake/{token}", json={"submission_id": data["submission_id"], "enterprise_id": data["enterprise_id"],
                                                    "reopened": "是", "staff_total": 5, "staff": STAFF})
    assert api.status_code == 200 and api.get_json()["receipt"] == first.get_json()["receipt"]
    assert counts(world.engine) == before


def test_same_id_with_a_different_body_is_refused(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    data = form_data(csrf, options["上海乙贸易有限公司"], STAFF, staff_total="5")
    assert _post(client, token, data).status_code == 201
    before = counts(world.engine)
    changed = {**data, "staff_total": "6"}
    resp = _post(client, token, changed)
    assert resp.status_code == 409 and resp.get_json()["status"] == "conflict"
    assert counts(world.engine) == before
    # the same id posted for another building is another body too
    other = world.tokens["江苏路商务楼"]
    csrf2, options2 = open_form(client, other)
    resp = _post(client, other, {**form_data(csrf2, options2["上海丁设计有限公司"], sid=data["submission_id"])})
    assert resp.status_code == 409


def test_two_concurrent_posts_of_one_id_store_one(world: World, live_server: str) -> None:
    token = world.tokens["华鑫大厦"]
    payload = json.dumps({"submission_id": str(uuid.uuid4()), "enterprise_name": "上海甲科技有限公司", "uscc": U1,
                          "reopened": True, "staff_total": 9, "staff": STAFF}).encode()
    barrier, results = threading.Barrier(4), []

    def post() -> None:
        req = urllib.request.Request(f"{live_server}/api/intake/{token}", data=payload, method="POST",
                                     headers={"Content-Type": "application/json"})
        barrier.wait()
        with urllib.request.urlopen(req, timeout=60) as resp:
            results.append((resp.status, json.loads(resp.read())))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert sorted(code for code, _ in results) == [200, 200, 200, 201], results
    assert len({json.dumps(body["receipt"], sort_keys=True) for _, body in results}) == 1
    sid = json.loads(payload)["submission_id"]
    with Session(world.engine) as s:
        assert len(s.scalars(select(Submission).where(Submission.id == sid)).all()) == 1
        assert len(s.scalars(select(ImportBatch).where(ImportBatch.file_name == f"扫码填报 {sid}")).all()) == 1
        assert len(s.scalars(select(ReopeningReport).where(ReopeningReport.submission_id == sid)).all()) == 1


def test_invalid_submission_stores_only_a_rejected_record_with_masked_ids(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    bad_id = wrong_check(P3)
    staff = [STAFF[0], {"name": "王五", "id_number": bad_id, "phone": "12345", "return_date": "2020-02-30"}]
    before = counts(world.engine)
    resp = _post(client, token, form_data(csrf, options["上海甲科技有限公司"], staff, staff_total="3", staff_returned="8"))
    assert resp.status_code == 422
    messages = [e["message"] for e in resp.get_json()["errors"]]
    assert any("返岗人员第 2 行" in m and "校验位" in m for m in messages), messages
    assert any("已返岗人数大于员工总数" in m for m in messages), messages
    assert any("电话" in m for m in messages) and any("日期" in m for m in messages), messages
    after = counts(world.engine)
    assert after == {**before, "rejected_submission": before["rejected_submission"] + 1}  # and nothing else
    with Session(world.engine) as s:
        rec = s.scalars(select(RejectedSubmission)).one()
        assert rec.building_id == world.building_ids["华鑫大厦"] and rec.token == token and rec.source == "form"
        assert "校验位" in rec.reason
        for raw in (P1, bad_id, "13800138000"):
            assert raw not in rec.body_masked and raw not in rec.reason
        assert P1[:6] + "********" + P1[-4:] in rec.body_masked
    assert bad_id not in resp.get_data(as_text=True) and P1 not in resp.get_data(as_text=True)
    # shape errors (no enterprise, no reopening status) are refused the same way
    resp = _post(client, token, {**form_data(csrf, "", STAFF), "reopened": ""})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.get_json()["errors"]} == {"enterprise_name", "reopened"}
    assert counts(world.engine)["rejected_submission"] == before["rejected_submission"] + 2
    # an enterprise of another building cannot be picked
    _, other = open_form(client, world.tokens["江苏路商务楼"])
    resp = _post(client, token, form_data(csrf, other["上海丁设计有限公司"]))
    assert resp.status_code == 422 and "不在本楼宇" in resp.get_json()["errors"][0]["message"]


def test_a_bad_optional_value_is_refused_back_to_the_phone_not_left_empty(world: World, app: flask.Flask) -> None:
    """A spreadsheet's bad optional value is left empty with a warning (issue 18); the person at the form is
    asked to put it right instead, and nothing of the submission is stored meanwhile."""
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    staff = [STAFF[0], {"name": "王五", "id_number": P3, "phone": "1380013800", "return_date": "2020-02-06"}]
    before = counts(world.engine)
    resp = _post(client, token, form_data(csrf, options["上海甲科技有限公司"], staff, contact_phone="021-1234"))
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]
    assert {(e["section"], e["row"], e["field"]) for e in errors} == {("staff", 2, "phone"), ("report", None, "contact_phone")}
    for e in errors:
        assert "电话号码无法识别" in e["message"] and "已留空" not in e["message"] and "已导入" not in e["message"], e
    assert counts(world.engine) == {**before, "rejected_submission": before["rejected_submission"] + 1}
    with Session(world.engine) as s:
        assert "电话号码无法识别" in s.scalars(select(RejectedSubmission)).one().reason
    info = client.get(f"/api/intake/{token}").get_json()
    payload = {"submission_id": "form-tool-0002", "enterprise_id": info["enterprises"][0]["id"], "是否复工": "是",
               "返岗人员": [{"姓名": "周七", "身份证号": P3, "体温": "45"}]}
    resp = client.post(f"/api/intake/{token}", json=payload)
    assert resp.status_code == 422 and "体温" in resp.get_json()["errors"][0]["message"], resp.get_json()
    fixed = _post(client, token, form_data(csrf, options["上海甲科技有限公司"], [STAFF[0], {**staff[1], "phone": "13800138001"}]))
    assert fixed.status_code == 201, fixed.get_json()


def test_later_submission_updates_the_enterprise_by_the_merge_rules(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    ent = options["丙咨询工作室"]
    first = _post(client, token, form_data(csrf, ent, STAFF[:1], reopened="否", planned_reopen_date="2020-02-17",
                                           staff_total="6", contact_name="赵六"))
    assert first.status_code == 201
    time.sleep(1.1)  # submission times are kept to the second; two in one second merge into one report
    second = _post(client, token, form_data(csrf, ent, [{"id_number": P1, "phone": "13811112222"}], reopened="是",
                                            actual_reopen_date="2020-02-12", staff_returned="4"))
    assert second.status_code == 201, second.get_json()
    state = second.get_json()["receipt"]["report"]
    # later wins field by field; what the later one left empty keeps its earlier value
    assert state["reopened"] is True and state["actual_reopen_date"] == "2020-02-12"
    assert state["staff_total"] == 6 and state["staff_returned"] == 4 and state["contact_name"] == "赵六"
    assert state["planned_reopen_date"] == "2020-02-17"
    with Session(world.engine) as s:
        reports = s.scalars(select(ReopeningReport).where(ReopeningReport.enterprise_id == int(ent))
                            .order_by(ReopeningReport.effective_at, ReopeningReport.id)).all()
        assert len(reports) == 2
        person = s.scalars(select(ReturningStaff).where(ReturningStaff.is_current.is_(True),
                                                        ReturningStaff.id_masked == P1[:6] + "********" + P1[-4:])).one()
        assert person.phone == "13811112222" and person.name == "张三" and person.origin == "湖北武汉"


def test_new_enterprise_is_flagged_and_joins_the_building(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, _ = open_form(client, token)
    resp = _post(client, token, {**form_data(csrf, "new", STAFF[:1]), "enterprise_name": "上海新来科技有限公司",
                                 "uscc": U_NEW})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["receipt"]["enterprise"] == {"name": "上海新来科技有限公司", "uscc": U_NEW, "new": True,
                                                          "pending": True}
    with Session(world.engine) as s:
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == U_NEW)).one()
        assert ent.from_registry is False and ent.registered_at is not None
        assert ent.building_id == world.building_ids["华鑫大厦"] and ent.street_code == "310105002"
    assert "上海新来科技有限公司" in open_form(client, token)[1]  # offered from now on
    page = client.get(resp.get_json()["receipt_url"]).get_data(as_text=True)
    assert "新登记" in page


def test_json_endpoint_takes_the_token_in_the_path_or_as_bearer(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["江苏路商务楼"]
    info = client.get(f"/api/intake/{token}").get_json()
    ent_id = info["enterprises"][0]["id"]
    payload = {"submission_id": "form-tool-0001", "enterprise_id": ent_id, "是否复工": "已复工", "员工总数": "12",
               "返岗人员": [{"姓名": "周七", "身份证号": P3, "返沪日期": "2020/2/9"}]}
    resp = client.post("/api/intake", json=payload, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["receipt"]["report"]["staff_total"] == 12
    assert client.post("/api/intake", json=payload).status_code == 404  # no token at all
    assert client.post(f"/api/intake/{token}", data="x=1", content_type="application/x-www-form-urlencoded").status_code == 415
    with Session(world.engine) as s:
        batch = s.scalars(select(ImportBatch).where(ImportBatch.file_name == "扫码填报 form-tool-0001")).one()
        assert batch.file_path == f"/api/intake/{token}"


def test_csrf_missing_or_wrong_is_refused(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    data = form_data(csrf, options["上海甲科技有限公司"], STAFF)
    before = counts(world.engine)
    assert _post(client, token, {k: v for k, v in data.items() if k != "csrf"}).status_code == 403
    assert _post(client, token, {**data, "csrf": "0" * 64}).status_code == 403
    # a field lifted from another building's form does not fit this one
    other_csrf, _ = open_form(client, world.tokens["江苏路商务楼"])
    assert _post(client, token, {**data, "csrf": other_csrf}).status_code == 403
    # the right field without its cookie (another browser) is refused too
    stranger = app.test_client()
    resp = stranger.post(f"/q/{token}", data=data)
    assert resp.status_code == 403 and "安全校验" in resp.get_data(as_text=True)
    assert counts(world.engine) == before
    assert _post(client, token, data).status_code == 201


def test_size_limit(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    csrf, options = open_form(client, token)
    before = counts(world.engine)
    huge = form_data(csrf, options["上海甲科技有限公司"], STAFF, note="x")
    huge["contact_name"] = "长" * 300_000
    resp = _post(client, token, huge)
    assert resp.status_code == 413 and "过大" in resp.get_json()["errors"][0]["message"]
    resp = client.post(f"/api/intake/{token}", data=b"{" + b" " * 300_000 + b"}", content_type="application/json")
    assert resp.status_code == 413
    assert counts(world.engine) == before


def test_rate_limit_per_building_token(world: World) -> None:
    app = flask.Flask(__name__)
    register_intake(app, world.engine, IntakeSettings(rate_limit=3, rate_window_seconds=120))
    client = app.test_client()
    token = world.tokens["华鑫大厦"]
    for _ in range(3):
        assert client.post(f"/api/intake/{token}", json={"submission_id": "x"}).status_code == 422
    resp = client.post(f"/api/intake/{token}", json={"submission_id": "x"})
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 120
    assert "频繁" in resp.get_json()["errors"][0]["message"]
    csrf, options = open_form(client, token)  # reading the form is not limited ...
    assert _post(client, token, form_data(csrf, options["上海甲科技有限公司"])).status_code == 429  # ... posting is
    # another building has its own budget
    other = world.tokens["江苏路商务楼"]
    assert client.post(f"/api/intake/{other}", json={"submission_id": "x"}).status_code == 422


def test_form_pages_carry_no_outside_resources(world: World, app: flask.Flask) -> None:
    client = app.test_client()
    resp = client.get(f"/q/{world.tokens['华鑫大厦']}")
    page = resp.get_data(as_text=True)
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    import re  # noqa: PLC0415

    assert not re.search(r'(src|href)="(https?:)?//', page)
    for asset in re.findall(r'(?:src|href)="(/intake-assets/[^"]+)"', page):
        assert client.get(asset).status_code == 200
    assert 'lang="zh-CN"' in page and "width=device-width" in page


def test_a_building_without_enterprises_offers_the_new_enterprise_fields_and_stores_it_pending(
        world: World, app: flask.Flask) -> None:
    """The code of a building with no registered enterprise is no dead end (issue 18, defect 9): the form
    asks for the enterprise's name and code at once; the report and staff land on a pending enterprise of
    that building; a wrong code (GB 32100, python-stdnum) or another building's enterprise stores nothing."""
    client, token = app.test_client(), world.tokens["愚园路一号楼"]
    page = client.get(f"/q/{token}").get_data(as_text=True)
    assert '<select id="enterprise_id"' not in page
    assert '<input type="hidden" id="enterprise_id" name="enterprise_id" value="new">' in page
    assert '<div id="new-enterprise" class="sub">' in page  # shown, not hidden behind a list option
    csrf, offered = open_form(client, token)
    assert offered == {}

    before = counts(world.engine)
    for named, message in (({"enterprise_name": "上海愚园新公司", "uscc": wrong_check(U_NEW)}, "统一社会信用代码"),
                           ({"enterprise_name": "上海甲科技有限公司"}, "不是本楼宇")):
        resp = _post(client, token, {**form_data(csrf, "new", STAFF[:1]), **named})
        assert resp.status_code == 422 and message in json.dumps(resp.get_json(), ensure_ascii=False), resp.get_json()
    after = counts(world.engine)
    assert {k: v for k, v in after.items() if k != "rejected_submission"} == \
        {k: v for k, v in before.items() if k != "rejected_submission"}

    resp = _post(client, token, {**form_data(csrf, "new", STAFF, staff_total="12"), "enterprise_name": "上海愚园新公司",
                                 "uscc": U_NEW.lower()})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["receipt"]["enterprise"]["pending"] is True
    with Session(world.engine) as s:
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == U_NEW)).one()
        assert (ent.building_id, ent.street_code, ent.status) == (world.building_ids["愚园路一号楼"], "310105002", "pending")
        report = s.scalars(select(ReopeningReport).where(ReopeningReport.enterprise_id == ent.id)).one()
        assert report.staff_total == 12 and report.submission_id == resp.get_json()["receipt"]["submission_id"]
        staff = s.scalars(select(ReturningStaff).where(ReturningStaff.enterprise_id == ent.id)).all()
        assert sorted(p.name for p in staff) == ["张三", "李四"]
    assert open_form(client, token)[1] == {"上海愚园新公司": str(ent.id)}  # offered from now on, in a list again
