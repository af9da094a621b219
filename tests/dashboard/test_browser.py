"""The dashboard in a real headless chromium, against `onenet serve` on a real database of the demo city (the
``site`` and ``browser`` fixtures of tests/conftest.py, shared with the other browser tests of the process).

Screenshots of every page at desktop and phone width are kept under the site's tmp folder
(``screens/``) for a person to look at.
"""
from __future__ import annotations

import json
import time
from typing import Any

import openpyxl
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy.orm import Session

from dashboard.components import HEADLINES
from etl.database import make_engine
from tests.fixtures.web import DAY, DESKTOP, STREET_PASSWORD, STREET_USER, Site
from tests.fixtures.cli import onenet

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ("/", "/reopening", "/missing", "/staff", "/quality")
PHONE = (390, 844)


def login(driver: WebDriver, site: Site, user: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(site.url + "/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)
    driver.get_log("browser")
    driver.get_log("performance")


def open_page(driver: WebDriver, site: Site, path: str, title_contains: str = "") -> str:
    driver.get(site.url + path)
    return wait_title(driver, title_contains)


def wait_title(driver: WebDriver, contains: str = "") -> str:
    WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_elements(By.ID, "page-title") and contains in d.find_element(By.ID, "page-title").text)
    WebDriverWait(driver, 30).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"))
    return driver.find_element(By.ID, "page-title").text


def summary(site: Site, level: str, day: str = DAY) -> dict[str, dict[str, Any]]:
    proc = onenet("--db", site.db_url, "summary", "--level", level, "--date", day, "--json")
    return {u["code"]: u for u in json.loads(proc.stdout)}


def shown(driver: WebDriver, key: str) -> str:
    return driver.find_element(By.ID, f"fig-{key}").text


def as_shown(value: Any, rate: bool) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if rate else f"{int(value):,}"


def console_errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def foreign_requests(driver: WebDriver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")
            and not u.split("//", 1)[1].startswith("127.0.0.1")]


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """Desktop: the window; phone: device emulation (headless windows do not get narrower than 500 px)."""
    if width < 500:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(width, height)


CSP_PROBE = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_loads_without_console_errors_or_csp_violations_at_desktop_and_phone_width(
        browser: WebDriver, site: Site, viewport: tuple[int, int]) -> None:
    probe = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_PROBE})
    try:
        login(browser, site, "admin", "onenet-admin-2020")
        problems = []
        width, height = viewport
        set_viewport(browser, width, height)
        for path in PAGES:
            for unit in ("", "&unit=310105", f"&unit={site.street}"):
                open_page(browser, site, f"{path}?day={DAY}{unit}")
                time.sleep(0.2)  # a message logged just after the last callback
                errors = console_errors(browser)
                if errors:
                    problems.append(f"{path} {unit} at {width}px: {errors[:3]}")
                violations = browser.execute_script("return window.__csp || []")
                if violations:
                    problems.append(f"{path} {unit} at {width}px: Content Security Policy: {violations}")
                if unit == "&unit=310105":
                    full = browser.execute_script("return document.body.scrollHeight")
                    set_viewport(browser, width, min(full + 50, 6000))
                    name = (path.strip("/") or "overview") + f"_{width}.png"
                    browser.save_screenshot(str(site.shots / name))
                    set_viewport(browser, width, height)
                overflow = browser.execute_script(
                    "return document.documentElement.scrollWidth > window.innerWidth + 1")
                if overflow:
                    problems.append(f"{path} {unit} at {width}px: the page scrolls sideways")
        set_viewport(browser, *DESKTOP)
        assert not problems, "\n".join(problems)
        assert not foreign_requests(browser), "every request stays on localhost (no CDN, fonts or tiles)"
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": probe["identifier"]})


def test_headline_figures_equal_onenet_summary(browser: WebDriver, site: Site) -> None:
    login(browser, site, "admin", "onenet-admin-2020")
    for level, code, query in (("city", "310000", ""), ("district", "310105", "&unit=310105"),
                               ("street", site.street, f"&unit={site.street}")):
        expected = summary(site, level)[code]
        open_page(browser, site, f"/?day={DAY}{query}", expected["name"])
        for key, _, rate, _ in HEADLINES:
            assert shown(browser, key) == as_shown(expected[key], rate), f"{level} {key}"


