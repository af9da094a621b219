"""用户管理, 我的账户 and contacts as personal data, through the requests the browser sends (Flask's test
client posting to /_dash-update-component, as a crafted request would), on SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from typing import Any

import flask
import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import access
from dashboard import app as dashboard_app
from dashboard.auth import create_user
from dashboard.queries import users as uq
from etl import config
from etl.database import make_engine
from etl.divisions import DivisionTree
from schemas.audit import AuditEntry
from schemas.models import Division, User
from tests.fixtures.web import ROOT, Site, login, rendered_page
from tests.intake.conftest import JSL, XHL, World, make_app, world  # noqa: F401  (the fixture)
from tests.intake.test_guard import _payload

PASSWORD = "a-long-password-1"
LJZ = "310115007"  # a street of another district (浦东新区)
PEOPLE = {  # user name: role, scope, personal-data grant
    "root": ("admin", config.CITY_CODE, True), "changning": ("district", "310105", False),
    "pudong": ("district", "310115", False), "analyst": ("analyst", config.CITY_CODE, False),
    "jsl_official": ("street", JSL, False), "xhl_official": ("street", XHL, False), "ljz_official": ("street", LJZ, False),
}


@pytest.fixture
def people(world: World) -> flask.Flask:  # noqa: F811
    """The world's streets plus one of another district, its users, and the dashboard app."""
    with Session(world.engine) as s, s.begin():
        s.add(Division(code=LJZ, name="陆家嘴街道", level="street", parent_code="310115"))
        s.flush()
        for name, (role, scope, personal) in PEOPLE.items():
            create_user(s, name, PASSWORD, role, scope, None, personal)
    return dashboard_app.create_app(world.engine).server


def client_of(server: flask.Flask, username: str) -> Any:
    client = server.test_client()
    assert login(client, username, PASSWORD).status_code == 302
    return client


def call(client: Any, output_has: str, inputs: list[tuple[str, str, Any]], states: list[tuple[str, str, Any]],
         changed: str) -> tuple[int, str]:
    """Post what the browser posts when ``changed`` fires the callback whose output names ``output_has``."""
    output = next(d["output"] for d in client.get("/_dash-dependencies").get_json() if output_has in d["output"])
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in output.strip(".").split("...")]

    def as_list(items: list[Any]) -> list[Any]:
        """(id, property, value) as Dash posts it; a list (the matches of an ALL pattern) as it is."""
        return [item if isinstance(item, list) else {"id": item[0], "property": item[1], "value": item[2]} for item in items]

    resp = client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": as_list(inputs),
        "state": as_list(states), "changedPropIds": [changed]})
    return resp.status_code, json.dumps(resp.get_json(silent=True) or resp.get_data(as_text=True), ensure_ascii=False)


def add(client: Any, username: str, role: str, scope: str, personal: bool = False, password: str = PASSWORD) -> str:
    status, body = call(client, "users-add-msg", [("users-add", "n_clicks", 1)], [
        ("new-username", "value", username), ("new-display", "value", None), ("new-role", "value", role),
        ("new-scope", "value", scope), ("new-personal", "value", personal),
        ("new-password", "value", password), ("new-password2", "value", password)], "users-add.n_clicks")
    assert status in (200, 204), body
    return body


def manage(client: Any, action: str, username: str, password: str | None = None) -> str:
    """``action``: reset, disable, enable, or grant / revoke (the admin's personal-data buttons)."""
    grants = [{"id": {"type": "users-grant-button", "grant": g}, "property": "n_clicks",
               "value": 1 if action == ("grant", "revoke")[1 - g] else None} for g in (1, 0)]
    changed = (json.dumps({"grant": int(action == "grant"), "type": "users-grant-button"}, separators=(",", ":"))
               if action in ("grant", "revoke") else f"users-{action}") + ".n_clicks"
    status, body = call(client, "users-manage-msg", [("users-reset", "n_clicks", 1 if action == "reset" else None),
                                                     ("users-disable", "n_clicks", 1 if action == "disable" else None),
                                                     ("users-enable", "n_clicks", 1 if action == "enable" else None),
                                                     grants],
                        [("users-target", "value", username), ("reset-password", "value", password),
                         ("reset-password2", "value", password)], changed)
    assert status in (200, 204), body
    return body


def in_session(client: Any, function: Any, *args: Any) -> Any:
    """``function`` run in a request of ``client``'s session: the shell's callbacks (menu, download) are Dash's
    of the first app of the process only, so they are called here as functions, as their request would."""
    with client:
        assert client.get("/_dash-layout").status_code == 200
        return function(*args)


def nav(client: Any) -> list[str]:
    return in_session(client, lambda: [p["name"] for p in dashboard_app.nav_pages()])


