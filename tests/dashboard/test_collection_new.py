"""新建信息收集 through the requests the browser sends (Flask's test client posting to /_dash-update-component, as a
crafted request would), on SQLite and PostgreSQL; and the form builder in a real chromium against the demo site."""
from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import flask
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard import app as dashboard_app
from dashboard.auth import create_user
from etl import config
from etl.collections import NewAnswer, definition_of, store_answers
from etl.database import make_engine
from schemas.audit import AuditEntry
from schemas.collection_tables import Collection, CollectionVersion
from schemas.models import Division
from tests.dashboard.test_browser import console_errors, login, open_page, set_viewport
from tests.dashboard.test_users import LJZ, PASSWORD, client_of
from tests.etl.test_collection_template import mask_template
from tests.fixtures.web import DAY, Site, rendered_page
from tests.intake.conftest import JSL, XHL, World, world  # noqa: F401  (the fixture)

PEOPLE = {  # user name: role, scope
    "root": ("admin", config.CITY_CODE), "changning": ("district", "310105"), "analyst": ("analyst", config.CITY_CODE),
    "jsl_official": ("street", JSL), "xhl_official": ("street", XHL),
}
SETTINGS = (("title", "cn-title", "value"), ("department", "cn-department", "value"), ("scope", "cn-scope", "value"),
            ("respondents", "cn-respondents", "value"), ("buildings", "cn-buildings", "value"),
            ("frequency", "cn-frequency", "value"), ("start", "cn-dates", "start_date"), ("end", "cn-dates", "end_date"),
            ("deadline", "cn-deadline", "value"))
PARTS = ("label", "type", "required", "key", "choices", "min", "max")
MASK_FIELDS = [{"label": "需求数量(只)", "type": "integer", "required": True, "min": 0},
               {"label": "口罩类型", "type": "choice", "choices": "医用外科口罩、KN95、N95"}]


@pytest.fixture
def people(world: World) -> flask.Flask:  # noqa: F811
    """The intake world's two streets of 长宁区, a street of 浦东新区, their users and the dashboard app."""
    with Session(world.engine) as s, s.begin():
        s.add(Division(code=LJZ, name="陆家嘴街道", level="street", parent_code="310115"))
        s.flush()
        for name, (role, scope) in PEOPLE.items():
            create_user(s, name, PASSWORD, role, scope)
    return dashboard_app.create_app(world.engine).server


def call(client: Any, changed: str, inputs: Sequence[Any], states: Sequence[Any] = (), via: str | None = None) -> str:
    """Post what the browser posts when ``changed`` (``id.property``) fires the callback it is an input of (the
    callback with input ``via``, if given); the answer as JSON text."""
    trigger_id, prop = (via or changed).rsplit(".", 1)
    dep = next(d for d in client.get("/_dash-dependencies").get_json()
               if any(i["id"] == trigger_id and i["property"] == prop for i in d["inputs"]))
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in dep["output"].strip(".").split("...")]

    def as_list(items: Sequence[Any]) -> list[Any]:
        return [item if isinstance(item, list) else {"id": item[0], "property": item[1], "value": item[2]} for item in items]

    resp = client.post("/_dash-update-component", json={
        "output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": as_list(inputs),
        "state": as_list(states), "changedPropIds": [changed]})
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:500]
    return json.dumps(resp.get_json(silent=True) or {}, ensure_ascii=False)


def form(title: str = "口罩需求登记", scope: str = JSL, fields: Sequence[dict[str, Any]] = MASK_FIELDS,
         **settings: Any) -> list[Any]:
    """The form's settings and field rows as the callbacks' states (a list per pattern of the rows)."""
    values = {"title": title, "department": "区经委", "scope": scope, "respondents": "enterprise", "buildings": [],
              "frequency": "once", "start": "2020-02-10", "end": "2020-02-14", "deadline": "10:00", **settings}
    out: list[Any] = [(i, p, values[name]) for name, i, p in SETTINGS]
    for part in PARTS:
        out.append([{"id": {"index": n, "type": f"cn-f{part}"}, "property": "value", "value": f.get(part)}
                    for n, f in enumerate(fields)])
    return out


def save(client: Any, ident: int | None = None, template: tuple[str, str] | None = None, **form_args: Any) -> str:
    contents, name = template or (None, None)
    return call(client, "cn-save.n_clicks", [("cn-save", "n_clicks", 1)],
                [("cn-id", "data", ident), ("cn-upload", "contents", contents), ("cn-upload", "filename", name),
                 *form(**form_args)])


