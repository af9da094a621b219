"""The audit trail (docs/rules.md#audit-trail): exports, loads, follow-ups and confirmations are recorded with
who, scope, day and rows; `onenet audit` reads it; no full resident ID or mobile number ever lands in it."""
from __future__ import annotations

import base64
import importlib
import io
import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard.auth import create_user
from etl import config
from etl.cli import main
from etl.database import make_engine
from etl.intake import building_token
from schemas.audit import AuditEntry
from schemas.models import PENDING, Building, Enterprise
from tests.fixtures.messy import build_world1, build_world4, make_id
from tests.fixtures.web import login
from tests.intake.conftest import JSL, P1, P2, U_NEW, XHL, make_app, write_registry
from tests.intake.test_guard import _payload

PASSWORD = "a-long-password-1"
FULL_ID_OR_MOBILE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15}|1[3-9][0-9]{9})(?![0-9])")
"""An 18-digit (or old 15-digit) resident ID or an 11-digit mobile number, anywhere in a text."""


def _dashboard(engine: Engine) -> Any:
    """A test client of a new dashboard app with the shell's callbacks too: Dash hands the callbacks
    dashboard.app declares at import to the first app of the process only, so they are declared again."""
    importlib.reload(dashboard_app)
    return dashboard_app.create_app(engine).server.test_client()


def _dash_call(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_json()["response"]


def _download(client: Any, pathname: str, search: str) -> bytes:
    """What the browser receives when 导出 Excel is clicked on ``pathname`` at ``search``."""
    response = _dash_call(client, {
        "output": "download.data", "outputs": {"id": "download", "property": "data"},
        "inputs": [{"id": "download-btn", "property": "n_clicks", "value": 1}],
        "state": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                  {"id": "_pages_location", "property": "search", "value": search}],
        "changedPropIds": ["download-btn.n_clicks"]})
    data = response["download"]["data"]
    return base64.b64decode(data["content"])


def _data_rows(workbook: Path | bytes, header_rows: int = 1) -> int:
    """Rows with any value below the header of every sheet but the cover, read cell by cell."""
    book = openpyxl.load_workbook(io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook)
    return sum(sum(1 for row in ws.iter_rows(min_row=header_rows + 1, values_only=True) if any(v is not None for v in row))
               for ws in book.worksheets if ws.title != "封面")


def _entries(engine: Engine, action: str | None = None) -> list[AuditEntry]:
    with Session(engine) as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        return list(s.scalars(stmt.where(AuditEntry.action == action) if action else stmt))


def _loaded(url: str, tmp_path: Path) -> Engine:
    assert main(["--db", url, "ingest", *map(str, write_registry(tmp_path / "registry"))]) == 0
    return make_engine(url)


