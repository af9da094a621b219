"""A person on a phone: open the building's form from its QR token, fill it, paste staff lines, see inline
validation, submit, read the receipt; the enterprise stops counting as silent; a retry stores nothing new."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from etl.figures import Day, enterprise_state, summary
from tests.fixtures.messy import wrong_check
from schemas.models import Enterprise
from tests.intake.conftest import JSL, P1, P2, P3, U_NEW, World
from tests.intake.helpers import counts

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOT = Path("/tmp/intake_phone.png")


@pytest.fixture
def phone(tmp_path: Path) -> Iterator["object"]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium and chromedriver are needed for the browser tests (apt install chromium chromium-driver)")
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=390,844",
                "--lang=zh-CN", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    viewport(driver, 844)  # headless chromium windows are at least 500 px wide: emulate the phone's viewport
    yield driver
    driver.quit()


def viewport(driver, height: int) -> None:  # type: ignore[no-untyped-def]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": height, "deviceScaleFactor": 2, "mobile": True})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})


def reported(world: World, name: str) -> bool:
    day = Day(config.local_now().date())
    with Session(world.engine) as s:
        state = enterprise_state(s, day)
        rows = dict(s.execute(select(state.c.id, state.c.reported)).all())
    return bool(rows[world.enterprise_ids[name]])


def street_reported(world: World) -> int:
    with Session(world.engine) as s:
        return next(u["reported"] for u in summary(s, config.local_now().date(), "street") if u["code"] == JSL)


def test_phone_fills_the_form_and_gets_a_receipt(world: World, live_server: str, phone) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support import expected_conditions as EC  # noqa: PLC0415
    from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: PLC0415

    driver = phone
    wait = WebDriverWait(driver, 20)
    assert not reported(world, "上海甲科技有限公司")
    reported_before = street_reported(world)

    driver.get(f"{live_server}/q/{world.tokens['华鑫大厦']}")
    assert driver.execute_script("return window.innerWidth") <= 400
    assert "华鑫大厦" in driver.find_element(By.TAG_NAME, "h1").text
    sid = driver.find_element(By.ID, "submission_id").get_attribute("value")
    assert len(sid) >= 32  # made on the phone

    Select(driver.find_element(By.ID, "enterprise_id")).select_by_visible_text("上海甲科技有限公司")
    driver.find_element(By.XPATH, "//label[span[text()='已复工']]").click()
    driver.execute_script("document.querySelector('[name=actual_reopen_date]').value = '2020-02-10';")
    driver.find_element(By.ID, "staff_total").send_keys("20")
    driver.find_element(By.ID, "staff_returned").send_keys("25")
    driver.find_element(By.NAME, "contact_name").send_keys("周经理")
    driver.find_element(By.NAME, "contact_phone").send_keys("1380013800")  # one digit short
    driver.find_element(By.NAME, "contact_name").click()
    assert "手机号应为 11 位" in driver.find_element(By.XPATH, "//input[@name='contact_phone']/following-sibling::span").text
    assert "已返岗人数大于员工总数" in driver.page_source
    driver.find_element(By.NAME, "contact_phone").send_keys("0")
    driver.find_element(By.ID, "staff_returned").clear()
    driver.find_element(By.ID, "staff_returned").send_keys("2")
    driver.find_element(By.NAME, "contact_name").click()
    assert not driver.find_elements(By.CSS_SELECTOR, ".msg")

    # staff lines pasted from a spreadsheet (with its header row); one ID has a wrong check character
    driver.find_element(By.ID, "toggle-paste").click()
    lines = "姓名\t身份证号\t手机号\t来源地\t返沪日期\t隔离状态\n" \
            f"张三\t{P1}\t13800138000\t湖北武汉\t2020/2/5\t居家\n" \
            f"李四\t{wrong_check(P2)}\t13900001111\t浙江温州\t2020-02-06\t无需隔离\n"
    driver.execute_script("document.getElementById('paste-box').value = arguments[0];", lines)
    driver.find_element(By.ID, "paste-apply").click()
    rows = driver.find_elements(By.CSS_SELECTOR, "#staff-rows .staff-row")
    assert len(rows) == 2 and driver.find_element(By.ID, "staff-count").text == "2"
    assert rows[0].find_element(By.NAME, "staff_return_date").get_attribute("value") == "2020-02-05"
    assert rows[0].find_element(By.NAME, "staff_quarantine_status").get_attribute("value") == "居家隔离"
    bad = rows[1].find_element(By.NAME, "staff_id_number")
    assert "校验位不符" in rows[1].find_element(By.CSS_SELECTOR, ".msg").text  # inline, before any submit

    # a row typed by hand: the message follows the typing
    driver.find_element(By.ID, "add-row").click()
    third = driver.find_elements(By.CSS_SELECTOR, "#staff-rows .staff-row")[2]
    third.find_element(By.NAME, "staff_name").send_keys("王五")
    id_box = third.find_element(By.NAME, "staff_id_number")
    id_box.send_keys(wrong_check(P3))
    assert "校验位不符" in third.find_element(By.CSS_SELECTOR, ".msg").text
    id_box.clear()
    id_box.send_keys(P3)
    assert not third.find_elements(By.CSS_SELECTOR, ".msg")

    # submitting with the bad row is stopped on the phone, nothing is sent
    before = counts(world.engine)
    driver.find_element(By.ID, "submit-btn").click()
    summary_box = wait.until(EC.visibility_of_element_located((By.ID, "form-errors")))
    assert "第 2 人" in summary_box.text and "校验位不符" in summary_box.text
    assert counts(world.engine) == before
    bad.clear()
    bad.send_keys(P2)
    assert not rows[1].find_elements(By.CSS_SELECTOR, ".msg")
    assert not summary_box.is_displayed()  # fixed: the summary of problems goes
    assert not driver.find_element(By.ID, "planned-wrap").is_displayed()  # reopened: the planned date is moot

    driver.execute_script("window.scrollTo(0, 0);")
    driver.save_screenshot(str(SCREENSHOT))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    viewport(driver, min(height, 4000))
    driver.save_screenshot(str(SCREENSHOT.with_name("intake_phone_full.png")))
    viewport(driver, 844)

    body = driver.execute_script("return new URLSearchParams(new FormData(document.getElementById('intake'))).toString();")
    driver.find_element(By.ID, "submit-btn").click()
    wait.until(EC.url_contains("/r/"))
    receipt = driver.find_element(By.ID, "receipt")
    assert "提交成功" in receipt.text and sid in receipt.text
    assert driver.find_element(By.ID, "receipt-staff-count").text == "3"
    assert P1 not in driver.page_source and P1[:6] + "********" + P1[-4:] in driver.page_source
    driver.save_screenshot(str(SCREENSHOT.with_name("intake_phone_receipt.png")))

    assert reported(world, "上海甲科技有限公司")  # no longer silent on the day of the submission
    assert street_reported(world) == reported_before + 1

    # the phone retries the same submission (say the answer was lost): nothing new, the same receipt
    after = counts(world.engine)
    retry = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: 'POST', body: arguments[1], credentials: 'same-origin',
              headers: {'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'}})
          .then(r => r.json().then(j => done({status: r.status, body: j})));
    """, f"/q/{world.tokens['华鑫大厦']}", body)
    assert retry["status"] == 200 and retry["body"]["status"] == "duplicate", retry
    assert retry["body"]["receipt"]["submission_id"] == sid
    assert counts(world.engine) == after
    assert json.dumps(retry["body"], ensure_ascii=False).count("********") == 3