def test_drill_down_by_clicking_the_map_and_the_bars_and_back_by_the_breadcrumb(browser: WebDriver, site: Site) -> None:
    login(browser, site, "admin", "onenet-admin-2020")
    open_page(browser, site, f"/?day={DAY}", "上海市")
    districts = summary(site, "district")
    label = browser.find_elements(By.CSS_SELECTOR, "#map .scatterlayer .trace:last-child path.point")[0]
    ActionChains(browser).move_to_element(label).click().perform()
    WebDriverWait(browser, 30).until(lambda d: "unit=3101" in d.current_url)
    district = browser.current_url.split("unit=")[1][:6]
    title = wait_title(browser, districts[district]["name"])
    assert shown(browser, "enterprises") == as_shown(districts[district]["enterprises"], False)

    bar = browser.find_elements(By.CSS_SELECTOR, "#units-bar .barlayer .point path")[0]
    ActionChains(browser).move_to_element(bar).click().perform()
    WebDriverWait(browser, 30).until(lambda d: len(d.current_url.split("unit=")[1].split("&")[0]) == 9)
    street = browser.current_url.split("unit=")[1].split("&")[0]
    streets = summary(site, "street")
    wait_title(browser, streets[street]["name"])
    assert shown(browser, "enterprises") == as_shown(streets[street]["enterprises"], False)
    crumbs = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#crumbs .crumb")]
    assert crumbs == ["上海市", districts[district]["name"], streets[street]["name"]]

    points = browser.find_elements(By.CSS_SELECTOR, "#map .scatterlayer .trace:last-child path.point")
    if points:  # a street whose buildings have coordinates: down to a building
        ActionChains(browser).move_to_element(points[0]).click().perform()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "building-panel"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#crumbs .crumb")) == 4

    browser.find_element(By.CSS_SELECTOR, "#crumbs a.crumb").click()
    assert "上海市" in wait_title(browser, "上海市") and title != "上海市"


def choose(driver: WebDriver, dropdown_id: str, label: str) -> None:
    driver.find_element(By.ID, dropdown_id).click()
    option = WebDriverWait(driver, 10).until(EC.element_to_be_clickable(
        (By.XPATH, f"//*[@role='option'][normalize-space(.)='{label}']")))
    option.click()


def test_filters_change_the_figures(browser: WebDriver, site: Site) -> None:
    login(browser, site, "admin", "onenet-admin-2020")
    open_page(browser, site, f"/?day={DAY}", "上海市")
    districts = summary(site, "district")
    choose(browser, "f-district", "长宁区")
    wait_title(browser, "长宁区")
    assert shown(browser, "enterprises") == as_shown(districts["310105"]["enterprises"], False)
    assert shown(browser, "reopening_rate") == as_shown(districts["310105"]["reopening_rate"], True)

    choose(browser, "f-street", site.street_name)
    wait_title(browser, site.street_name)
    assert shown(browser, "reporting_coverage") == as_shown(summary(site, "street")[site.street]["reporting_coverage"], True)

    earlier = "2020-02-14"
    day_input = browser.find_element(By.CSS_SELECTOR, "input#f-day")
    day_input.click()
    day_input.send_keys("\ue009a")  # Ctrl+A
    day_input.send_keys(earlier + "\ue007")
    wait_title(browser, earlier)
    assert "day=" + earlier in browser.current_url
    street_then = summary(site, "street", earlier)[site.street]
    assert shown(browser, "reporting_coverage") == as_shown(street_then["reporting_coverage"], True)


def test_follow_up_status_survives_a_reload(browser: WebDriver, site: Site) -> None:
    login(browser, site, STREET_USER, STREET_PASSWORD)
    open_page(browser, site, f"/missing?day={DAY}", site.street_name)
    card = browser.find_elements(By.CSS_SELECTOR, ".building-card")[0]
    building_id = card.get_attribute("id")
    card.find_element(By.CSS_SELECTOR, "[id*='follow-status']").click()
    WebDriverWait(browser, 10).until(EC.element_to_be_clickable(
        (By.XPATH, "//*[@role='option'][normalize-space(.)='已承诺填报']"))).click()
    note = card.find_element(By.CSS_SELECTOR, "input[id*='follow-note']")
    note.send_keys("业主答应今天督促")
    card.find_element(By.CSS_SELECTOR, "button[id*='follow-save']").click()
    WebDriverWait(browser, 20).until(lambda d: "已承诺填报" in d.find_element(
        By.CSS_SELECTOR, f"#{building_id} [id*='follow-state']").text)

    card.find_element(By.CSS_SELECTOR, "button[id*='expand']").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f"#{building_id} [id*='silent-list']").text.strip())

    browser.refresh()
    wait_title(browser, site.street_name)
    state = browser.find_element(By.CSS_SELECTOR, f"#{building_id} [id*='follow-state']").text
    assert "已承诺填报" in state and "业主答应今天督促" in state and "街道工作人员" in state