def test_an_export_by_an_analyst_leaves_an_audit_row_with_its_scope_and_rows(db_url: str, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    engine = _loaded(db_url, tmp_path)
    with Session(engine) as s, s.begin():
        create_user(s, "analyst_cn", PASSWORD, "analyst", "310105", "长宁分析员")
    client = _dashboard(engine)
    assert login(client, "analyst_cn", PASSWORD).status_code == 302
    workbook = _download(client, "/missing", f"?unit={JSL}&day=2020-02-10")

    (entry,) = _entries(engine, "export")
    assert (entry.actor, entry.scope_code, entry.day, entry.personal) == ("analyst_cn", JSL, "2020-02-10", False)
    assert entry.rows == _data_rows(workbook) > 0
    assert json.loads(entry.detail)["sections"] == ["missing"]

    out = tmp_path / "out" / "新华路.xlsx"
    assert main(["--db", db_url, "export", "--street", "新华路街道", "--date", "2020-02-10", "--out", str(out)]) == 0
    remind = tmp_path / "out" / "催报.xlsx"
    assert main(["--db", db_url, "remind", "--street", JSL, "--date", "2020-02-10", "--out", str(remind)]) == 0
    capsys.readouterr()
    cli_export = _entries(engine, "export")[-1]
    assert cli_export.actor.startswith("cli:") and cli_export.scope_code == XHL and cli_export.rows == _data_rows(out)
    (reminder,) = _entries(engine, "remind")
    silent = sum(1 for row in openpyxl.load_workbook(remind).active.iter_rows(min_row=4, min_col=7, max_col=7,
                                                                              values_only=True) if row[0])
    assert reminder.scope_code == JSL and reminder.rows == silent > 0 and reminder.personal

    def audit(*options: str) -> list[dict[str, Any]]:
        assert main(["--db", db_url, "audit", "--json", *options]) == 0
        return json.loads(capsys.readouterr().out)

    everything = audit()
    assert [e["action"] for e in everything][:3] == ["remind", "export", "export"]  # newest first
    assert {e["action"] for e in everything} >= {"ingest", "login", "export", "remind"}
    assert [(e["actor"], e["scope_code"]) for e in audit("--action", "export")] == [(cli_export.actor, XHL),
                                                                                   ("analyst_cn", JSL)]
    assert audit("--action", "导出") == audit("--action", "export")
    assert [e["action"] for e in audit("--user", "analyst_cn")] == ["export", "login"]
    assert audit("--since", (config.local_now().date() + timedelta(days=1)).isoformat()) == []
    assert len(audit("--since", config.local_now().date().isoformat())) == len(everything)
    assert [e["action"] for e in audit("--limit", "1")] == ["remind"]
    ingest = audit("--action", "ingest")[0]
    assert ingest["rows"] > 0 and {f["file"] for f in ingest["detail"]["files"]} == {"区划表.csv", "楼宇台账.csv", "企业名录.csv"}

    assert main(["--db", db_url, "audit", "--user", "analyst_cn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["时间", "用户", "操作", "范围"] and "导出" in lines[1] and "江苏路街道" in lines[1]
    assert lines[-1] == "2 entries"
    with pytest.raises(SystemExit, match="unknown action"):
        main(["--db", db_url, "audit", "--action", "偷看"])


def test_no_full_id_or_mobile_reaches_the_audit_log(db_url: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A messy inbox (a file named after a person's ID and phone among them), a QR submission naming a new
    enterprise, its confirmation, a failed login typed as a phone number, a follow-up note and an unmasked
    export: each is recorded, and the table holds no full ID or mobile number."""
    engine = _loaded(db_url, tmp_path)
    inbox = tmp_path / "inbox"
    build_world1(inbox / "world1")
    staff_csv = build_world4(inbox / "world4")["staff_csv"]
    person = make_id("310105", "19900101", "555")
    shutil.copy(staff_csv, inbox / f"{person}_13912345678_补报.csv")
    assert main(["--db", db_url, "ingest", str(inbox)]) in (0, 1)

    with Session(engine) as s:
        key = s.scalar(select(Building.name_key).where(Building.name == "华鑫大厦", Building.street_code == JSL))
    staff = [{"姓名": "张三", "身份证号": P1, "手机号": "13800138000", "返沪日期": "2020-02-05"},
             {"姓名": "李四", "身份证号": P2, "手机号": "+86 139-0000-1111", "返沪日期": "2020-02-08"}]
    resp = make_app(engine).test_client().post(f"/api/intake/{building_token(JSL, key)}", json=_payload(
        enterprise_name="上海新来科技有限公司", uscc=U_NEW, 员工总数="9", 联系电话="13700001234", 返岗人员=staff))
    assert resp.status_code == 201, resp.get_json()
    with Session(engine) as s:
        pending = s.scalar(select(Enterprise.id).where(Enterprise.status == PENDING))
    assert main(["--db", db_url, "enterprises", "confirm", str(pending), "--user", "13800001111"]) == 0

    with Session(engine) as s, s.begin():
        create_user(s, "jsl_official", PASSWORD, "street", JSL, "江苏路街道", can_see_personal_data=True)
        building_id = s.scalar(select(Building.id).where(Building.name == "华鑫大厦", Building.street_code == JSL))
    client = _dashboard(engine)
    login(client, "13811112222", "wrong password 13811112222")
    assert login(client, "jsl_official", PASSWORD).status_code == 302
    button = {"building": building_id, "type": "follow-save"}
    answer = _dash_call(client, {
        "output": next(d["output"] for d in client.get("/_dash-dependencies").get_json() if "follow-state" in d["output"]),
        "outputs": {"id": {"building": building_id, "type": "follow-state"}, "property": "children"},
        "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
        "state": [{"id": button, "property": "id", "value": button},
                  {"id": {"building": building_id, "type": "follow-status"}, "property": "value", "value": "called"},
                  {"id": {"building": building_id, "type": "follow-note"}, "property": "value",
                   "value": f"业主王先生 13900001111 说明天催，身份证 {person}"},
                  {"id": "_pages_location", "property": "search", "value": f"?unit={JSL}"}],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"]})
    assert "已致电" in json.dumps(answer, ensure_ascii=False), answer
    _download(client, "/staff", f"?unit={JSL}&day={date(2020, 2, 10)}")
    capsys.readouterr()

    entries = _entries(engine)
    actions = [e.action for e in entries]
    for action in ("ingest", "pending_confirm", "login_failed", "login", "follow_up", "export"):
        assert action in actions, actions
    assert any(e.personal for e in entries if e.action == "export"), "the unmasked export says so"
    ingest = [e for e in entries if e.action == "ingest"][-1]
    assert f"{person[:6]}********{person[-4:]}_139****5678_补报.csv" in ingest.detail
    (confirmed,) = [e for e in entries if e.action == "pending_confirm"]
    assert confirmed.scope_code == JSL and "上海新来科技有限公司" in confirmed.detail
    (follow,) = [e for e in entries if e.action == "follow_up"]
    assert follow.actor == "jsl_official" and follow.scope_code == JSL and "139****1111" in follow.detail
    export = [e for e in entries if e.action == "export"][-1]
    assert export.personal and export.rows > 0
    text = "\n".join(" ".join(str(v) for v in (e.actor, e.scope_code, e.day, e.rows, e.address, e.detail)) for e in entries)
    assert FULL_ID_OR_MOBILE.findall(text) == []