def lifecycle(client: Any, action: str, ident: int, **form_args: Any) -> str:
    return call(client, f"cn-{action}.n_clicks",
                [("cn-open", "n_clicks", 1 if action == "open" else None),
                 ("cn-close", "n_clicks", 1 if action == "close" else None)],
                [("cn-id", "data", ident), *form(**form_args)])


def upload(client: Any, path: Path) -> str:
    data = "data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64," + \
           base64.b64encode(path.read_bytes()).decode()
    return call(client, "cn-upload.contents", [("cn-upload", "contents", data)],
                [("cn-upload", "filename", path.name), ("cn-scope", "value", "310105"), ("cn-id", "data", None)])


def row_values(children: Any, part: str = "label") -> list[Any]:
    """The values of the rows' ``part`` inputs in the rows a callback sent."""
    found: list[Any] = []
    if isinstance(children, list):
        for child in children:
            found += row_values(child, part)
    elif isinstance(children, dict):
        props = children.get("props", {})
        if isinstance(props.get("id"), dict) and props["id"].get("type") == f"cn-f{part}":
            found.append(props.get("value"))
        found += row_values(props.get("children"), part)
    return found


def collections(world: World) -> list[Collection]:  # noqa: F811
    with Session(world.engine) as s:
        return list(s.scalars(select(Collection).order_by(Collection.id)))


def audited(world: World) -> list[dict[str, Any]]:  # noqa: F811
    with Session(world.engine) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "collection").order_by(AuditEntry.id))
        return [{"actor": e.actor, "scope": e.scope_code, **json.loads(e.detail or "{}")} for e in entries]


def test_a_district_leader_creates_a_collection_for_a_street_of_their_district(world: World, people: flask.Flask) -> None:  # noqa: F811
    leader = client_of(people, "changning")
    page = rendered_page(leader, "/collections/new")
    assert "新建信息收集" in page and "手机填报预览" in page
    assert "江苏路街道" in page and "新华路街道" in page and "陆家嘴" not in page, "only the units of the leader's district"

    said = save(leader, title="口罩需求登记", scope=JSL)
    (made,) = collections(world)
    assert f"已保存草稿 #{made.id}" in said and f"/collections/view?id={made.id}" in said
    definition = definition_of(made)
    assert (made.scope_code, made.status, made.created_by, made.version) == (JSL, "draft", "changning", 1)
    assert [(f.key, f.label, f.type, f.required, f.choices, f.min) for f in definition.fields] == [
        ("f1", "需求数量(只)", "integer", True, [], 0), ("f2", "口罩类型", "choice", False, ["医用外科口罩", "KN95", "N95"], None)]
    assert (definition.department, definition.start, definition.end) == ("区经委", date(2020, 2, 10), date(2020, 2, 14))
    assert audited(world) == [{"actor": "changning", "scope": JSL, "op": "add", "id": made.id, "title": "口罩需求登记",
                               "fields": 2, "template": None}]

    assert "没有修改" in save(leader, made.id, title="口罩需求登记", scope=JSL)
    said = save(leader, made.id, title="口罩需求登记（第二批）", scope=XHL, frequency="daily", deadline="09:30")
    assert "第 2 版" in said
    edited = collections(world)[0]
    assert (edited.title, edited.scope_code, definition_of(edited).deadline.isoformat()) == ("口罩需求登记（第二批）", XHL, "09:30:00")
    assert [e["op"] for e in audited(world)] == ["add", "amend"]
    shown = rendered_page(leader, "/collections/new", f"?id={made.id}")
    assert f"编辑信息收集 #{made.id}" in shown and "口罩需求登记（第二批）" in shown

    assert "已保存草稿" in save(client_of(people, "root"), title="全市口罩需求", scope=config.CITY_CODE), \
        "an admin's collection may cover the city"
    assert "超出了您的范围" in save(leader, title="全市口罩需求", scope=config.CITY_CODE)