def test_phone_at_an_empty_building_names_its_enterprise_and_it_waits_pending(  # type: ignore[no-untyped-def]
        world: World, live_server: str, phone) -> None:
    """Issue 18, defect 9: the code of a building with no registered enterprise asks at once for the
    enterprise's name and credit code (checked as typed), and the receipt says it waits for the street."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support import expected_conditions as EC  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    driver = phone
    driver.get(f"{live_server}/q/{world.tokens['愚园路一号楼']}")
    name, code = driver.find_element(By.ID, "enterprise_name"), driver.find_element(By.ID, "uscc")
    assert name.is_displayed() and code.is_displayed() and not driver.find_elements(By.CSS_SELECTOR, "select#enterprise_id")
    assert "还没有登记企业" in driver.find_element(By.ID, "no-enterprises").text
    driver.save_screenshot(str(SCREENSHOT.with_name("intake_phone_empty_building.png")))

    name.send_keys("上海愚园新公司")
    code.send_keys(wrong_check(U_NEW))
    driver.find_element(By.ID, "staff_total").click()
    assert "校验位不符" in driver.find_element(By.XPATH, "//input[@id='uscc']/following-sibling::span").text
    code.clear()
    code.send_keys(U_NEW)
    driver.find_element(By.XPATH, "//label[span[text()='未复工']]").click()
    driver.find_element(By.ID, "staff_total").send_keys("12")
    assert not driver.find_elements(By.CSS_SELECTOR, ".msg")
    driver.find_element(By.ID, "submit-btn").click()
    WebDriverWait(driver, 20).until(EC.url_contains("/r/"))
    assert "待街道核实" in driver.find_element(By.ID, "receipt").text
    driver.save_screenshot(str(SCREENSHOT.with_name("intake_phone_empty_building_receipt.png")))
    with Session(world.engine) as s:
        ent = s.scalars(select(Enterprise).where(Enterprise.uscc == U_NEW)).one()
    assert (ent.building_id, ent.status) == (world.building_ids["愚园路一号楼"], "pending")

    driver.get(f"{live_server}/q/{world.tokens['愚园路一号楼']}")  # the next person picks it from the list
    assert [o.text for o in driver.find_elements(By.CSS_SELECTOR, "select#enterprise_id option")][1] == "上海愚园新公司"
    assert not driver.find_element(By.ID, "enterprise_name").is_displayed()
