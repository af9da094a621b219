"""按模板导出: a ready form or the user's own template filled for the page's unit and day, cut to the user's scope on
the server, never a file the browser names; the callbacks' functions run in a logged-in request of Flask's test
client, as their requests would (the shell's callbacks are Dash's of the first app of the process only)."""
from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import flask
import openpyxl
import pytest
from dash import no_update
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard import fill_export
from dashboard.auth import create_user
from etl import config
from etl.database import make_engine
from etl.figures import summary
from etl.fill_template import TemplatePlan, open_template, plan_template
from schemas.audit import AuditEntry
from schemas.models import Building
from tests.conftest import demo_database
from tests.dashboard.test_browser import console_errors, open_page, set_viewport
from tests.dashboard.test_browser import login as browser_login
from tests.fixtures.web import DAY, Site, logged_in

PASSWORD = "a-long-password-1"
DISTRICT, DISTRICT_NAME = "310105", "长宁区"
STREETS_FORM, BUILDINGS_FORM, DISTRICTS_FORM = "街道复工复产日报表", "楼宇企业复工情况表", "返岗人员统计表"
SEARCH = f"?unit={DISTRICT}&day={DAY}"


@dataclass(frozen=True)
class World:
    engine: Engine
    street: str
    street_name: str


@pytest.fixture(scope="session")
def fill_world(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A copy of the run's small demo city, an analyst of the city and an official of a street of 长宁区 with
    buildings; the tests only read it and add audit entries."""
    folder = tmp_path_factory.mktemp("fill_world")
    with demo_database(demo_build, "sqlite", folder) as url, pytest.MonkeyPatch.context() as env:
        env.setenv("ONENET_SECRET", "test-secret-not-for-production-use")
        env.setenv("ONENET_DATA_DIR", str(folder))
        engine = make_engine(url)
        with Session(engine) as s, s.begin():
            street = max((u for u in summary(s, date.fromisoformat(DAY), "street") if u["parent_code"] == DISTRICT),
                         key=lambda u: (u["buildings"], u["enterprises"]))
            assert street["buildings"]
            create_user(s, "fill_analyst", PASSWORD, "analyst", config.CITY_CODE)
            create_user(s, "fill_official", PASSWORD, "street", street["code"])
        yield World(engine, street["code"], street["name"])
        engine.dispose()


@pytest.fixture
def server(fill_world: World) -> flask.Flask:
    return dashboard_app.create_app(fill_world.engine).server


def client_of(server: flask.Flask, username: str) -> Any:
    return logged_in(server, username, PASSWORD)


def in_session(client: Any, function: Any, *args: Any) -> Any:
    with client:
        assert client.get("/_dash-layout").status_code == 200
        return function(*args)


def ready_plan(title: str) -> TemplatePlan:
    path = config.TEMPLATES_DIR / f"{title}.xlsx"
    return plan_template(open_template(path, path.name), path.name)


def filled_rows(sent: dict[str, Any], plan: TemplatePlan) -> list[dict[str, Any]]:
    """The rows written under the header, by the name of what each recognised column holds, up to the 合计 row."""
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(sent["content"])))[plan.sheet]
    named = {c.index: c.meaning.name for c in plan.recognised if c.meaning and c.meaning.role != "sequence"}
    rows = []
    for values in ws.iter_rows(min_row=plan.first_row, values_only=True):
        if not any(values) or str(values[0] or "").startswith("合计"):
            break
        rows.append({name: values[index - 1] for index, name in named.items()})
    return rows


def entries(world: World, action: str = "fill") -> list[AuditEntry]:
    with Session(world.engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def as_text(shown: Any) -> str:
    """Components as the JSON the browser receives."""
    return json.dumps(shown, ensure_ascii=False, default=lambda c: c.to_plotly_json())


def refusal(answer: tuple[Any, Any]) -> str:
    """The message of a refused download (nothing sent)."""
    sent, message = answer
    assert sent is no_update
    return as_text(message)


def data_url(data: bytes, kind: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def test_a_ready_form_is_filled_with_the_summary_of_the_pages_unit_and_audited(fill_world: World,
                                                                                server: flask.Flask) -> None:
    analyst = client_of(server, "fill_analyst")
    *shown, ok = in_session(analyst, fill_export.preview, STREETS_FORM, None, None, SEARCH)
    text = as_text(shown)
    assert ok and "每行一个街道" in text and f"{DISTRICT_NAME} · {DAY}" in text and "联系人、电话已脱敏" in text
    plan = ready_plan(STREETS_FORM)
    assert [c.label for c in plan.unrecognised] == ["备注"] and text.count("未识别，留空") == 1
    assert all(label in text for _, label, _ in plan.describe())

    before = len(entries(fill_world))
    sent, message = in_session(analyst, fill_export.fill_download, 1, STREETS_FORM, None, None, SEARCH)
    assert sent["filename"] == f"{STREETS_FORM}_{DISTRICT_NAME}_{DAY}.xlsx"
    with Session(fill_world.engine) as s:
        expected = {u["name"]: u for u in summary(s, date.fromisoformat(DAY), "street") if u["parent_code"] == DISTRICT}
    rows = filled_rows(sent, plan)
    assert sorted(r["name"] for r in rows) == sorted(expected)
    figures = [c.meaning.name for c in plan.recognised if c.meaning and c.meaning.role == "figure"]
    assert len(figures) >= 9
    for row in rows:
        assert {k: row[k] for k in figures} == pytest.approx({k: expected[row["name"]][k] for k in figures}), row["name"]
    assert f"已填好 {len(expected)} 行" in as_text(message)

    added = entries(fill_world)[before:]
    assert [(e.actor, e.scope_code, e.day, e.rows, e.personal) for e in added] == [
        ("fill_analyst", DISTRICT, DAY, len(expected), False)]
    assert f"{STREETS_FORM}.xlsx" in added[0].detail
    assert in_session(analyst, fill_export.fill_download, None, STREETS_FORM, None, None, SEARCH) == (no_update, no_update)


def test_a_street_official_gets_only_their_street_with_contacts_and_no_coarser_form(fill_world: World,
                                                                                    server: flask.Flask) -> None:
    official, analyst = client_of(server, "fill_official"), client_of(server, "fill_analyst")
    plan = ready_plan(BUILDINGS_FORM)
    sent, _ = in_session(official, fill_export.fill_download, 1, BUILDINGS_FORM, None, None, SEARCH)
    assert sent["filename"] == f"{BUILDINGS_FORM}_{fill_world.street_name}_{DAY}.xlsx", "the district asked, the street given"
    rows = filled_rows(sent, plan)
    with Session(fill_world.engine) as s:
        phones = dict(s.execute(select(Building.name, Building.owner_phone)
                                .where(Building.street_code == fill_world.street)).all())
    assert rows and {r["street"] for r in rows} == {fill_world.street_name}
    assert sorted(r["name"] for r in rows) == sorted(phones)
    assert {r["name"]: r["owner_phone"] for r in rows} == phones, "a street official calls the owners: in full"
    entry = entries(fill_world)[-1]
    assert (entry.actor, entry.scope_code, entry.rows, entry.personal) == (
        "fill_official", fill_world.street, len(rows), True)

    sent, _ = in_session(analyst, fill_export.fill_download, 1, BUILDINGS_FORM, None, None,
                         f"?unit={fill_world.street}&day={DAY}")
    masked = {r["name"]: r["owner_phone"] for r in filled_rows(sent, plan)}
    assert masked.keys() == phones.keys() and all("****" in p for p in masked.values() if p)
    assert entries(fill_world)[-1].personal is False

    *shown, ok = in_session(official, fill_export.preview, DISTRICTS_FORM, None, None, SEARCH)
    assert not ok and "请用每行一个街道、楼宇或企业的模板" in as_text(shown)
    before = len(entries(fill_world))
    assert "每行一个区" in refusal(in_session(official, fill_export.fill_download, 1, DISTRICTS_FORM, None, None, SEARCH))
    assert len(entries(fill_world)) == before


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", str(config.TEMPLATES_DIR / f"{STREETS_FORM}.xlsx"),
                                  f"{STREETS_FORM}.xlsx", f"../templates/{STREETS_FORM}", "..", ["a", "b"]])
def test_a_ready_form_is_named_by_its_title_never_by_a_path(fill_world: World, server: flask.Flask, name: Any) -> None:
    analyst = client_of(server, "fill_analyst")
    before = len(entries(fill_world))
    assert "没有这张现成报表" in refusal(in_session(analyst, fill_export.fill_download, 1, name, None, None, SEARCH))
    _, shown, ok = in_session(analyst, fill_export.preview, name, None, None, SEARCH)
    assert not ok and "没有这张现成报表" in as_text(shown)
    assert len(entries(fill_world)) == before


def _zip_of(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * size)
    return buffer.getvalue()


def _no_header() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "年龄"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("filename", "contents", "says"), [
    ("名单.csv", lambda: data_url("街道,企业数\n江苏路,3\n".encode(), "text/csv"), "只接受 .xlsx"),
    ("旧表.xls", lambda: data_url(b"\xd0\xcf\x11\xe0" + b"\0" * 100, "application/vnd.ms-excel"), "只接受 .xlsx"),
    ("大表.xlsx", lambda: data_url(b"\0" * (fill_export.MAX_UPLOAD_BYTES + 1)), "超过 5 MB"),
    ("坏表.xlsx", lambda: data_url(b"PK\x03\x04 this is not a workbook"), "无法作为 Excel 工作簿打开"),
    ("坏表.xlsx", lambda: "data:application/octet-stream;base64,@@@not-base64@@@", "上传未完成或文件已损坏"),
    ("炸弹.xlsx", lambda: data_url(_zip_of(fill_export.MAX_INFLATED_BYTES + 1)), "解压后超过"),
    ("无表头.xlsx", lambda: data_url(_no_header()), "找不到表头"),
], ids=["csv", "xls", "too-big", "corrupted", "not-base64", "zip-bomb", "no-header"])
def test_an_upload_that_is_not_a_usable_xlsx_is_refused_with_what_to_do(
        fill_world: World, server: flask.Flask, filename: str, contents: Callable[[], str], says: str) -> None:
    analyst = client_of(server, "fill_analyst")
    before = len(entries(fill_world))
    upload = contents()
    assert says in refusal(in_session(analyst, fill_export.fill_download, 1, None, upload, filename, SEARCH))
    _, shown, ok = in_session(analyst, fill_export.preview, None, upload, filename, SEARCH)
    assert not ok and says in as_text(shown)
    assert len(entries(fill_world)) == before


def test_an_uploaded_template_is_filled_under_its_own_name(fill_world: World, server: flask.Flask) -> None:
    analyst = client_of(server, "fill_analyst")
    contents = data_url((config.TEMPLATES_DIR / f"{STREETS_FORM}.xlsx").read_bytes())
    sent, _ = in_session(analyst, fill_export.fill_download, 1, None, contents, "C:\\表格\\本科室日报.xlsx", SEARCH)
    assert sent["filename"] == f"本科室日报_{DISTRICT_NAME}_{DAY}.xlsx"
    assert len(filled_rows(sent, ready_plan(STREETS_FORM))) == entries(fill_world)[-1].rows > 0
    assert "本科室日报.xlsx" in entries(fill_world)[-1].detail


@pytest.mark.slow
@pytest.mark.browser
def test_the_modal_shows_how_a_ready_form_is_understood_and_downloads_it(browser: WebDriver, site: Site) -> None:
    """At desktop and phone width: 按模板导出 opens the modal, a ready form shows its columns, the download comes."""
    browser_login(browser, site, "admin", "onenet-admin-2020")
    set_viewport(browser, 1280, 900)  # whatever width the worker's last test left
    open_page(browser, site, f"/?day={DAY}&unit={DISTRICT}", DISTRICT_NAME)
    browser.find_element(By.ID, "fill-open").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fill-modal .fill-view"))
    assert browser.find_element(By.ID, "fill-go").get_attribute("disabled") is not None
    label = WebDriverWait(browser, 20).until(lambda d: next(
        (e for e in d.find_elements(By.CSS_SELECTOR, "#fill-ready label") if e.text == STREETS_FORM), None))
    label.click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fill-columns tbody tr"))
    cells = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#fill-columns tbody tr")]
    assert len(cells) == len(ready_plan(STREETS_FORM).columns)
    assert [r for r in cells if "未识别，留空" in r] == [r for r in cells if "备注" in r] != []
    assert browser.find_element(By.ID, "fill-unit").text == "每行一个街道"
    for width, height in ((1280, 900), (390, 844)):
        set_viewport(browser, width, height)
        time.sleep(0.5)
        browser.save_screenshot(str(site.shots / f"fill_modal_{width}.png"))
        overflow = browser.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"the page scrolls sideways at {width}px"
    set_viewport(browser, 1280, 900)
    unrecognised = browser.find_element(By.CSS_SELECTOR, "#fill-columns tr.fill-unrecognised")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", unrecognised)
    browser.save_screenshot(str(site.shots / "fill_columns_1280.png"))
    before = set(site.downloads.iterdir())
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "fill-go").get_attribute("disabled") is None)
    browser.find_element(By.ID, "fill-go").click()
    WebDriverWait(browser, 60).until(lambda d: [p for p in set(site.downloads.iterdir()) - before if p.suffix == ".xlsx"])
    got = [p.name for p in set(site.downloads.iterdir()) - before if p.suffix == ".xlsx"]
    assert got == [f"{STREETS_FORM}_{DISTRICT_NAME}_{DAY}.xlsx"]
    WebDriverWait(browser, 10).until(lambda d: "已填好" in d.find_element(By.ID, "fill-message").text)
    browser.save_screenshot(str(site.shots / "fill_done_1280.png"))
    browser.find_element(By.CSS_SELECTOR, "#fill-modal .btn-close").click()
    WebDriverWait(browser, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#fill-modal .fill-view"))
    set_viewport(browser, 390, 844)
    time.sleep(0.5)
    browser.save_screenshot(str(site.shots / "fill_bar_390.png"))
    set_viewport(browser, 1280, 900)
    assert console_errors(browser) == []