def test_mistakes_are_said_in_chinese_beside_the_form_and_nothing_is_stored(world: World, people: flask.Flask) -> None:  # noqa: F811
    leader = client_of(people, "changning")
    cases = {
        "请至少添加一个字段": {"fields": []},
        "第 1 个字段的标签：不能为空": {"fields": [{"label": "", "type": "text"}]},
        "单选、多选字段至少列出两个选项": {"fields": [{"label": "类型", "type": "choice", "choices": "KN95"}]},
        "下限大于上限": {"fields": [{"label": "数量", "type": "integer", "min": 10, "max": 1}]},
        "结束日期早于开始日期": {"end": "2020-02-01"},
        "标题：不能为空": {"title": " "},
        "有两个字段都叫": {"fields": [{"label": "数量", "key": "a"}, {"label": "数量", "key": "b"}]},
        "键：须以小写英文字母开头": {"fields": [{"label": "数量", "key": "数量"}]},
    }
    for words, settings in cases.items():
        said = save(leader, **settings)
        assert words in said and "Traceback" not in said and "alert-danger" in said, (words, said)
    assert collections(world) == [] and audited(world) == []


def test_a_street_official_cannot_create_or_touch_a_collection_of_another_street(world: World, people: flask.Flask) -> None:  # noqa: F811
    official = client_of(people, "jsl_official")
    page = rendered_page(official, "/collections/new")
    assert "江苏路街道" in page and "新华路街道" not in page

    for scope in (XHL, "310105", config.CITY_CODE, LJZ):
        said = save(official, scope=scope)
        assert "超出了您的范围" in said, (scope, said)
    assert "不是已登记的区划代码" in save(official, scope="310105999")
    assert collections(world) == [] and audited(world) == []
    options = call(official, "cn-scope.value", [("cn-scope", "value", XHL)], [("cn-buildings", "value", ["新华科技楼"])])
    assert "新华科技楼" not in options, "no building names of another street"
    assert "华鑫大厦" in call(official, "cn-scope.value", [("cn-scope", "value", JSL)], [("cn-buildings", "value", [])])

    assert "已保存草稿" in save(client_of(people, "xhl_official"), title="新华路的收集", scope=XHL)
    (theirs,) = collections(world)
    assert "不在您的范围内" in rendered_page(official, "/collections/new", f"?id={theirs.id}")
    assert "不在您的范围内" in save(official, theirs.id, title="改掉", scope=XHL)
    assert "不在您的范围内" in save(official, theirs.id, title="改掉", scope=JSL), "nor moved into the own street"
    assert "不在您的范围内" in lifecycle(official, "open", theirs.id, title="新华路的收集", scope=XHL)
    after = collections(world)[0]
    assert (after.title, after.scope_code, after.status, after.version) == ("新华路的收集", XHL, "draft", 1)
    assert [e["actor"] for e in audited(world)] == ["xhl_official"]


def test_an_analyst_reaches_neither_the_page_nor_its_callbacks(world: World, people: flask.Flask,  # noqa: F811
                                                                tmp_path: Path) -> None:
    analyst = client_of(people, "analyst")
    assert "无权查看" in rendered_page(analyst, "/collections/new")
    assert "无权新建或修改信息收集" in save(analyst, scope=JSL)
    assert "无权新建或修改信息收集" in upload(analyst, mask_template(tmp_path / "口罩需求登记表.xlsx"))
    assert "华鑫大厦" not in call(analyst, "cn-scope.value", [("cn-scope", "value", JSL)], [("cn-buildings", "value", [])])
    assert "新建信息收集" not in json.dumps(_nav(analyst), ensure_ascii=False)
    assert collections(world) == [] and audited(world) == []


def _nav(client: Any) -> list[str]:
    with client:
        assert client.get("/_dash-layout").status_code == 200
        return [p["name"] for p in dashboard_app.nav_pages()]


