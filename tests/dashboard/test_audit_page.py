"""审计日志: admins read every entry, district leaders those within their district (their users' logins among
them), nobody else reads it: the page is not in their menu and its URL answers 无权查看."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard import queries as q
from dashboard.auth import Account, create_user
from etl import config
from etl.audit import record
from etl.database import make_engine
from etl.pipeline import Ingestor
from tests.dashboard.test_browser import console_errors, open_page
from tests.dashboard.test_browser import login as browser_login
from tests.fixtures.web import DAY, STREET_PASSWORD, STREET_USER, Site, login, rendered_page
from tests.intake.conftest import JSL, XHL, write_registry

PASSWORD = "a-long-password-1"
XUHUI_STREET = "310104003"


def _account(role: str, scope: str) -> Account:
    return Account(1, f"{role}_{scope}", None, role, scope, False)


def _world(url: str, tmp_path: Path) -> Any:
    engine = make_engine(url)
    Ingestor(engine, log=lambda m: None).ingest(write_registry(tmp_path / "registry"))
    with Session(engine) as s, s.begin():
        for actor, action, scope in (("jsl", "export", JSL), ("xhl", "follow_up", XHL), ("cn", "export", "310105"),
                                     ("xh", "export", XUHUI_STREET), ("13800138000", "login_failed", None),
                                     ("cli:ops", "ingest", None), ("city", "export", config.CITY_CODE)):
            record(s, actor, action, scope_code=scope, rows=3)
    return engine


def test_entries_are_cut_to_the_readers_district(db_url: str, tmp_path: Path) -> None:
    engine = _world(db_url, tmp_path)
    with Session(engine) as s:
        divs = q.load_divisions(s)

        def actors(account: Account, code: str) -> list[str]:
            return sorted(r["actor"] for r in q.audit_entries(s, account, divs, code))

        admin, leader = _account("admin", config.CITY_CODE), _account("district", "310105")
        assert actors(admin, config.CITY_CODE) == sorted(["jsl", "xhl", "cn", "xh", "138****8000", "cli:ops", "city"])
        assert actors(admin, "310105") == actors(leader, "310105") == ["cn", "jsl", "xhl"]
        assert actors(leader, JSL) == ["jsl"]
        for reader in ("street", "analyst", "city"):
            assert not q.reads_audit(_account(reader, JSL if reader == "street" else config.CITY_CODE))
            assert q.audit_entries(s, _account(reader, JSL), divs, JSL) == []
        row = q.audit_entries(s, leader, divs, JSL)[0]
        assert (row["action_label"], row["scope"], row["rows"]) == ("导出", divs.display(JSL), 3)


def test_the_page_shows_a_district_leader_their_districts_entries_and_refuses_others(db_url: str, tmp_path: Path) -> None:
    engine = _world(db_url, tmp_path)
    with Session(engine) as s, s.begin():
        create_user(s, "cn_leader", PASSWORD, "district", "310105", "长宁区领导")
        create_user(s, "jsl_official", PASSWORD, "street", JSL, "江苏路街道")
    server = dashboard_app.create_app(engine).server
    official = server.test_client()
    assert login(official, "jsl_official", PASSWORD).status_code == 302
    assert "无权查看" in rendered_page(official, "/audit") and "audit-grid" not in rendered_page(official, "/audit")
    audit_page = dashboard_app.page_at("/audit")
    assert audit_page["name"] == "审计日志"
    assert not audit_page["shown_to"](_account("street", JSL)) and audit_page["shown_to"](_account("district", "310105"))

    leader = server.test_client()
    assert login(leader, "cn_leader", PASSWORD).status_code == 302
    shown = rendered_page(leader, "/audit")
    grid = json.loads(shown)["_pages_content"]["children"]
    rows = next(r for r in _grids(grid))
    assert {(r["actor"], r["action_label"]) for r in rows} == {
        ("jsl", "导出"), ("xhl", "跟进记录"), ("cn", "导出"), ("jsl_official", "登录"), ("cn_leader", "登录")}


def _grids(tree: Any) -> Any:
    """The rowData of every grid in a rendered layout."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            props = item.get("props", {})
            if isinstance(props, dict) and props.get("id") == "audit-grid" and "rowData" in props:
                yield props["rowData"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


@pytest.mark.slow
@pytest.mark.browser
def test_an_export_in_the_browser_is_on_the_audit_page_of_the_admin_and_the_district_leader(
        browser: WebDriver, site: Site) -> None:
    """A street official exports 漏报; the admin and 长宁's leader find it on 审计日志 with the street; the
    official has no 审计日志 in the menu, and its address says 无权查看."""
    browser_login(browser, site, STREET_USER, STREET_PASSWORD)
    open_page(browser, site, f"/missing?day={DAY}", site.street_name)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".onenet-nav-link"))
    assert "审计日志" not in [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".onenet-nav-link")]
    before = set(site.downloads.iterdir())
    browser.find_element(By.ID, "download-btn").click()
    WebDriverWait(browser, 60).until(lambda d: [p for p in set(site.downloads.iterdir()) - before if p.suffix == ".xlsx"])
    open_page(browser, site, "/audit", "审计日志")
    assert browser.find_element(By.ID, "page-refused").text == "无权查看"

    for user, password in (("admin", "onenet-admin-2020"), ("changning", "onenet-district-2020")):
        browser_login(browser, site, user, password)
        open_page(browser, site, "/audit", "审计日志")
        assert "审计日志" in [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".onenet-nav-link")]
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#audit-grid .ag-row"))
        rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#audit-grid .ag-center-cols-container .ag-row")]
        assert any(STREET_USER in r and "导出" in r and site.street_name in r for r in rows), (user, rows[:5])
        assert console_errors(browser) == []
