"""Logins and sessions (docs/rules.md#logins-and-sessions): guessing pauses, sessions that end, CSRF,
same origin, the login check and the security headers, on both engines, with Flask's test client."""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import flask
import itsdangerous
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard.auth import WeakPassword, create_user, disable_user, set_password
from etl import config
from etl.database import init_db, make_engine
from schemas.audit import AuditEntry, LoginAttempt
from tests.fixtures.web import CSRF_RE, csrf_from, login
from tests.intake.conftest import JSL, World, world  # noqa: F401  (the fixture: a street with buildings)

ROOT = Path(__file__).resolve().parents[2]
NAME, PASSWORD = "wang_jsl", "jiangsulu-2020-wang"
START = datetime(2020, 2, 21, 9, 0, 0)


class Clock:
    """config.local_now, moved by the test instead of waited for."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    now = Clock(START)
    monkeypatch.setattr(config, "local_now", now)
    return now


@pytest.fixture
def engine_url(db_url: str) -> Iterator[str]:
    engine = make_engine(db_url)
    init_db(engine)
    with Session(engine) as s, s.begin():
        create_user(s, NAME, PASSWORD, "street", "310105", "江苏路街道工作人员")
    engine.dispose()
    yield db_url


@pytest.fixture
def server(engine_url: str) -> flask.Flask:
    return dashboard_app.create_app(make_engine(engine_url)).server


def client_at(server: flask.Flask, address: str = "10.1.1.1") -> Any:
    client = server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def audit_rows(url: str, action: str | None = None) -> list[AuditEntry]:
    with Session(make_engine(url)) as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        return list(s.scalars(stmt.where(AuditEntry.action == action) if action else stmt))


# --------------------------------------------------------------------------- guessing passwords


def test_the_sixth_try_is_refused_even_with_the_right_password_until_the_pause_ends(
        server: flask.Flask, engine_url: str, clock: Clock) -> None:
    client = client_at(server)
    for _ in range(5):
        assert login(client, NAME, "wrong-password-x").status_code == 401
        clock.move(minutes=1)
    refused = login(client, NAME, PASSWORD)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "请于 09:19 后再试" in page and "登录失败次数过多" in page, page  # the 5th failure at 09:04 + 15 minutes
    assert int(refused.headers["Retry-After"]) == 14 * 60
    clock.move(minutes=13, seconds=59)  # 09:18:59: knocking on does not prolong the pause, but it holds
    assert login(client, NAME, PASSWORD).status_code == 429
    assert login(client_at(server, "10.9.9.9"), NAME, PASSWORD).status_code == 429, "per user name, from anywhere"
    clock.move(seconds=1)
    assert login(client, NAME, PASSWORD).status_code == 302
    actions = [e.action for e in audit_rows(engine_url) if e.actor == NAME]
    assert actions == ["login_failed"] * 5 + ["login_refused"] * 3 + ["login"]


def test_a_name_that_does_not_exist_is_paused_alike_and_the_answers_do_not_tell_it_apart(
        server: flask.Flask, clock: Clock) -> None:
    client = client_at(server)
    known = login(client, NAME, "wrong-password-x")
    unknown = login(client, "no_such_user", "wrong-password-x")
    assert known.status_code == unknown.status_code == 401
    def answer(response: Any, name: str) -> str:  # the form's CSRF token is signed anew each second
        return CSRF_RE.sub("", response.get_data(as_text=True)).replace(name, "?")

    assert answer(known, NAME) == answer(unknown, "no_such_user")
    for _ in range(4):
        login(client, "no_such_user", "wrong-password-x")
    assert login(client, "no_such_user", "wrong-password-x").status_code == 429


def test_twenty_failures_from_one_address_pause_that_address(server: flask.Flask, clock: Clock) -> None:
    guesser = client_at(server, "10.6.6.6")
    for i in range(20):
        assert login(guesser, f"guess{i % 7}", "wrong-password-x").status_code in (401, 429)
        clock.move(seconds=30)
    assert login(guesser, NAME, PASSWORD).status_code == 429, "the address is paused, whatever name it tries"
    assert login(client_at(server, "10.1.1.2"), NAME, PASSWORD).status_code == 302, "other addresses are not"
    clock.move(minutes=15)
    assert login(guesser, NAME, PASSWORD).status_code == 302


def test_a_successful_login_starts_the_names_count_again(server: flask.Flask, clock: Clock) -> None:
    client = client_at(server)
    for _ in range(4):
        login(client, NAME, "wrong-password-x")
    assert login(client, NAME, PASSWORD).status_code == 302
    for _ in range(4):
        assert login(client_at(server), NAME, "wrong-password-x").status_code == 401
    assert login(client_at(server), NAME, PASSWORD).status_code == 302


def test_a_failed_login_leaves_an_audit_row_without_the_password(server: flask.Flask, engine_url: str) -> None:
    secret = "my-phone-13812345678-pw"
    assert login(client_at(server, "10.2.3.4"), NAME, secret).status_code == 401
    assert login(client_at(server, "10.2.3.4"), "13812345678", secret).status_code == 401  # a phone typed as the name
    row, phone_row = audit_rows(engine_url, "login_failed")
    assert (row.actor, row.address, row.personal) == (NAME, "10.2.3.4", False)
    assert phone_row.actor == "138****5678"
    with Session(make_engine(engine_url)) as s:
        stored = [json.dumps([getattr(e, c.key) for c in AuditEntry.__table__.columns], default=str)
                  for e in s.scalars(select(AuditEntry))]
        stored += [f"{a.username} {a.address}" for a in s.scalars(select(LoginAttempt))]
    assert stored and not any(secret in t or "13812345678" in t for t in stored)


def test_passwords_have_ten_characters_and_are_not_the_user_name(engine_url: str) -> None:
    with Session(make_engine(engine_url)) as s:
        for name, password in (("zhao", "nine-char"), ("zhaoliuqi1", "ZhaoLiuQi1")):
            with pytest.raises(WeakPassword, match="10 个字符"):
                create_user(s, name, password, "analyst", config.CITY_CODE)
        with pytest.raises(WeakPassword):
            set_password(s, NAME, NAME)
        create_user(s, "zhao", "ten-chars!", "analyst", config.CITY_CODE)


# --------------------------------------------------------------------------- sessions


def logged_in(server: flask.Flask) -> tuple[Any, str]:
    client = client_at(server)
    assert login(client, NAME, PASSWORD).status_code == 302
    cookie = client.get_cookie("session")
    assert client.get("/_dash-layout").status_code == 200
    return client, cookie.value


def replay(server: flask.Flask, cookie: str) -> int:
    """What a captured session cookie gets from a fresh client."""
    thief = server.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/_dash-layout").status_code


def test_a_captured_cookie_stops_working_after_logout_a_password_change_and_disabling(
        server: flask.Flask, engine_url: str) -> None:
    client, cookie = logged_in(server)
    other_device, _ = logged_in(server)
    token = csrf_from(client, "/logout")
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    assert replay(server, cookie) == 401
    assert other_device.get("/_dash-layout").status_code == 401, "logout ends every session of the user"
    assert [e.actor for e in audit_rows(engine_url, "logout")] == [NAME]

    _, cookie = logged_in(server)
    passwd = subprocess.run([sys.executable, "-m", "etl.cli", "--db", engine_url, "users", "passwd", NAME,
                             "--password-stdin"], check=False, cwd=ROOT, env=dict(os.environ),
                            input="jiangsulu-2020-new\n", capture_output=True, text=True, timeout=120)
    assert passwd.returncode == 0, passwd.stderr
    assert replay(server, cookie) == 401

    client = client_at(server)
    assert login(client, NAME, "jiangsulu-2020-new").status_code == 302
    cookie = client.get_cookie("session").value
    with Session(make_engine(engine_url)) as s, s.begin():
        disable_user(s, NAME, by="admin")
    assert replay(server, cookie) == 401
    assert login(client_at(server, "10.1.1.3"), NAME, "jiangsulu-2020-new").status_code == 401


def test_logout_needs_a_post_with_the_token(server: flask.Flask) -> None:
    client, _ = logged_in(server)
    assert client.get("/logout").status_code == 200, "GET shows the button, it does not log out"
    assert client.post("/logout").status_code == 400
    assert client.get("/_dash-layout").status_code == 200


def test_the_logout_button_works_whatever_answer_set_the_cookie_last(server: flask.Flask) -> None:
    """A page's requests go out at once with the cookie of the login; each answer sets the cookie again.  The
    logout button's token, in the page's layout, must hold for the cookie of any of those answers."""
    client = client_at(server)
    assert login(client, NAME, PASSWORD).status_code == 302
    cookie_of_the_login = client.get_cookie("session").value
    layout = client.get("/_dash-layout").get_data(as_text=True)
    token = re.search(r'"name":\s*"csrf_token"[^{}]*"value":\s*"([^"]+)"|"value":\s*"([^"]+)"[^{}]*"name":\s*"csrf_token"', layout)
    assert token, "the layout holds the logout form's token"
    client.set_cookie("session", cookie_of_the_login)  # a script of the page, asked before the layout, answered last
    logout = client.post("/logout", data={"csrf_token": token.group(1) or token.group(2)})
    assert logout.status_code == 302 and logout.headers["Location"] == "/login"


def test_a_session_ends_after_eight_idle_hours_and_lasts_while_used(
        engine_url: str, server: flask.Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    later = {"hours": 0.0}  # the clock of the cookie's signature, moved
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp",
                        lambda self: int(time.time() + later["hours"] * 3600))
    client, _ = logged_in(server)
    for hours in (7, 14, 21):  # a request every 7 hours keeps the session: each answer signs the cookie anew
        later["hours"] = hours
        assert client.get("/_dash-layout").status_code == 200, hours
    later["hours"] = 21 + 8.01
    assert client.get("/_dash-layout").status_code == 401

    monkeypatch.setattr(config, "SESSION_IDLE_HOURS", 1.0)
    later["hours"] = 0
    client, _ = logged_in(dashboard_app.create_app(make_engine(engine_url)).server)
    later["hours"] = 1.01
    assert client.get("/_dash-layout").status_code == 401


def test_session_cookie_is_httponly_samesite_and_secure_when_configured(
        engine_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def cookie_after_login() -> str:
        server = dashboard_app.create_app(make_engine(engine_url)).server
        client = client_at(server)
        return login(client, NAME, PASSWORD).headers["Set-Cookie"]

    plain = cookie_after_login()
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain and "Expires=" in plain
    monkeypatch.setattr(config, "COOKIE_SECURE", True)
    assert "; Secure" in cookie_after_login()


# --------------------------------------------------------------------------- CSRF, origin, the login check


def test_login_needs_the_forms_token_and_refuses_a_foreign_origin(server: flask.Flask) -> None:
    client = client_at(server)
    assert client.post("/login", data={"username": NAME, "password": PASSWORD}).status_code == 400
    assert login(client, NAME, PASSWORD, headers={"Origin": "https://evil.example.com"}).status_code == 403
    assert login(client, NAME, PASSWORD, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert login(client, NAME, PASSWORD, headers={"Origin": "http://localhost"}).status_code == 302


def page_call(pathname: str, search: str = "") -> dict[str, Any]:
    """What the browser posts to render a page (Dash pages' own callback, present in every app)."""
    location = [{"id": "_pages_location", "property": "pathname", "value": pathname},
                {"id": "_pages_location", "property": "search", "value": search}]
    return {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": location, "state": [], "changedPropIds": ["_pages_location.pathname"]}


def test_callbacks_need_the_session_and_the_same_origin(server: flask.Flask) -> None:
    body = page_call("/missing", "?unit=310105")
    assert server.test_client().post("/_dash-update-component", json=body).status_code == 401
    client, _ = logged_in(server)
    assert client.post("/_dash-update-component", json=body,
                       headers={"Origin": "https://evil.example.com"}).status_code == 403
    page = client.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
    assert page.status_code == 200 and "page-title" in page.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/q/../_dash-layout", "/q/%2e%2e/_dash-layout", "/q/%2E%2E/_dash-layout",
                                  "/assets/../_dash-layout", "/intake-assets/%2e%2e/_dash-layout",
                                  "/q/token/../../_dash-dependencies", "/q/./../"])