def test_a_template_fills_the_builder_with_its_guesses_and_is_kept_with_the_collection(
        world: World, people: flask.Flask, tmp_path: Path) -> None:  # noqa: F811
    leader = client_of(people, "changning")
    template = mask_template(tmp_path / "口罩需求登记表.xlsx")
    said = upload(leader, template)
    answer = json.loads(said)["response"]
    assert answer["cn-title"]["value"] == "口罩需求登记表" and answer["cn-respondents"]["value"] == "enterprise"
    rows = answer["cn-rows"]["children"]
    assert row_values(rows) == ["需求数量(只)", "联系人", "联系电话", "是否已复工"], "the respondent's columns are not fields"
    assert row_values(rows, "type") == ["integer", "text", "phone", "yes_no"]
    notes = json.dumps(answer["cn-notes"]["children"], ensure_ascii=False)
    assert "需求数量(只)：整数" in notes and "联系电话：电话" in notes and "是否已复工：是/否" in notes

    fields = [{"label": "需求数量(只)", "type": "integer", "required": True, "min": 0}, {"label": "联系人", "type": "text"},
              {"label": "联系电话", "type": "phone"}, {"label": "是否已复工", "type": "yes_no"}]
    data = "data:application/octet-stream;base64," + base64.b64encode(template.read_bytes()).decode()
    assert "已保存草稿" in save(leader, template=(data, template.name), title="口罩需求登记表", scope="310105", fields=fields)
    (made,) = collections(world)
    assert (made.template, made.template_name) == (template.read_bytes(), "口罩需求登记表.xlsx")
    assert audited(world)[0]["template"] == "口罩需求登记表.xlsx"

    refused = json.loads(upload(leader, _write(tmp_path / "名单.csv", b"a,b\n")))["response"]
    assert ".xlsx" in json.dumps(refused["cn-notes"], ensure_ascii=False), "refused in words, not a traceback"
    assert refused["cn-upload"] == {"contents": None, "filename": None}, "and dropped, so that saving does not carry it"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_publishing_and_closing_are_audited_and_answers_limit_the_changes(world: World, people: flask.Flask) -> None:  # noqa: F811
    leader = client_of(people, "changning")
    save(leader, title="口罩需求登记", scope=JSL)
    (made,) = collections(world)
    assert "请先保存草稿" in lifecycle(leader, "open", None)  # type: ignore[arg-type]
    assert "不能改为已结束" in lifecycle(leader, "close", made.id)

    fields = [*MASK_FIELDS, {"label": "联系电话", "type": "phone"}]
    said = lifecycle(leader, "open", made.id, title="口罩需求登记", scope=JSL, fields=fields)
    assert "已发布" in said and "收集中" in said
    opened = collections(world)[0]
    assert (opened.status, opened.version, len(definition_of(opened).fields)) == ("open", 2, 3), "saved, then opened"

    with Session(world.engine) as s, s.begin():
        collection = s.get(Collection, made.id)
        store_answers(s, collection, [NewAnswer(world.enterprise_ids["上海甲科技有限公司"], {"f1": 100},
                                                config.local_now(), "form", "sid-1")])
    assert "不能删除" in save(leader, made.id, title="口罩需求登记", scope=JSL, fields=MASK_FIELDS)
    assert "须为选填" in save(leader, made.id, title="口罩需求登记", scope=JSL,
                               fields=[*fields, {"label": "备注", "type": "text", "required": True}])
    said = save(leader, made.id, title="口罩需求登记", scope=JSL, fields=[*fields, {"label": "备注", "type": "text"}])
    assert "第 3 版" in said and "1 份回答" in said
    with Session(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(CollectionVersion)) == 3
    assert "f4" in collections(world)[0].definition, "a new field's key is the next f-number"

    said = lifecycle(leader, "close", made.id)
    assert "已结束" in said
    assert collections(world)[0].status == "closed"
    assert "不能改为收集中" in lifecycle(leader, "open", made.id, title="口罩需求登记", scope=JSL,
                                       fields=[*fields, {"label": "备注", "type": "text"}])
    assert [(e["op"], e["id"], e["title"], e["scope"]) for e in audited(world)] == [
        ("add", made.id, "口罩需求登记", JSL), ("amend", made.id, "口罩需求登记", JSL),
        ("open", made.id, "口罩需求登记", JSL), ("amend", made.id, "口罩需求登记", JSL),
        ("close", made.id, "口罩需求登记", JSL)]


def test_rows_are_added_moved_and_removed(world: World, people: flask.Flask) -> None:  # noqa: F811
    leader = client_of(people, "changning")
    three = [{"label": "甲", "key": "f1"}, {"label": "乙", "key": "f2"}, {"label": "丙", "key": "mine"}]
    rows = form(fields=three)[-len(PARTS):]

    def labels(said: str) -> list[str]:
        return row_values(json.loads(said)["response"]["cn-rows"]["children"])

    buttons = [[{"id": {"index": n, "type": t}, "property": "n_clicks", "value": None} for n in range(3)]
               for t in ("cn-fup", "cn-fdown", "cn-fremove")]

    def press(kind: str | None, index: int = 0) -> str:
        pressed = json.loads(json.dumps(buttons))
        if kind:
            pressed[("cn-fup", "cn-fdown", "cn-fremove").index(kind)][index]["value"] = 1
        changed = (json.dumps({"index": index, "type": kind}, separators=(",", ":")) if kind else "cn-add") + ".n_clicks"
        return call(leader, changed, [("cn-add", "n_clicks", None if kind else 1), *pressed], rows, via="cn-add.n_clicks")

    assert labels(press("cn-fup", 2)) == ["甲", "丙", "乙"]
    assert labels(press("cn-fdown", 0)) == ["乙", "甲", "丙"]
    assert labels(press("cn-fremove", 1)) == ["甲", "丙"]
    added = press(None)
    assert labels(added) == ["甲", "乙", "丙", ""]
    assert row_values(json.loads(added)["response"]["cn-rows"]["children"], "key") == ["f1", "f2", "mine", "f3"], \
        "the new row's key follows f1, f2"


