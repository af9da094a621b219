"""Building tokens have a key of their own, can be revoked per building, and the printed sheet points only
at the configured address (issue 16)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import flask
import pytest
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard.auth import create_user
from tests.fixtures.web import login
from etl.intake import building_token, token_key, token_key_path
from tests.intake.conftest import JSL, World, make_app
from tests.intake.test_guard import _payload, run_cli

BASE = "https://onenet.example.gov.cn"


def test_tokens_have_their_own_key_file_apart_from_the_id_secret(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    token = world.tokens["华鑫大厦"]
    path = token_key_path()
    assert path.exists() and path.name == "token.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("ONENET_SECRET", "another-secret-for-the-id-hashes-0123456789")
    assert building_token(JSL, "华鑫大厦") == token, "re-keying the ID hashes leaves the codes alone"
    monkeypatch.setenv("ONENET_TOKEN_SECRET", "a-token-secret-of-this-installation-0123456789")
    assert building_token(JSL, "华鑫大厦", token_key()) != token


def test_revoking_one_buildings_code_refuses_the_old_and_issues_a_new_one(world: World, app: flask.Flask) -> None:
    client = app.test_client()
    old, neighbour = world.tokens["华鑫大厦"], world.tokens["江苏路商务楼"]
    assert client.get(f"/q/{old}").status_code == 200  # the running server knows the old code
    proc = run_cli(world.url, "qr", "--street", "江苏路", "--revoke", "华鑫大厦", "--base-url", BASE)
    assert proc.returncode == 0, proc.stderr
    new = building_token(JSL, "华鑫大厦", generation=1)
    assert f"{BASE}/q/{new}" in proc.stdout and new != old
    resp = client.get(f"/q/{old}")
    assert resp.status_code == 410 and "已停用" in resp.get_data(as_text=True)
    resp = client.post(f"/api/intake/{old}", json=_payload(enterprise_id=world.enterprise_ids["上海甲科技有限公司"]))
    assert resp.status_code == 410 and "已停用" in resp.get_json()["errors"][0]["message"]
    assert client.get(f"/q/{new}").status_code == 200
    resp = client.post(f"/api/intake/{new}", json=_payload(enterprise_id=world.enterprise_ids["上海甲科技有限公司"]))
    assert resp.status_code == 201, resp.get_json()
    assert client.get(f"/q/{neighbour}").status_code == 200, "other buildings keep their codes"
    # a server started after the revocation refuses the old code too, and prints the new one
    assert make_app(world.engine).test_client().get(f"/q/{old}").status_code == 410
    out = Path(os.environ["ONENET_DATA_DIR"]) / "qr"
    assert run_cli(world.url, "qr", "--street", "江苏路", "--out", str(out), "--base-url", BASE).returncode == 0
    assert new in (out / "二维码_江苏路街道.html").read_text(encoding="utf-8")
    bad = run_cli(world.url, "qr", "--street", "江苏路", "--revoke", "不存在大厦")
    assert bad.returncode != 0 and "不存在大厦" in bad.stderr


def test_printable_sheet_never_points_at_the_requests_host(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONENET_PUBLIC_URL", raising=False)
    with Session(world.engine) as s, s.begin():
        create_user(s, "jsl_official", "a-long-password-1", "street", JSL, "街道工作人员")
    server = dashboard_app.create_app(world.engine).server
    client = server.test_client()
    evil = "http://evil.example.com"  # the address a request claims
    resp = login(client, "jsl_official", "a-long-password-1", base_url=evil)
    assert resp.status_code == 302
    resp = client.get(f"/qr-sheet/{JSL}", base_url=evil)
    assert resp.status_code == 503 and "ONENET_PUBLIC_URL" in resp.get_data(as_text=True)
    monkeypatch.setenv("ONENET_PUBLIC_URL", BASE)
    page = client.get(f"/qr-sheet/{JSL}", base_url=evil).get_data(as_text=True)
    assert f"{BASE}/q/{world.tokens['华鑫大厦']}" in page and "evil.example.com" not in page
