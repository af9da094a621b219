"""Collections (信息收集) through a building's QR code: the open collections that expect the chosen enterprise, with
ticks; answers checked as spreadsheet rows are, stored once per submission id; crafted posts for another building's
enterprise or a collection not addressed to it refused; the phone at 390 px answers one and sees its receipt."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from etl import config
from etl import collection_figures
from etl.collections import NewAnswer, create, set_status, store_answers
from etl.pipeline import Ingestor
from schemas.collection_tables import Collection, CollectionAnswer
from schemas.collections import CollectionDef
from schemas.intake import RejectedSubmission
from schemas.models import Enterprise
from tests.fixtures.messy import make_id, make_uscc, write_csv, wrong_check
from tests.intake.conftest import JSL, U1, U3, XHL, World
from tests.intake.helpers import JSON

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
U_SHOP = make_uscc("92310105MA1FL0005")
ID = make_id("310105", "19850312", "456")
SCREENSHOT = Path("/tmp/intake_collection_phone.png")

MASKS = {"title": "口罩需求登记表", "department": "区卫健委", "respondents": "enterprise", "frequency": "once", "fields": [
    {"key": "need", "label": "需求数量(只)", "type": "integer", "required": True, "min": 0, "max": 100000},
    {"key": "contact", "label": "联系人", "type": "text"},
    {"key": "phone", "label": "联系电话", "type": "phone", "required": True},
    {"key": "reopened", "label": "是否已复工", "type": "yes_no", "required": True},
    {"key": "kind", "label": "口罩类型", "type": "choice", "choices": ["医用外科口罩", "KN95", "N95"]},
    {"key": "uses", "label": "使用场景", "type": "choices", "choices": ["办公", "接待", "通勤"]},
    {"key": "price", "label": "可接受单价(元)", "type": "number", "min": 0},
    {"key": "by", "label": "需要日期", "type": "date"},
    {"key": "at", "label": "最近一次消毒时间", "type": "datetime"},
    {"key": "manager", "label": "负责人身份证号", "type": "resident_id"},
    {"key": "code", "label": "统一社会信用代码", "type": "uscc"},
]}


def add_shop(world: World, folder: Path) -> int:
    """A street shop (沿街商铺) in 华鑫大厦, from an enterprise registry file."""
    path = write_csv(folder / "商铺名录.csv", [
        ["企业名称", "统一社会信用代码", "经营地址", "所在楼宇", "所属街道", "所属区", "行业", "类型"],
        ["戊便利店", U_SHOP, "江苏路100号1楼", "华鑫大厦", "江苏路", "长宁", "零售", "沿街商铺"],
    ])
    [result] = Ingestor(world.engine, log=lambda m: None).ingest([path])
    assert result.status == "loaded" and result.rejected == 0, result
    with Session(world.engine) as s:
        return s.scalars(select(Enterprise.id).where(Enterprise.uscc == U_SHOP)).one()


def launch(world: World, status: str = "open", days: tuple[int, int] = (-1, 5), **changes: Any) -> int:
    """A collection made and opened as an official would; ``days`` are start and end relative to today."""
    today = config.local_now().date()
    definition = CollectionDef.model_validate({**MASKS, "scope": JSL, "start": today + timedelta(days=days[0]),
                                               "end": today + timedelta(days=days[1]), **changes})
    with Session(world.engine) as s, s.begin():
        collection = create(s, definition, created_by="test")
        for step in {"draft": (), "open": ("open",), "closed": ("open", "closed")}[status]:
            set_status(collection, step)
        return collection.id


@pytest.fixture
def launched(world: World, tmp_path: Path) -> dict[str, int]:
    shop = add_shop(world, tmp_path)
    return {
        "masks": launch(world),
        "daily": launch(world, title="每日员工健康打卡", frequency="daily", deadline="10:00", respondents="both",
                        fields=[{"key": "well", "label": "员工均无发热", "type": "yes_no", "required": True}]),
        "shops": launch(world, title="商铺消毒检查", respondents="shop", buildings=["华鑫大厦"],
                        fields=[{"key": "done", "label": "今日已消毒", "type": "yes_no"}]),
        "other_building": launch(world, title="江苏路商务楼专项", buildings=["江苏路商务楼"]),
        "other_street": launch(world, title="新华路街道统计", scope=XHL),
        "ended": launch(world, title="上周登记", days=(-9, -2)),
        "later": launch(world, title="下周登记", days=(2, 9)),
        "draft": launch(world, "draft", title="草稿"),
        "closed": launch(world, "closed", title="已结束的登记"),
        "shop_id": shop,
    }


def open_page(client: FlaskClient, path: str) -> tuple[str, str]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    page = resp.get_data(as_text=True)
    return page, re.search(r'name="csrf" value="([^"]+)"', page)[1]


def listed(client: FlaskClient, token: str, enterprise_id: int) -> dict[str, bool]:
    resp = client.get(f"/q/{token}/collections?enterprise_id={enterprise_id}", headers=JSON)
    assert resp.status_code == 200, resp.get_json()
    return {c["title"]: c["answered"] for c in resp.get_json()["collections"]}


def good_answers(**changes: Any) -> dict[str, Any]:
    return {"a_need": "2,000", "a_contact": "周经理", "a_phone": "13800138000", "a_reopened": "是", "a_kind": "KN95",
            "a_uses[]": ["办公", "通勤"], "a_price": "1.5", "a_by": "2020-02-20", "a_at": "2020-02-19T08:30",
            "a_manager": ID, "a_code": U1, **changes}


def post_answer(client: FlaskClient, token: str, collection_id: int, csrf: str, enterprise_id: int,
                sid: str | None = None, **answers: Any) -> Any:
    data = {"csrf": csrf, "submission_id": sid or str(uuid.uuid4()), "enterprise_id": str(enterprise_id), **answers}
    return client.post(f"/q/{token}/c/{collection_id}", data=data, headers=JSON)


def stored(world: World) -> tuple[int, int]:
    with Session(world.engine) as s:
        return (s.scalar(select(func.count()).select_from(CollectionAnswer)) or 0,
                s.scalar(select(func.count()).select_from(RejectedSubmission)) or 0)


@SQLITE
def test_the_form_lists_the_open_collections_that_expect_the_chosen_enterprise(
        world: World, app: flask.Flask, launched: dict[str, int]) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    page = client.get(f"/q/{token}").get_data(as_text=True)
    assert 'id="collections"' in page and "collection.js" in page and "<script>" not in page
    jia, shop = world.enterprise_ids["上海甲科技有限公司"], launched["shop_id"]
    assert listed(client, token, jia) == {"口罩需求登记表": False, "每日员工健康打卡": False}
    assert listed(client, token, shop) == {"每日员工健康打卡": False, "商铺消毒检查": False}  # a shop; its building
    assert listed(client, world.tokens["江苏路商务楼"], world.enterprise_ids["上海丁设计有限公司"]) == {
        "口罩需求登记表": False, "每日员工健康打卡": False, "江苏路商务楼专项": False}
    # an enterprise of another building, through this building's code: not listed, not even its name
    resp = client.get(f"/q/{token}/collections?enterprise_id={world.enterprise_ids['上海丁设计有限公司']}", headers=JSON)
    assert resp.status_code == 404 and "上海丁" not in resp.get_data(as_text=True)

    _, csrf = open_page(client, f"/q/{token}/c/{launched['masks']}?enterprise_id={jia}")
    assert post_answer(client, token, launched["masks"], csrf, jia, **good_answers()).status_code == 201
    assert listed(client, token, jia) == {"口罩需求登记表": True, "每日员工健康打卡": False}  # ticked
    assert listed(client, token, world.enterprise_ids["上海乙贸易有限公司"])["口罩需求登记表"] is False
    item = next(c for c in client.get(f"/q/{token}/collections?enterprise_id={jia}").get_json()["collections"]
                if c["title"] == "口罩需求登记表")
    assert item["department"] == "区卫健委" and item["deadline"].endswith(" 前") and item["url"].startswith(f"/q/{token}/c/")
    page, _ = open_page(client, item["url"])
    assert "本企业已于" in page and "再次提交" in page

    # yesterday's answer is today's for a one-off collection (one period), not for a daily one (a period a day)
    yi = world.enterprise_ids["上海乙贸易有限公司"]
    yesterday = config.local_now() - timedelta(days=1)
    with Session(world.engine) as s, s.begin():
        for key, answers in (("masks", {"need": 1, "phone": "13800138000", "reopened": True}), ("daily", {"well": True})):
            store_answers(s, s.get(Collection, launched[key]), [NewAnswer(yi, answers, yesterday, "file")])
    assert listed(client, token, yi) == {"口罩需求登记表": True, "每日员工健康打卡": False}


@SQLITE
def test_the_collection_form_renders_each_field_by_its_type(world: World, app: flask.Flask,
                                                             launched: dict[str, int]) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    page, _ = open_page(client, f"/q/{token}/c/{launched['masks']}?enterprise_id={world.enterprise_ids['上海甲科技有限公司']}")
    assert "口罩需求登记表" in page and "区卫健委" in page and "上海甲科技有限公司" in page
    assert re.search(r'data-field="need" data-type="integer" data-required="1">需求数量\(只\) <b class="req">\*</b>', page)
    assert 'name="a_need" inputmode="numeric"' in page and 'data-max="100000.0"' in page and "（0–100000）" in page
    assert 'type="radio" name="a_reopened" value="是"' in page
    assert page.count('type="radio" name="a_kind"') == 3 and page.count('type="checkbox" name="a_uses[]"') == 3
    assert 'type="date" name="a_by"' in page and 'type="datetime-local" name="a_at"' in page
    assert 'name="a_phone" inputmode="tel"' in page and 'name="a_code" maxlength="20"' in page
    assert "<script>" not in page and "style=" not in page  # the form's CSP: no inline scripts or styles
    for path in (f"/q/{token}/c/{launched['other_street']}", f"/q/{token}/c/{launched['draft']}",
                 f"/q/{token}/c/{launched['masks']}?enterprise_id={world.enterprise_ids['上海丁设计有限公司']}"):
        assert client.get(path if "?" in path else f"{path}?enterprise_id={world.enterprise_ids['上海甲科技有限公司']}"
                          ).status_code == 404, path
    back = client.get(f"/q/{token}/c/{launched['masks']}")  # the way back of a page without scripts
    assert back.status_code == 303 and back.headers["Location"].endswith(f"/q/{token}")


@SQLITE
def test_a_good_answer_is_stored_with_its_provenance_and_a_masked_receipt(world: World, app: flask.Flask,
                                                                          launched: dict[str, int]) -> None:
    client, token, jia = app.test_client(), world.tokens["华鑫大厦"], world.enterprise_ids["上海甲科技有限公司"]
    _, csrf = open_page(client, f"/q/{token}/c/{launched['masks']}?enterprise_id={jia}")
    sid = str(uuid.uuid4())
    resp = post_answer(client, token, launched["masks"], csrf, jia, sid, **good_answers())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    shown = {a["label"]: a["value"] for a in body["receipt"]["answers"]}
    assert shown["需求数量(只)"] == "2000" and shown["是否已复工"] == "是" and shown["使用场景"] == "办公、通勤"
    assert shown["负责人身份证号"] == ID[:6] + "********" + ID[-4:] and shown["联系电话"] == "138****8000"
    assert shown["最近一次消毒时间"] == "2020-02-19 08:30"
    with Session(world.engine) as s:
        row = s.scalars(select(CollectionAnswer)).one()
        values = json.loads(row.answers)
        collection, today = s.get(Collection, launched["masks"]), config.local_now().date()
        assert collection_figures.stored(s, collection, today)  # the dashboard's kept figures count the answer at once
        assert [(r["code"], r["answered"]) for r in collection_figures.status(s, collection, today, "street")] == [(JSL, 1)]
    assert (row.enterprise_id, row.source, row.submission_id, row.period) == (jia, "form", sid, config.local_now().date()
                                                                             - timedelta(days=1))
    assert values["need"] == 2000 and values["uses"] == ["办公", "通勤"] and values["reopened"] is True
    assert values["price"] == 1.5 and values["by"] == "2020-02-20" and values["code"] == U1
    assert values["manager"]["masked"] == ID[:6] + "********" + ID[-4:] and ID not in row.answers
    for text in (row.answers, json.dumps(body, ensure_ascii=False)):
        assert ID not in text and "13800138000" not in json.dumps(body)
    page = client.get(body["receipt_url"]).get_data(as_text=True)
    assert "提交成功" in page and sid in page and "KN95" in page and ID not in page
    assert client.get(body["receipt_url"].replace(token, world.tokens["江苏路商务楼"])).status_code == 404

    # without scripts: the browser posts the form as it is and follows the redirect to the receipt
    resp = client.post(f"/q/{token}/c/{launched['daily']}", data={"csrf": csrf, "enterprise_id": str(jia), "a_well": "是"})
    assert resp.status_code == 303 and f"/q/{token}/c/{launched['daily']}/r/" in resp.headers["Location"]


@SQLITE
def test_field_errors_come_back_per_field_and_nothing_is_stored(world: World, app: flask.Flask,
                                                                launched: dict[str, int]) -> None:
    client, token, jia = app.test_client(), world.tokens["华鑫大厦"], world.enterprise_ids["上海甲科技有限公司"]
    _, csrf = open_page(client, f"/q/{token}/c/{launched['masks']}?enterprise_id={jia}")
    bad = good_answers(a_need="200000", a_phone="1380013800", a_kind="口罩", a_manager=wrong_check(ID), a_code="ABC",
                       a_reopened="", a_by="2020-02-31", a_price="一块")
    resp = post_answer(client, token, launched["masks"], csrf, jia, **bad)
    assert resp.status_code == 422
    errors = {e["field"]: e["message"] for e in resp.get_json()["errors"]}
    assert set(errors) == {"need", "phone", "kind", "manager", "code", "reopened", "by", "price"}, errors
    assert errors["need"] == "需求数量(只)：超出允许的范围：应在 0–100000 之间"
    assert "手机应为 11 位" in errors["phone"] and "医用外科口罩 / KN95 / N95" in errors["kind"]
    assert "校验位不符" in errors["manager"] and "统一社会信用代码" in errors["code"]
    assert errors["reopened"] == "是否已复工：必填项为空：请补填后重新提交"
    assert stored(world) == (0, 1)  # a rejected_submission record only, masked
    with Session(world.engine) as s:
        assert wrong_check(ID) not in s.scalars(select(RejectedSubmission.body_masked)).one()


@SQLITE
def test_crafted_posts_for_another_building_or_a_collection_not_addressed_are_refused(
        world: World, app: flask.Flask, launched: dict[str, int]) -> None:
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    jia, ding = world.enterprise_ids["上海甲科技有限公司"], world.enterprise_ids["上海丁设计有限公司"]
    _, csrf = open_page(client, f"/q/{token}/c/{launched['masks']}?enterprise_id={jia}")
    refused = [
        (launched["masks"], ding, 422, "不是本楼宇（华鑫大厦）的企业"),  # another building's, through this code
        (launched["other_street"], jia, 404, "不需要本企业填报"),  # a collection of another street
        (launched["other_building"], jia, 404, "不需要本企业填报"),  # limited to another building
        (launched["shops"], jia, 404, "不需要本企业填报"),  # for shops only
        (launched["ended"], jia, 422, "不在收集期内"),
        (launched["later"], jia, 422, "不在收集期内"),
        (launched["closed"], jia, 422, "不在收集期内"),
        (launched["draft"], jia, 404, "没有这项信息收集"),
        (999_999, jia, 404, "没有这项信息收集"),
    ]
    for collection_id, enterprise_id, status, words in refused:
        answers = {"a_done": "是"} if collection_id == launched["shops"] else good_answers()
        resp = post_answer(client, token, collection_id, csrf, enterprise_id, **answers)
        body = resp.get_data(as_text=True)
        assert resp.status_code == status and words in resp.get_json()["errors"][0]["message"], (collection_id, body)
        assert "上海丁" not in body and "新华路街道统计" not in body and "需求数量" not in body
    assert post_answer(client, token, launched["masks"], "forged", jia, **good_answers()).status_code == 403
    other = client.post(f"/q/{world.tokens['江苏路商务楼']}/c/{launched['masks']}", headers=JSON, data={
        "csrf": csrf, "submission_id": str(uuid.uuid4()), "enterprise_id": str(ding), **good_answers()})
    assert other.status_code == 403  # the CSRF pair is bound to the building's code
    assert stored(world)[0] == 0


@SQLITE
def test_a_retry_with_the_same_submission_id_stores_nothing_new(world: World, app: flask.Flask,
                                                               launched: dict[str, int]) -> None:
    client, token, jia = app.test_client(), world.tokens["华鑫大厦"], world.enterprise_ids["上海甲科技有限公司"]
    _, csrf = open_page(client, f"/q/{token}/c/{launched['masks']}?enterprise_id={jia}")
    sid = str(uuid.uuid4())
    first = post_answer(client, token, launched["masks"], csrf, jia, sid, **good_answers())
    again = post_answer(client, token, launched["masks"], csrf, jia, sid, **good_answers())
    assert (first.status_code, again.status_code, again.get_json()["status"]) == (201, 200, "duplicate")
    assert again.get_json()["receipt"] == first.get_json()["receipt"]
    changed = post_answer(client, token, launched["masks"], csrf, jia, sid, **good_answers(a_need="3"))
    assert changed.status_code == 409 and changed.get_json()["status"] == "conflict"
    assert stored(world)[0] == 1
    # a second answer (new id) is another answer: the latest counts
    assert post_answer(client, token, launched["masks"], csrf, jia, **good_answers(a_need="3")).status_code == 201
    assert stored(world)[0] == 2


def test_the_json_endpoint_takes_collection_answers_idempotently(world: World, app: flask.Flask,
                                                                 launched: dict[str, int]) -> None:
    """On SQLite and PostgreSQL: by credit code or name, by path or bearer token; retries and crafted posts."""
    client, token = app.test_client(), world.tokens["华鑫大厦"]
    listing = client.get(f"/api/intake/{token}/collections").get_json()["collections"]
    masks = next(c for c in listing if c["id"] == launched["masks"])
    assert [f["key"] for f in masks["fields"]][:3] == ["need", "contact", "phone"]
    assert {e["name"] for e in masks["enterprises"]} == {"上海甲科技有限公司", "上海乙贸易有限公司", "丙咨询工作室"}
    assert {c["title"] for c in listing} == {"口罩需求登记表", "每日员工健康打卡", "商铺消毒检查"}

    answers = {"need": 500, "phone": "021-62123456", "reopened": True, "uses": ["接待"], "负责人身份证号": ID}
    payload = {"collection_id": launched["masks"], "submission_id": str(uuid.uuid4()), "enterprise": {"uscc": U1},
               "answers": answers}
    first = client.post(f"/api/intake/{token}", json=payload)
    assert first.status_code == 201, first.get_json()
    receipt = first.get_json()["receipt"]
    assert receipt["enterprise"]["name"] == "上海甲科技有限公司" and receipt["collection"]["title"] == "口罩需求登记表"
    retry = client.post("/api/intake", json=payload, headers={"Authorization": f"Bearer {token}"})
    assert retry.status_code == 200 and retry.get_json() == {"ok": True, "status": "duplicate", "receipt": receipt}
    assert stored(world) == (1, 0)

    by_name = client.post(f"/api/intake/{token}", json={**payload, "submission_id": str(uuid.uuid4()),
                                                        "enterprise": {"name": "上海乙贸易有限公司"}})
    assert by_name.status_code == 201 and by_name.get_json()["receipt"]["enterprise"]["uscc"] is not None
    with Session(world.engine) as s:
        assert {r.source for r in s.scalars(select(CollectionAnswer))} == {"api"}

    crafted = [
        ({"enterprise": {"uscc": U3}}, 422, "不是本楼宇"),  # 上海丁设计, of 江苏路商务楼
        ({"enterprise": {"name": "上海丁设计有限公司"}}, 422, "不是本楼宇"),
        ({"enterprise": {"uscc": U3, "name": "上海甲科技有限公司"}}, 422, "不是本楼宇"),  # a code never matches by name
        ({"enterprise_id": world.enterprise_ids["上海丁设计有限公司"]}, 422, "不是本楼宇"),
        ({"collection_id": launched["other_street"]}, 404, "不需要本企业填报"),
        ({"collection_id": launched["closed"]}, 422, "不在收集期内"),
        ({"answers": {"need": -1, "phone": "13800138000", "reopened": "是"}}, 422, "整数"),
        ({"answers": {"need": 1, "phone": "13800138000", "reopened": "是", "nosuch": 1}}, 422, "没有名为"),
        ({"answers": {"need": {"x": 1}, "phone": "13800138000", "reopened": "是"}}, 422, "应为文字或数字"),
        ({"submission_id": "x"}, 422, "提交编号"),
    ]
    for change, status, words in crafted:
        resp = client.post(f"/api/intake/{token}", json={**payload, "submission_id": str(uuid.uuid4()), **change})
        assert resp.status_code == status and words in json.dumps(resp.get_json(), ensure_ascii=False), (change, resp.get_json())
    assert stored(world)[0] == 2
    assert client.post(f"/api/intake/{world.tokens['江苏路商务楼']}", json=payload).status_code == 422  # the same, elsewhere
    assert stored(world)[0] == 2


@pytest.mark.browser
@pytest.mark.slow
@SQLITE
def test_a_phone_answers_a_collection_through_the_buildings_code(world: World, live_server: str,
                                                                 launched: dict[str, int], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.fixtures.web import chromium

    driver = chromium(tmp_path / "downloads", tmp_path / "profile")
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_PROBE})
        phone(driver, 844)
        wait = WebDriverWait(driver, 20)
        driver.get(f"{live_server}/q/{world.tokens['华鑫大厦']}")
        assert driver.execute_script("return window.innerWidth") == 390
        assert not driver.find_element(By.ID, "collections").is_displayed()
        Select(driver.find_element(By.ID, "enterprise_id")).select_by_visible_text("上海甲科技有限公司")
        wait.until(EC.visibility_of_element_located((By.ID, "collections")))
        items = driver.find_elements(By.CSS_SELECTOR, "#collections-list .collection-item")
        assert [i.find_element(By.CLASS_NAME, "c-title").text for i in items] == ["口罩需求登记表", "每日员工健康打卡"]
        assert all(i.find_element(By.CLASS_NAME, "c-state").text == "待填" for i in items)
        driver.save_screenshot(str(SCREENSHOT.with_name("intake_collection_list.png")))
        assert_clean(driver)
        items[0].click()

        wait.until(EC.presence_of_element_located((By.ID, "collection")))
        assert "口罩需求登记表" in driver.find_element(By.TAG_NAME, "h1").text
        sid = driver.find_element(By.ID, "submission_id").get_attribute("value")
        def field(key: str) -> Any:
            return driver.find_element(By.CSS_SELECTOR, f"[data-field='{key}']")

        field("need").find_element(By.TAG_NAME, "input").send_keys("200000")
        field("phone").find_element(By.TAG_NAME, "input").send_keys("1380013800")
        field("contact").find_element(By.TAG_NAME, "input").click()
        assert "超出允许的范围" in field("need").find_element(By.CLASS_NAME, "msg").text
        assert "手机号应为 11 位" in field("phone").find_element(By.CLASS_NAME, "msg").text
        driver.find_element(By.ID, "submit-btn").click()  # stopped on the phone: required yes/no, bad values
        summary = wait.until(EC.visibility_of_element_located((By.ID, "form-errors")))
        assert "是否已复工：请选择" in summary.text and "需求数量(只)" in summary.text
        driver.save_screenshot(str(SCREENSHOT.with_name("intake_collection_errors.png")))
        assert stored(world)[0] == 0

        need = field("need").find_element(By.TAG_NAME, "input")
        need.clear()
        need.send_keys("2000")
        field("phone").find_element(By.TAG_NAME, "input").send_keys("0")
        field("contact").find_element(By.TAG_NAME, "input").send_keys("周经理")
        field("reopened").find_element(By.XPATH, ".//label[span[text()='是']]").click()
        field("kind").find_element(By.XPATH, ".//label[span[text()='KN95']]").click()
        field("uses").find_element(By.XPATH, ".//label[span[text()='办公']]").click()
        field("uses").find_element(By.XPATH, ".//label[span[text()='通勤']]").click()
        field("manager").find_element(By.TAG_NAME, "input").send_keys(wrong_check(ID))
        field("code").find_element(By.TAG_NAME, "input").click()
        assert "校验位不符" in field("manager").find_element(By.CLASS_NAME, "msg").text
        manager = field("manager").find_element(By.TAG_NAME, "input")
        manager.clear()
        manager.send_keys(ID)
        field("code").find_element(By.TAG_NAME, "input").click()
        assert not driver.find_elements(By.CSS_SELECTOR, ".msg") and not summary.is_displayed()
        assert_clean(driver)
        driver.execute_script("window.scrollTo(0, 0);")
        driver.save_screenshot(str(SCREENSHOT))
        height = driver.execute_script("return document.documentElement.scrollHeight")
        phone(driver, min(height, 4000))
        driver.save_screenshot(str(SCREENSHOT.with_name("intake_collection_phone_full.png")))
        phone(driver, 844)
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390  # nothing runs off the side

        driver.find_element(By.ID, "submit-btn").click()
        wait.until(EC.url_contains("/r/"))
        receipt = driver.find_element(By.ID, "receipt")
        assert "提交成功" in receipt.text and sid in receipt.text and "办公、通勤" in receipt.text
        assert ID not in driver.page_source and ID[:6] + "********" + ID[-4:] in driver.page_source
        driver.save_screenshot(str(SCREENSHOT.with_name("intake_collection_receipt.png")))
        assert_clean(driver)
        with Session(world.engine) as s:
            row = s.scalars(select(CollectionAnswer)).one()
        assert (row.submission_id, row.source, json.loads(row.answers)["need"]) == (sid, "form", 2000)

        driver.find_element(By.LINK_TEXT, "返回本楼宇的填报页").click()  # back: the enterprise chosen, the tick shown
        wait.until(EC.visibility_of_element_located((By.ID, "collections")))
        first = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#collections-list .collection-item"))
        wait.until(lambda d: "已填" in first.find_element(By.CLASS_NAME, "c-state").text)
        driver.save_screenshot(str(SCREENSHOT.with_name("intake_collection_ticked.png")))
        assert not driver.find_elements(By.CSS_SELECTOR, ".msg")
        assert_clean(driver)
    finally:
        driver.quit()


CSP_PROBE = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


def assert_clean(driver: Any) -> None:
    """No script error in the console and nothing the form's Content Security Policy blocked, on this page."""
    assert not [e["message"] for e in driver.get_log("browser")
                if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]  # the bare intake app has none
    assert driver.execute_script("return window.__csp") == []


def phone(driver: Any, height: int) -> None:
    """A 390 px phone (headless chromium windows are at least 500 px wide: the viewport is emulated)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": height, "deviceScaleFactor": 2, "mobile": True})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