def press(driver: WebDriver, element: Any) -> None:
    """Click ``element`` once it is in view (Bootstrap scrolls smoothly, which a click at once would miss)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def full_page_shot(driver: WebDriver, path: Path) -> None:
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.slow
@pytest.mark.browser
def test_an_official_builds_a_two_field_collection_and_sees_the_phone_preview(browser: WebDriver, site: Site) -> None:
    """In chromium against `onenet serve` of the demo city: 长宁区's leader fills the builder, sees both fields on the
    phone preview as respondents will, saves the draft and publishes it; screenshots at 1280 and 390 px."""
    login(browser, site, "changning", "onenet-district-2020")
    set_viewport(browser, 1280, 1000)
    open_page(browser, site, "/collections/new", "新建信息收集")
    browser.find_element(By.ID, "cn-title").send_keys("消毒检查登记")
    first = browser.find_element(By.CSS_SELECTOR, "#cn-rows .cn-c-label input")
    first.send_keys("今日消毒次数")
    Select(browser.find_elements(By.CSS_SELECTOR, "#cn-rows select")[0]).select_by_visible_text("整数")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, "#cn-rows .cn-bounds").is_displayed())
    press(browser, browser.find_element(By.ID, "cn-add"))
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cn-rows .cn-row")) == 2)
    second = browser.find_elements(By.CSS_SELECTOR, "#cn-rows .cn-row")[1]
    second.find_element(By.CSS_SELECTOR, ".cn-c-label input").send_keys("是否已完成全面消毒")
    Select(second.find_element(By.TAG_NAME, "select")).select_by_visible_text("是/否")
    press(browser, second.find_element(By.CSS_SELECTOR, "input[type='checkbox']"))

    def preview(d: WebDriver) -> str:
        """The phone preview's text; it is drawn anew on every change, so a read can meet the one it replaced."""
        for _ in range(10):
            try:
                return d.find_element(By.ID, "cn-phone").text
            except StaleElementReferenceException:
                continue
        return ""

    WebDriverWait(browser, 20).until(lambda d: "是否已完成全面消毒 *" in preview(d) and "消毒检查登记" in preview(d))
    shown = preview(browser)
    assert "今日消毒次数" in shown and "是\n否" in shown and "提交" in shown
    full_page_shot(browser, site.shots / "collection_new_1280.png")

    press(browser, browser.find_element(By.ID, "cn-save"))
    WebDriverWait(browser, 20).until(lambda d: "已保存草稿" in d.find_element(By.ID, "cn-msg").text)
    assert not browser.find_element(By.ID, "cn-open").get_attribute("disabled"), "a draft may be published"
    with Session(make_engine(site.db_url)) as s:
        made = s.scalars(select(Collection).where(Collection.title == "消毒检查登记")).one()
        assert [(f.label, f.type, f.required) for f in definition_of(made).fields] == [
            ("今日消毒次数", "integer", False), ("是否已完成全面消毒", "yes_no", True)]
    assert not console_errors(browser)

    set_viewport(browser, 390, 844)
    # with a day, as the app's links carry one: the shell's filters rewrite an address without one to ?day=…
    open_page(browser, site, f"/collections/new?id={made.id}&day={DAY}", f"#{made.id}")
    WebDriverWait(browser, 20).until(lambda d: "是否已完成全面消毒" in preview(d))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
    full_page_shot(browser, site.shots / "collection_new_390.png")
    press(browser, browser.find_element(By.ID, "cn-save"))
    WebDriverWait(browser, 20).until(lambda d: "没有修改" in d.find_element(By.ID, "cn-msg").text)
    press(browser, browser.find_element(By.ID, "cn-open"))
    WebDriverWait(browser, 20).until(lambda d: "已发布" in d.find_element(By.ID, "cn-msg").text)
    assert "收集中" in browser.find_element(By.ID, "cn-state").text
    assert not console_errors(browser)