def audit(world: World, action: str) -> list[AuditEntry]:  # noqa: F811
    with Session(world.engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def usernames(world: World) -> set[str]:  # noqa: F811
    with Session(world.engine) as s:
        return set(s.scalars(select(User.username)))


def test_a_district_leader_adds_and_manages_only_street_users_of_their_district(world: World, people: flask.Flask) -> None:  # noqa: F811
    leader = client_of(people, "changning")
    before = usernames(world)
    refused = {
        "a city user": add(leader, "new_city", "city", config.CITY_CODE),
        "a district leader": add(leader, "new_district", "district", "310105"),
        "a street user of another district": add(leader, "new_ljz", "street", LJZ),
        "a street user over the whole district": add(leader, "new_wide", "street", "310105"),
        "a street user granted personal data": add(leader, "new_personal", "street", JSL, personal=True),
    }
    for what, body in refused.items():
        assert "无权" in body or "只有系统管理员" in body or "必须是" in body, (what, body)
    assert usernames(world) == before and audit(world, "user_add") == []

    assert "已新增用户 jsl_new" in add(leader, "jsl_new", "street", JSL)
    assert "密码至少" in add(leader, "jsl_short", "street", JSL, password="short")
    with Session(world.engine) as s:
        new = s.scalars(select(User).where(User.username == "jsl_new")).one()
        assert (new.role, new.scope_code, new.can_see_personal_data, new.created_by) == ("street", JSL, False, "changning")
    assert [(e.actor, e.scope_code) for e in audit(world, "user_add")] == [("changning", JSL)]

    assert "已重置" in manage(leader, "reset", "xhl_official", "another-password-2")
    assert "已停用" in manage(leader, "disable", "xhl_official")
    assert "已启用" in manage(leader, "enable", "xhl_official")
    assert "只有系统管理员" in manage(leader, "grant", "xhl_official"), "a crafted grant from a district leader is refused"
    for other in ("ljz_official", "analyst", "root", "pudong", "changning"):
        assert "无权管理用户" in manage(leader, "disable", other), other
        assert "无权管理用户" in manage(leader, "reset", other, "another-password-2"), other
    with Session(world.engine) as s:
        assert all(s.scalars(select(User.active)))
    assert [e.actor for e in audit(world, "user_passwd") + audit(world, "user_disable") + audit(world, "user_enable")] == [
        "changning"] * 3

    listed = rendered_page(leader, "/users")
    assert "jsl_new" in listed and "xhl_official" in listed and "ljz_official" not in listed and "root" not in listed


def test_an_admin_manages_everyone_and_alone_grants_personal_data(world: World, people: flask.Flask) -> None:  # noqa: F811
    admin = client_of(people, "root")
    assert "已新增用户 city_viewer" in add(admin, "city_viewer", "city", config.CITY_CODE, personal=True)
    assert "已新增用户 ljz_new" in add(admin, "ljz_new", "street", LJZ)
    assert "已停用 changning" in manage(admin, "disable", "changning")
    assert "不能停用自己" in manage(admin, "disable", "root")
    with Session(world.engine) as s:
        assert s.scalars(select(User.can_see_personal_data).where(User.username == "city_viewer")).one()
        assert not s.scalars(select(User.active).where(User.username == "changning")).one()
    entries = audit(world, "user_add")
    assert [(e.actor, e.scope_code) for e in entries] == [("root", config.CITY_CODE), ("root", LJZ)]
    assert '"personal_data": true' in (entries[0].detail or "") and entries[0].address
    assert "PASSWORD" not in json.dumps([e.detail for e in entries]) and PASSWORD not in (entries[0].detail or "")

    assert "已撤销 city_viewer 查看个人信息的权限" in manage(admin, "revoke", "city_viewer")
    assert "已授予 ljz_new 查看个人信息的权限" in manage(admin, "grant", "ljz_new")
    with Session(world.engine) as s:
        granted = dict(s.execute(select(User.username, User.can_see_personal_data)
                                 .where(User.username.in_(["city_viewer", "ljz_new"]))).all())
    assert granted == {"city_viewer": False, "ljz_new": True}
    assert [(e.actor, e.scope_code) for e in audit(world, "user_grant")] == [("root", config.CITY_CODE), ("root", LJZ)]


def test_others_neither_see_the_page_nor_get_through_a_crafted_request(world: World, people: flask.Flask) -> None:  # noqa: F811
    for name in ("analyst", "jsl_official"):
        client = client_of(people, name)
        assert "无权查看" in rendered_page(client, "/users")
        assert "无权管理用户" in add(client, f"{name}_made", "street", JSL)
        assert "无权管理用户" in manage(client, "disable", "xhl_official")
        assert "用户管理" not in nav(client) and "复工" in nav(client)
    assert "用户管理" in nav(client_of(people, "changning")) and "用户管理" in nav(client_of(people, "root"))
    assert "我的账户" not in nav(client_of(people, "root")), "linked from the user's name instead"
    assert usernames(world) == set(PEOPLE) and audit(world, "user_add") == audit(world, "user_disable") == []
    assert people.test_client().post("/_dash-update-component", json={}).status_code in (400, 401, 403)


def test_the_rules_refuse_whatever_calls_them(world: World, people: flask.Flask) -> None:  # noqa: F811
    """The query layer asks dashboard.access itself: no caller gets round the rules by skipping the page."""
    leader = access.Actor("changning", "district", "310105", False)
    with Session(world.engine) as s:
        tree = DivisionTree.load(s)
        with pytest.raises(access.NotAllowed):
            uq.add_user(s, leader, tree, username="x_city", password=PASSWORD, role="city", scope_code=config.CITY_CODE)
        with pytest.raises(access.NotAllowed):
            uq.add_user(s, leader, tree, username="x_ljz", password=PASSWORD, role="street", scope_code=LJZ)
        with pytest.raises(access.NotAllowed):
            uq.disable(s, leader, tree, "ljz_official")
        assert access.assignable_scopes(leader, tree) == [JSL, XHL]
        assert access.command_line().role == "admin"


def test_my_account_changes_the_own_password_and_ends_the_other_sessions(world: World, people: flask.Flask) -> None:  # noqa: F811
    elsewhere = client_of(people, "jsl_official")
    here = client_of(people, "jsl_official")
    assert "jsl_official" in rendered_page(here, "/account")

    def change(old: str, new: str, again: str) -> str:
        status, body = call(here, "account-msg", [("account-save", "n_clicks", 1)],
                            [("account-old", "value", old), ("account-new", "value", new), ("account-new2", "value", again)],
                            "account-save.n_clicks")
        assert status == 200, body
        return body

    assert "当前密码不正确" in change("wrong-password-9", "new-password-2020", "new-password-2020")
    assert "不一致" in change(PASSWORD, "new-password-2020", "new-password-2021")
    assert "密码至少" in change(PASSWORD, "jsl_official", "jsl_official")
    assert audit(world, "password_change") == []
    assert "密码已修改" in change(PASSWORD, "new-password-2020", "new-password-2020")
    assert [(e.actor, e.scope_code) for e in audit(world, "password_change")] == [("jsl_official", JSL)]
    assert "江苏路" in rendered_page(here, "/missing", f"?unit={JSL}"), "the session that changed the password goes on"
    assert elsewhere.post("/_dash-update-component", json={}).status_code == 401, "the other session has ended"
    assert login(people.test_client(), "jsl_official", "new-password-2020").status_code == 302
    assert [e.actor for e in audit(world, "login_failed")] == ["jsl_official"], "a wrong current password counts as a failed login"


def test_guessing_the_current_password_on_my_account_pauses_like_the_login_page(world: World, people: flask.Flask) -> None:  # noqa: F811
    """A stolen session must not be a way round the login pause (docs/rules.md#logins-and-sessions)."""
    here = client_of(people, "jsl_official")

    def change(old: str) -> str:
        status, body = call(here, "account-msg", [("account-save", "n_clicks", 1)],
                            [("account-old", "value", old), ("account-new", "value", "new-password-2020"),
                             ("account-new2", "value", "new-password-2020")], "account-save.n_clicks")
        assert status == 200, body
        return body

    for i in range(config.LOGIN_FAILURES_PER_NAME):
        assert "当前密码不正确" in change(f"guess-number-{i}")
    assert "已暂停登录" in change(PASSWORD), "the right password is refused during the pause"
    assert audit(world, "password_change") == []
    assert login(people.test_client(), "jsl_official", PASSWORD).status_code == 429, "the login page is paused too"


def _overdue_report(world: World) -> None:  # noqa: F811
    """华鑫大厦's 上海甲 declares a reopening the day before yesterday, not yet reopened, with its contact."""
    planned = config.local_now().date() - timedelta(days=2)
    posted = make_app(world.engine).test_client().post(f"/api/intake/{world.tokens['华鑫大厦']}", json=_payload(
        enterprise_id=world.enterprise_ids["上海甲科技有限公司"], 是否复工="否", 计划复工日期=planned.isoformat(),
        联系人="李建国", 联系电话="13912345678"))
    assert posted.status_code == 201, posted.get_json()


def test_contacts_are_masked_for_an_analyst_and_shown_to_the_streets_official(world: World, people: flask.Flask) -> None:  # noqa: F811
    _overdue_report(world)
    analyst, official = client_of(people, "analyst"), client_of(people, "jsl_official")
    for path in ("/missing", "/reopening"):
        seen = rendered_page(analyst, path, f"?unit={JSL}")
        assert "13800138000" not in seen and "13912345678" not in seen and "李建国" not in seen, path
        assert "已脱敏" in seen, path
    assert "138****8000" in rendered_page(analyst, "/missing", f"?unit={JSL}") and "王**" in rendered_page(analyst, "/missing", f"?unit={JSL}")
    assert "139****5678" in rendered_page(analyst, "/reopening", f"?unit={JSL}")
    assert audit(world, "personal_view") == []

    assert "13800138000" in rendered_page(official, "/missing") and "王伟民" in rendered_page(official, "/missing")
    assert "13912345678" in rendered_page(official, "/reopening") and "李建国" in rendered_page(official, "/reopening")
    views = audit(world, "personal_view")
    assert [(e.actor, e.scope_code, e.personal) for e in views] == [("jsl_official", JSL, True)] * 4
    assert views[0].rows == 2, "one entry per page view, counting the rows shown (two buildings missing reports)"
    assert all("13800138000" not in (e.detail or "") for e in views)

    def export(client: Any) -> openpyxl.Workbook:
        sent = in_session(client, dashboard_app.download, 1, "/missing", f"?unit={JSL}")
        return openpyxl.load_workbook(io.BytesIO(base64.b64decode(sent["content"])))

    rows = {r[2]: r for r in export(analyst)["漏报楼宇"].iter_rows(min_row=2, values_only=True)}
    assert rows["华鑫大厦"][5:7] == ("王**", "138****8000")
    rows = {r[2]: r for r in export(official)["漏报楼宇"].iter_rows(min_row=2, values_only=True)}
    assert rows["华鑫大厦"][5:7] == ("王伟民", "13800138000")
    assert len(audit(world, "personal_view")) == 4, "an export is audited once, as an export"
    assert [e.personal for e in audit(world, "export")] == [False, True], "the official's export carries contacts unmasked"


@pytest.mark.slow
@pytest.mark.browser
def test_a_district_leader_adds_a_street_user_who_sees_only_that_street(browser: WebDriver, site: Site) -> None:
    """In chromium against `onenet serve` of the demo city: 长宁区's leader adds a street user on 用户管理, the new
    user logs in and sees their street and nothing else, and the admin finds both in the audit trail."""
    from tests.dashboard.test_browser import (  # noqa: PLC0415
        DAY, choose, console_errors, login as browser_login, open_page, wait_title)

    browser_login(browser, site, "changning", "onenet-district-2020")
    open_page(browser, site, "/users", "用户管理")
    browser.find_element(By.ID, "new-username").send_keys("browser_street")
    browser.find_element(By.ID, "new-display").send_keys(f"{site.street_name}网格员")
    choose(browser, "new-scope", f"长宁区 · {site.street_name}")
    for field in ("new-password", "new-password2"):
        browser.find_element(By.ID, field).send_keys("browser-street-2020")
    browser.find_element(By.ID, "users-add").click()
    WebDriverWait(browser, 20).until(lambda d: "已新增用户 browser_street" in d.find_element(By.ID, "users-add-msg").text)
    assert "browser_street" in browser.find_element(By.ID, "users-list").text
    assert not console_errors(browser)

    browser_login(browser, site, "browser_street", "browser-street-2020")
    assert site.street_name in open_page(browser, site, f"/?day={DAY}", site.street_name)
    assert site.street_name in open_page(browser, site, f"/missing?day={DAY}&unit=310105", site.street_name), \
        "the district falls back to the user's street"
    assert browser.find_element(By.ID, "f-district").get_attribute("disabled") is not None
    assert "用户管理" not in browser.find_element(By.ID, "nav").text
    open_page(browser, site, "/users", "用户管理")
    assert "无权查看" in browser.find_element(By.ID, "page-refused").text
    browser.find_element(By.ID, "user-label").click()
    assert "我的账户" in wait_title(browser, "我的账户") and "browser_street" in browser.find_element(By.ID, "page-title").find_element(
        By.XPATH, "..").text

    browser_login(browser, site, "admin", "onenet-admin-2020")
    if (ROOT / "dashboard" / "pages" / "audit.py").exists():
        open_page(browser, site, "/audit")
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "changning" in text and "browser_street" in text
    with Session(make_engine(site.db_url)) as s:
        entries = s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.scope_code, AuditEntry.detail)
                            .where(AuditEntry.action.in_(("user_add", "login")))).all()
    assert any(a == "changning" and act == "user_add" and sc == site.street and "browser_street" in (d or "")
               for a, act, sc, d in entries), entries
    assert ("browser_street", "login", site.street) in [(a, act, sc) for a, act, sc, _ in entries]