def test_dot_segments_do_not_slip_past_the_login_check(server: flask.Flask, path: str) -> None:
    response = server.test_client().get(path)
    assert response.status_code in (400, 401, 302, 404), response.status_code
    assert '"props"' not in response.get_data(as_text=True) and "<script" not in response.get_data(as_text=True)


def test_only_the_public_routes_are_open_without_login(server: flask.Flask) -> None:
    client = server.test_client()
    for path in ("/loginx", "/q/a/b", "/qr-sheet/310105002", "/_dash-dependencies", "/", "/static/x"):
        assert client.get(path).status_code in (302, 401), path
    assert client.get("/login").status_code == 200
    assert client.get("/assets/10_onenet.css").status_code == 200


# --------------------------------------------------------------------------- headers


def assert_hardened(response: Any, referrer: str = "same-origin") -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'unsafe-eval'" not in csp, csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == referrer


def test_headers_on_pages_callbacks_downloads_and_the_qr_form(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("ONENET_PUBLIC_URL", "http://onenet.example.gov")
    with Session(world.engine) as s, s.begin():
        create_user(s, NAME, PASSWORD, "street", JSL, "江苏路街道工作人员")
    server = dashboard_app.create_app(world.engine).server
    client = client_at(server)
    assert_hardened(client.get("/login"))
    assert_hardened(client.get("/_dash-layout"))  # refused, still hardened
    assert login(client, NAME, PASSWORD).status_code == 302
    page = client.get("/missing?day=2020-02-21")
    assert page.status_code == 200 and "DashRenderer" in page.get_data(as_text=True)
    assert_hardened(page)
    callback = client.post("/_dash-update-component", json=page_call("/missing", f"?unit={JSL}"))
    assert callback.status_code == 200 and "page-title" in callback.get_data(as_text=True)
    assert_hardened(callback)
    sheet = client.get(f"/qr-sheet/{JSL}")  # a download: the printable sheet
    assert sheet.status_code == 200 and "onenet.example.gov/q/" in sheet.get_data(as_text=True)
    assert_hardened(sheet)
    assert_hardened(client.get("/assets/10_onenet.css"))
    form = client.get(f"/q/{world.tokens['华鑫大厦']}")
    assert form.status_code == 200
    assert_hardened(form, referrer="no-referrer")
    assert "'unsafe-inline'" not in form.headers["Content-Security-Policy"] and form.headers["Cache-Control"] == "no-store"
    assert "style-src 'self';" in form.headers["Content-Security-Policy"]