def test_a_user_sees_only_their_scope(browser: WebDriver, site: Site) -> None:
    login(browser, site, "changning", "onenet-district-2020")
    assert "长宁区" in open_page(browser, site, f"/?day={DAY}&unit=310101", "长宁区"), \
        "a unit outside the scope falls back to the scope"
    assert browser.find_element(By.ID, "f-district").get_attribute("disabled") is not None
    browser.delete_all_cookies()
    browser.get(site.url + "/")
    WebDriverWait(browser, 10).until(lambda d: "/login" in d.current_url)
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(site.url + "/_dash-update-component", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_download_button_exports_what_the_page_shows_for_the_users_scope(browser: WebDriver, site: Site) -> None:
    login(browser, site, STREET_USER, STREET_PASSWORD)
    open_page(browser, site, f"/missing?day={DAY}&unit=310101", site.street_name)
    before = set(site.downloads.iterdir())
    browser.find_element(By.ID, "download-btn").click()
    WebDriverWait(browser, 60).until(lambda d: [p for p in set(site.downloads.iterdir()) - before
                                                if p.suffix == ".xlsx"])
    path = next(p for p in set(site.downloads.iterdir()) - before if p.suffix == ".xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    assert "漏报楼宇" in book.sheetnames and "返岗人员" not in book.sheetnames
    cover = {row[0]: row[1] for row in book["封面"].iter_rows(values_only=True) if row and row[0]}
    assert cover["范围"].startswith(site.street_name) and cover["统计日期"] == DAY
    streets = {row[1] for row in list(book["漏报楼宇"].iter_rows(values_only=True))[1:]}
    assert streets == {site.street_name}


def test_a_qr_submission_takes_the_enterprise_off_the_missing_list_at_once(
        browser: WebDriver, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept last: a submission made now stretches the campaign days to today."""
    import urllib.request  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    from etl import config  # noqa: PLC0415
    from etl.intake import building_token  # noqa: PLC0415
    from schemas.models import Building  # noqa: PLC0415

    monkeypatch.setenv("ONENET_SECRET", site.env["ONENET_SECRET"])
    monkeypatch.setenv("ONENET_DATA_DIR", site.env["ONENET_DATA_DIR"])  # the server's token key
    today = config.local_now().date().isoformat()
    login(browser, site, STREET_USER, STREET_PASSWORD)
    open_page(browser, site, f"/missing?day={today}", today)
    card = browser.find_elements(By.CSS_SELECTOR, ".building-card")[0]
    card_id = card.get_attribute("id")
    before = card.find_element(By.CSS_SELECTOR, ".b-silent").text
    card.find_element(By.CSS_SELECTOR, "button[id*='expand']").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#{card_id} [id*='silent-list'] td"))
    silent = [td.text for td in browser.find_elements(By.CSS_SELECTOR, f"#{card_id} [id*='silent-list'] tbody tr td:first-child")]

    engine = make_engine(site.db_url)
    with Session(engine) as session:
        building = session.get(Building, int(card_id.split("-")[1]))
        token = building_token(building.street_code, building.name_key)
    engine.dispose()

    def call(method: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{site.url}/api/intake/{token}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    _, info = call("GET")
    enterprise = next(e for e in info["enterprises"] if e["name"] == silent[0])
    payload = {"submission_id": str(uuid.uuid4()), "enterprise_id": enterprise["id"], "是否复工": "已复工",
               "员工总数": "20", "已返岗人数": "15"}
    status, first = call("POST", payload)
    assert status == 201

    open_page(browser, site, f"/missing?day={today}", today)
    cards = browser.find_elements(By.CSS_SELECTOR, f"#{card_id} .b-silent")
    after = cards[0].text if cards else "未填报 0"
    assert int(after.split()[1]) == int(before.split()[1]) - 1, (before, after)

    status, again = call("POST", payload)
    assert status == 200 and again["receipt"] == first["receipt"], "a retry of the same submission stores nothing new"

    # Today's report adds today alone: pages still open on the campaign's last report day (etl.days).
    open_page(browser, site, "/reopening", "2020-02-28")
    day_input = browser.find_element(By.CSS_SELECTOR, "input#f-day")
    assert day_input.get_attribute("value") == "2020-02-28"
    day_input.click()
    day_input.send_keys("\ue009a")  # Ctrl+A
    day_input.send_keys(today + "\ue007")  # the picker reaches today, the submission's own day
    wait_title(browser, today)


def test_a_street_official_prints_the_qr_codes_of_their_street(browser: WebDriver, site: Site) -> None:
    login(browser, site, STREET_USER, STREET_PASSWORD)
    open_page(browser, site, f"/missing?day={DAY}", site.street_name)
    link = browser.find_element(By.ID, "qr-sheet-link")
    browser.get(link.get_attribute("href"))
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card img"))
    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert cards and site.street_name in browser.title
    assert all(site.url in c.text for c in cards), "the codes point at the configured public address"
    other = next(c for c in summary(site, "street") if c != site.street and c.startswith("310105"))
    browser.get(f"{site.url}/qr-sheet/{other}")
    assert "楼宇二维码" not in browser.page_source, "another street's codes are not shown"


def test_the_quality_page_shows_its_tables_as_grids_and_renders_at_once(browser: WebDriver, site: Site) -> None:
    """Hundreds of ledger rows as html cells took dash-renderer 20 s and more; the grids draw the rows on screen only."""
    login(browser, site, "admin", "onenet-admin-2020")
    started = time.perf_counter()
    open_page(browser, site, f"/quality?day={DAY}", "数据质量")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#provenance-files .ag-row"))
    assert time.perf_counter() - started < 8, "the city's quality page renders in seconds"
    for grid_id in ("ledger-table", "rejects-table", "provenance-files"):
        rows = browser.find_elements(By.CSS_SELECTOR, f"#{grid_id} .ag-center-cols-container .ag-row")
        assert rows and rows[0].text.strip(), grid_id
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#rejects-table .ag-header-cell-text")]
    assert "原因及处理办法" in headers and "级别" in headers
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ledger-table .ag-row")) < 60, "only the rows on screen are drawn"
    assert not foreign_requests(browser), "the grid's code comes from this server, not a CDN"


def _overlapping_map_names(driver: WebDriver) -> list[str]:
    return driver.execute_script("""
        const boxes = [...document.querySelectorAll('#map .textpoint text, #map .annotation-text-g')]
            .filter(e => e.textContent.trim()).map(e => [e.textContent, e.getBoundingClientRect()]);
        const out = [];
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [a, r] = boxes[i], [b, s] = boxes[j];
            if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1) out.push(a + '/' + b);
        }
        return boxes.length ? out : ['no names on the map'];""")


def test_map_names_stay_legible_on_a_phone_and_a_district_is_drawn_in_its_surroundings(browser: WebDriver, site: Site) -> None:
    login(browser, site, "admin", "onenet-admin-2020")
    set_viewport(browser, *PHONE)
    try:
        for query in ("", "&unit=310105"):
            open_page(browser, site, f"/?day={DAY}{query}")
            WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#map .textpoint text"))
            time.sleep(0.5)
            assert _overlapping_map_names(browser) == [], f"names overlap at 390 px{query}"
        traces = browser.execute_script("return document.querySelector('#map .js-plotly-plot').data.map(t => t.name)")
        assert traces.count("district") == 1 and "neighbour" in traces, "长宁区 outlined among its neighbours"
        assert traces.index("district") < traces.index("unit-labels"), "the outline lies behind the streets"
    finally:
        set_viewport(browser, *DESKTOP)


def test_logout_ends_the_session(browser: WebDriver, site: Site) -> None:
    """The pages under the Content Security Policy are checked on the tour of every page above."""
    login(browser, site, "admin", "onenet-admin-2020")
    open_page(browser, site, f"/?day={DAY}&unit=310105")
    cookie = browser.get_cookie("session")
    browser.find_element(By.ID, "logout-btn").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith("/login"))
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    replay = urllib.request.Request(site.url + "/_dash-layout", headers={"Cookie": f"session={cookie['value']}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(replay, timeout=10)
    assert refused.value.code == 401, "the cookie of a logged-out session is worthless"
