"""信息收集 on the dashboard (dashboard/pages/collections.py, collection_view.py, dashboard/queries/collections.py),
on the small demo city with collections answered by hand below: the page's figures are etl.collection_figures',
every view and callback is cut to the user's scope on the server (direct URLs and crafted callback requests),
contacts and answers are masked as dashboard.access says; and the pages in a real chromium."""
from __future__ import annotations

import io
import json
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import flask
import openpyxl
import pandas as pd
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dashboard import access, context
from dashboard import app as dashboard_app
from dashboard import queries as q
from dashboard.auth import Account, create_user
from dashboard.queries import collections as qc
from etl import config
from etl.collection_export import answer_rows
from etl.collection_figures import field_summaries, latest_answers, missing_respondents, status
from etl.collections import NewAnswer, check_answers, create, definition_of, set_status, store_answers
from etl.database import make_engine
from etl.figures import summary
from etl.masking import mask_phone
from schemas.audit import AuditEntry
from schemas.collection_tables import Collection
from schemas.collections import CLOSED, OPEN, CollectionDef
from schemas.models import CONFIRMED, Building, Enterprise
from schemas.sources import SHOP_KIND
from tests.conftest import ENGINES, demo_database
from tests.dashboard.test_browser import console_errors, open_page, set_viewport, wait_title
from tests.dashboard.test_browser import login as browser_login
from tests.fixtures.web import DAY, Site, logged_in, rendered_page

PASSWORD = "a-long-password-1"
CHANGNING, XUHUI = "310105", "310104"
D = date.fromisoformat(DAY)
RIC_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]

MASK_FIELDS = [
    {"key": "masks", "label": "需求数量(只)", "type": "integer", "required": True, "min": 0},
    {"key": "area", "label": "办公面积(平方米)", "type": "number"},
    {"key": "reopened", "label": "是否已复工", "type": "yes_no"},
    {"key": "kind", "label": "口罩类型", "type": "choice", "choices": ["医用外科口罩", "KN95", "N95"]},
    {"key": "needs", "label": "所需物资", "type": "choices", "choices": ["口罩", "消毒液", "手套", "测温枪"]},
    {"key": "contact", "label": "联系人", "type": "text"},
    {"key": "phone", "label": "联系电话", "type": "phone"},
    {"key": "person", "label": "负责人身份证号", "type": "resident_id"},
]
HEALTH_FIELDS = [{"key": "staff", "label": "在岗人数", "type": "integer"},
                 {"key": "healthy", "label": "是否均无发热", "type": "yes_no"}]


def resident_id(rng: random.Random) -> str:
    first = f"310105{rng.randint(1960, 1999)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(1, 999):03d}"
    return first + "10X98765432"[sum(int(c) * w for c, w in zip(first, RIC_WEIGHTS)) % 11]


def mask_answers(rng: random.Random, n: int) -> pd.DataFrame:
    """What n respondents type into 口罩需求登记表, as a sheet or a phone would send it."""
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋"
    return pd.DataFrame([{
        "masks": str(rng.randint(0, 2000)), "area": f"{rng.uniform(50, 5000):.1f}", "reopened": rng.choice(["是", "否"]),
        "kind": rng.choice(["医用外科口罩", "KN95", "N95"]),
        "needs": "、".join(rng.sample(["口罩", "消毒液", "手套", "测温枪"], rng.randint(1, 3))),
        "contact": rng.choice(surnames) + rng.choice(given) + rng.choice(given),
        "phone": f"13{rng.randint(100000000, 999999999)}", "person": resident_id(rng),
    } for _ in range(n)])


def collect(session: Session, title: str, scope: str, fields: list[dict[str, Any]], status_to: list[str],
            **settings: Any) -> Collection:
    c = create(session, CollectionDef.model_validate({"title": title, "scope": scope, "fields": fields, **settings}),
               created_by="tester")
    for s in status_to:
        set_status(c, s)
    return c


def answer(session: Session, c: Collection, who: list[int], frame: pd.DataFrame, times: list[datetime],
           prefix: str) -> None:
    rows, errors = check_answers(definition_of(c), frame)
    assert errors == []
    store_answers(session, c, [NewAnswer(e, r, at, "api", f"{prefix}-{i}")
                               for i, (e, r, at) in enumerate(zip(who, rows, times))])


def seed_collections(engine: Engine, official_street: str, seed: int = 5) -> dict[str, int]:
    """A city-wide one-off collection (60 % answered between 02-17 and 02-23, a tenth of them twice), a daily one of
    长宁区 (enterprises and shops, 70 % a day, around the 10:00 deadline), a draft of a street of 长宁区 and a closed
    one of 徐汇区; their ids by name."""
    rng = random.Random(seed)
    with Session(engine) as s, s.begin():
        ids = {}
        enterprises = s.execute(select(Enterprise.id, Enterprise.street_code, Enterprise.kind)
                                .where(Enterprise.status == CONFIRMED).order_by(Enterprise.id)).all()
        firms = [i for i, _, kind in enterprises if kind != SHOP_KIND]
        masks = collect(s, "口罩需求登记表", config.CITY_CODE, MASK_FIELDS, [OPEN], department="市经济信息化委",
                        start="2020-02-17", end=DAY)
        who = rng.sample(firms, int(len(firms) * 0.6))
        who += rng.sample(who, len(who) // 10)
        start = datetime(2020, 2, 17, 8)
        times = [start + timedelta(minutes=rng.randint(0, 6 * 24 * 60)) for _ in who]
        answer(s, masks, who, mask_answers(rng, len(who)), times, "masks")
        ids["masks"] = masks.id

        health = collect(s, "员工健康日报", CHANGNING, HEALTH_FIELDS, [OPEN], department="长宁区卫健委",
                         respondents="both", frequency="daily", start="2020-02-17", end="2020-02-28", deadline="10:00")
        local = [i for i, street, _ in enterprises if street and street.startswith(CHANGNING)]
        for day in (D - timedelta(days=1), D):
            who = rng.sample(local, int(len(local) * 0.7))
            frame = pd.DataFrame([{"staff": rng.randint(0, 80), "healthy": rng.choice(["是", "是", "否"])} for _ in who])
            times = [datetime.combine(day, datetime.min.time()) + timedelta(minutes=rng.randint(7 * 60, 13 * 60))
                     for _ in who]
            answer(s, health, who, frame, times, f"health-{day}")
        ids["health"] = health.id

        ids["draft"] = collect(s, "楼宇消杀登记", official_street, [{"key": "done", "label": "是否已消杀", "type": "yes_no"}],
                               [], start="2020-02-20", end="2020-02-25").id
        rent = collect(s, "租金减免申请", XUHUI, [{"key": "amount", "label": "减免金额(元)", "type": "number"}],
                       [OPEN], start="2020-02-10", end="2020-02-14")
        xuhui = [i for i, street, kind in enterprises if street and street.startswith(XUHUI) and kind != SHOP_KIND]
        answer(s, rent, xuhui[:20], pd.DataFrame([{"amount": "12000.5"}] * 20), [datetime(2020, 2, 12, 9)] * 20, "rent")
        set_status(rent, CLOSED)
        ids["rent"] = rent.id
    return ids


@dataclass(frozen=True)
class World:
    engine: Engine
    ids: dict[str, int]
    street: str  # a street of 长宁区 with buildings and silent respondents: the official's
    other: str  # another street of 长宁区


PEOPLE = {  # user name: role, scope code (or a key of the world), personal-data grant
    "cv_admin": ("admin", config.CITY_CODE, False), "cv_analyst": ("analyst", config.CITY_CODE, False),
    "cv_granted": ("analyst", config.CITY_CODE, True), "cv_leader": ("district", CHANGNING, False),
    "cv_official": ("street", "street", False), "cv_neighbour": ("street", "other", False),
    "cv_xuhui": ("district", XUHUI, False),
}


@contextmanager
def built_world(build: Path, kind: str, folder: Path) -> Iterator[World]:
    """A copy of the run's small demo city, the collections of ``seed_collections`` and the users of PEOPLE, on
    ``kind``'s engine."""
    with demo_database(build, kind, folder) as url, pytest.MonkeyPatch.context() as env:
        env.setenv("ONENET_SECRET", "test-secret-not-for-production-use")
        env.setenv("ONENET_DATA_DIR", str(folder))
        engine = make_engine(url)
        with Session(engine) as s:
            streets = sorted((u for u in summary(s, D, "street") if u["parent_code"] == CHANGNING and u["enterprises"]),
                             key=lambda u: (-u["buildings"], -u["enterprises"], u["code"]))
        street, other = streets[0]["code"], streets[1]["code"]
        ids = seed_collections(engine, street)
        with Session(engine) as s, s.begin():
            for name, (role, scope, personal) in PEOPLE.items():
                create_user(s, name, PASSWORD, role, {"street": street, "other": other}.get(scope, scope), None, personal)
        yield World(engine, ids, street, other)
        engine.dispose()


@pytest.fixture(scope="session")
def cv_world(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The world of the page tests (SQLite); they only read it and add audit entries."""
    with built_world(demo_build, "sqlite", tmp_path_factory.mktemp("collections_page")) as world:
        yield world


@pytest.fixture(scope="session")
def cv_world_pg(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with built_world(demo_build, "postgres", tmp_path_factory.mktemp("collections_page_pg")) as world:
        yield world


@pytest.fixture(params=ENGINES)
def any_world(request: pytest.FixtureRequest) -> World:
    """The world on each engine, for the query layer's SQL."""
    return request.getfixturevalue("cv_world" if request.param == "sqlite" else "cv_world_pg")


@pytest.fixture
def server(cv_world: World) -> flask.Flask:
    return dashboard_app.create_app(cv_world.engine).server


def client_of(server: flask.Flask, username: str) -> Any:
    return logged_in(server, username, PASSWORD)


def account(world: World, username: str) -> Account:
    role, scope, personal = PEOPLE[username]
    return Account(1, username, None, role, {"street": world.street, "other": world.other}.get(scope, scope), personal)


def collection(world: World, key: str) -> Collection:
    with Session(world.engine) as s:
        found = s.get(Collection, world.ids[key])
        s.expunge(found)
        return found


def search(world: World, key: str, unit: str | None = None, day: str = DAY) -> str:
    return f"?id={world.ids[key]}" + (f"&unit={unit}" if unit else "") + f"&day={day}"


def call(client: Any, output_has: str, inputs: list[dict[str, Any]], states: list[dict[str, Any]], changed: str) -> str:
    """What a browser (or anyone with a session) posts to a callback, as JSON text of the answer."""
    output = next(d["output"] for d in client.get("/_dash-dependencies").get_json() if output_has in d["output"])
    resp = client.post("/_dash-update-component", json={
        "output": output, "outputs": {"id": output.rsplit(".", 1)[0], "property": output.rsplit(".", 1)[1]},
        "inputs": inputs, "state": states, "changedPropIds": [changed]})
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json(silent=True), ensure_ascii=False)


def missing_page(client: Any, query: str, page: int = 1) -> str:
    return call(client, "cv-missing-list.children", [{"id": "cv-missing-pages", "property": "active_page", "value": page}],
                [{"id": "cv-key", "property": "data", "value": query}], "cv-missing-pages.active_page")


PARTS = ("cv-where", "cv-missing", "cv-summary", "cv-answers-box")
"""The parts of a collection's view that callbacks fill, each from the page's query string (cv-key)."""


def part(client: Any, name: str, query: str) -> str:
    return call(client, f"{name}.children", [{"id": "cv-key", "property": "data", "value": query}], [], "cv-key.data")


def in_session(client: Any, function: Any, *args: Any) -> Any:
    with client:
        assert client.get("/_dash-layout").status_code == 200
        return function(*args)


def street_names(world: World) -> dict[str, str]:
    with Session(world.engine) as s:
        divs = q.load_divisions(s)
        return {c: divs.display(c) for c in divs.codes_at("street")}


# --------------------------------------------------------------------------- the figures are etl.collection_figures'


@pytest.mark.parametrize("key", ["masks", "health", "rent"])
@pytest.mark.parametrize("day", [date(2020, 2, 18), D])
def test_the_query_layer_figures_equal_status_at_every_level(any_world: World, key: str, day: date) -> None:
    c = collection(any_world, key)
    with Session(any_world.engine) as s:
        divs = q.load_divisions(s)
        for level in ("city", "district", "street"):
            for want in status(s, c, qc.clamp(definition_of(c), day), level):
                if not qc.covers(divs, c.scope_code, want["code"]):
                    continue
                reach = qc.reach_of(divs, config.CITY_CODE, c, want["code"], day)
                counts = qc.street_counts(s, reach, divs)
                assert qc.status_row(divs, want["code"], counts) == want, (key, day, level, want["code"])
                if level != "street":
                    subs = status(s, c, reach.day, "district" if level == "city" else "street",
                                  set(divs.sub_units(want["code"])))
                    got = {r["code"]: r for r in qc.sub_unit_rows(divs, want["code"], counts)}
                    assert [got[r["code"]] for r in subs] == subs


def test_missing_summaries_and_answers_agree_with_the_figures(any_world: World) -> None:
    c = collection(any_world, "masks")
    with Session(any_world.engine) as s:
        divs = q.load_divisions(s)
        for code in (config.CITY_CODE, CHANGNING, any_world.street):
            reach = qc.reach_of(divs, config.CITY_CODE, c, code, D)
            row = qc.status_row(divs, code, qc.street_counts(s, reach, divs))
            streets = qc.streets_of(divs, code)
            first = qc.missing(s, divs, reach, contacts=False, size=7)
            pages = [first.page] + [qc.missing(s, divs, reach, contacts=False, page=p, size=7).page
                                    for p in range(2, -(-first.groups // 7) + 1)]
            groups = [g for page in pages for g in page]
            assert first.silent == sum(len(g["silent"]) for g in groups) == row["expected"] - row["answered"] > 0
            want_groups = missing_respondents(s, c, D, streets)
            assert first.groups == len(groups) == len(want_groups)
            as_pairs = [(g["building_id"], g["street_code"], [(r["name"], r["uscc"] or None) for r in g["silent"]],
                         g["owner_phone"]) for g in groups]
            assert sorted(as_pairs, key=repr) == sorted(
                [(g["id"], g["street_code"], sorted(g["silent"]), mask_phone(g["owner_phone"]) or "") for g in want_groups],
                key=repr)
            assert [len(g["silent"]) for g in groups] == [len(g["silent"]) for g in want_groups], "most silent first"
            total, rows, columns = qc.answers(s, divs, reach, personal=True, limit=100_000)
            assert total == len(rows) == row["answered"] == len(latest_answers(s, c, D, streets))
            def by_name(r: dict[str, Any]) -> tuple[str, ...]:
                return r["@street"], r["@building"] or "", r["@name"], r["@uscc"] or ""

            assert sorted(rows, key=by_name) == sorted(answer_rows(s, c, definition_of(c), D, streets, True), key=by_name)
            assert qc.answers(s, divs, reach, personal=True, limit=10)[1] == rows[:10]
            assert [label for _, label in columns][-2:] == ["负责人身份证号", "填报时间"]
            got = qc.summaries(s, divs, reach)
            want = field_summaries(s, c, D, divs.level_of(code), {code})[code]
            assert got["total"] == {"masks": want["masks"], "area": want["area"]}
            assert {ch["key"]: dict(zip(ch["labels"], ch["counts"])) for ch in got["choices"]} == {
                k: {label: want[k].get(label, 0) for label in labels} for k, labels in
                (("reopened", ["是", "否"]), ("kind", ["医用外科口罩", "KN95", "N95"]), ("needs", ["口罩", "消毒液", "手套", "测温枪"]))}
            subs = divs.sub_units(code)
            if subs:
                per_unit = field_summaries(s, c, D, divs.level_of(subs[0]), set(subs))
                assert {u["code"]: u["masks"] for u in got["units"]} == {u: per_unit.get(u, {}).get("masks", 0) for u in subs}
                assert sum(u["masks"] for u in got["units"]) == want["masks"]


def test_the_list_is_cut_to_the_unit_and_who_may_launch(any_world: World) -> None:
    with Session(any_world.engine) as s:
        divs, campaign = q.load_divisions(s), q.load_campaign(s)

        def listed(username: str, code: str | None = None) -> dict[str, dict[str, Any]]:
            who = account(any_world, username)
            rows = qc.listing(s, divs, who.scope_code, code or who.scope_code, D, access.may_launch_collections(who))
            assert [r["status"] for r in rows] == sorted((r["status"] for r in rows), key=qc.STATUS_ORDER.__getitem__)
            return {next(k for k, v in any_world.ids.items() if v == r["id"]): r for r in rows}

        assert list(listed("cv_admin")) == ["health", "masks", "draft", "rent"], "open, newest first; drafts; closed"
        assert list(listed("cv_analyst")) == ["health", "masks", "rent"], "an analyst may not launch: no drafts"
        assert list(listed("cv_admin", XUHUI)) == ["masks", "rent"]
        official = listed("cv_official")
        assert list(official) == ["health", "masks", "draft"], "the city's and the district's, cut to the street"
        assert list(listed("cv_neighbour")) == ["health", "masks"], "not another street's draft"
        assert list(listed("cv_xuhui")) == ["masks", "rent"]
        masks = collection(any_world, "masks")
        for row in official.values():
            assert (row["unit_code"], row["day"]) == (any_world.street, D)
        want = status(s, masks, D, "street", {any_world.street})[0]
        assert {k: official["masks"][k] for k in want if k in qc.STATUS_COUNTS} == {k: want[k] for k in qc.STATUS_COUNTS}
        assert "expected" not in official["draft"]
        assert [k for k, r in official.items() if r["editable"]] == ["draft"], "the builder only inside one's scope"
        assert [k for k, r in listed("cv_admin").items() if r["editable"]] == ["health", "masks", "draft"]
        assert not any(r["editable"] for r in listed("cv_analyst").values())
        rent = listed("cv_admin")["rent"]
        assert (rent["day"], rent["unit_code"]) == (date(2020, 2, 14), XUHUI), "a closed collection's last day"
        builtin = {r["key"]: r for r in qc.builtin_rows(s, divs, campaign, CHANGNING, D)}
        figures = {u["code"]: u for u in summary(s, D, "district")}[CHANGNING]
        assert (builtin["reopening"]["answered"], builtin["reopening"]["expected"]) == (figures["reported"], figures["enterprises"])
        assert builtin["reopening"]["completion_rate"] == figures["reporting_coverage"]
        assert builtin["staff"]["people"] == figures["returning_staff"]


def test_who_may_launch_collections() -> None:
    for role, may in (("admin", True), ("city", True), ("district", True), ("street", True), ("analyst", False)):
        assert access.may_launch_collections(Account(1, "x", None, role, config.CITY_CODE, True)) is may
    assert access.may_launch_collections(None) is False


# --------------------------------------------------------------------------- the pages, cut to the scope on the server


def test_the_list_page_shows_the_collections_with_their_completion_and_the_built_in_ones(cv_world: World,
                                                                                        server: flask.Flask) -> None:
    leader = client_of(server, "cv_leader")
    page = rendered_page(leader, "/collections", f"?day={DAY}")
    for words in ("长宁区 · 信息收集", "口罩需求登记表", "员工健康日报", "楼宇消杀登记", "企业复工申报", "返岗人员登记",
                  "新建信息收集", "/collections/new", "市经济信息化委", "每日 10:00 前", f"/collections/view?id={cv_world.ids['masks']}"):
        assert words in page, words
    assert "租金减免申请" not in page
    analyst = rendered_page(client_of(server, "cv_analyst"), "/collections", f"?day={DAY}&unit={CHANGNING}")
    assert "口罩需求登记表" in analyst and "新建信息收集" not in analyst and "楼宇消杀登记" not in analyst
    assert "信息收集" in in_session(client_of(server, "cv_analyst"), lambda: [p["name"] for p in dashboard_app.nav_pages()])


def test_a_collection_view_shows_its_figures_missing_list_summaries_and_answers(cv_world: World,
                                                                                server: flask.Flask) -> None:
    admin = client_of(server, "cv_admin")
    query = search(cv_world, "masks", CHANGNING)
    page = rendered_page(admin, "/collections/view", query)
    with Session(cv_world.engine) as s:
        want = status(s, collection(cv_world, "masks"), D, "district", {CHANGNING})[0]
    assert f"长宁区 · 口罩需求登记表 · {DAY}" in page and f'"data": "{query}"' in page
    for key in ("expected", "answered", "on_time"):
        assert f'"id": "fig-{key}"' in page and f'"children": "{want[key]:,}"' in page
    assert f'"children": "{want["completion_rate"] * 100:.1f}%"' in page
    shown = {name: part(admin, name, query) for name in PARTS}
    assert "各街镇完成率" in shown["cv-where"] and "cv-map" in shown["cv-where"] and "完成率" in shown["cv-where"]
    assert f"未填报（{want['expected'] - want['answered']:,} 家" in shown["cv-missing"]
    assert "follow-save" in shown["cv-missing"], "the building's follow-up as on 漏报"
    assert all(words in shown["cv-summary"] for words in ("字段汇总", "需求数量(只)", "办公面积(平方米)", "口罩类型", "所需物资"))
    assert f"填报内容（{want['answered']:,} 家）" in shown["cv-answers-box"] and "cv-answers" in shown["cv-answers-box"]
    street = rendered_page(admin, "/collections/view", search(cv_world, "masks", cv_world.street))
    assert "cv-buildings" in part(admin, "cv-where", search(cv_world, "masks", cv_world.street)), "a street's buildings"
    assert "page-refused" not in street


def test_a_collection_out_of_reach_says_no_and_shows_nothing(cv_world: World, server: flask.Flask) -> None:
    official, analyst = client_of(server, "cv_official"), client_of(server, "cv_analyst")
    for client, key in ((official, "rent"), (analyst, "draft"), (client_of(server, "cv_neighbour"), "draft"),
                        (client_of(server, "cv_xuhui"), "health")):
        title = collection(cv_world, key).title
        page = rendered_page(client, "/collections/view", search(cv_world, key))
        assert "无权查看" in page and "page-refused" in page and title not in page
        for name in PARTS:
            answer = part(client, name, search(cv_world, key))
            assert "无权查看" in answer and title not in answer, name
        assert "无权查看" in missing_page(client, search(cv_world, key), 2)
    for junk in ("?id=999999", "?id=abc", "?id=", "", "?id=1%20OR%201=1", "?id=-1"):
        assert "无权查看" in rendered_page(official, "/collections/view", junk)
        assert "无权查看" in part(official, "cv-answers-box", junk)


def test_a_street_official_reads_only_their_street_whatever_the_address_or_callback_says(
        cv_world: World, server: flask.Flask) -> None:
    names = street_names(cv_world)
    mine, theirs = names[cv_world.street], names[cv_world.other]
    official = client_of(server, "cv_official")
    for unit in (cv_world.other, CHANGNING, config.CITY_CODE, XUHUI, None):
        query = search(cv_world, "masks", unit)
        page = rendered_page(official, "/collections/view", query)
        assert f"{mine} · 口罩需求登记表" in page and theirs not in page, unit
        for name in PARTS:
            assert theirs not in part(official, name, query), (unit, name)
        cards = missing_page(official, query)
        assert mine in cards and theirs not in cards
        answers = grid_rows(part(official, "cv-answers-box", query))
        assert answers and {r["@street"] for r in answers} == {mine}
    query = search(cv_world, "health", cv_world.street)
    assert f"{theirs} · 员工健康日报" in rendered_page(client_of(server, "cv_neighbour"), "/collections/view", query)
    assert {r["@street"] for r in grid_rows(part(client_of(server, "cv_neighbour"), "cv-answers-box", query))} == {theirs}

    made = in_session(official, _export, cv_world.ids["masks"], cv_world.other)
    assert made is not None
    data, name = made
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    streets = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True) if row[1]}
    assert streets == {mine} and name == f"口罩需求登记表_{mine}_{DAY}.xlsx"
    assert in_session(official, _export, cv_world.ids["rent"], XUHUI) is None
    with Session(cv_world.engine) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "collection", AuditEntry.actor == "cv_official")).one()
    assert (entry.scope_code, entry.day, entry.personal) == (cv_world.street, DAY, True)
    assert json.loads(entry.detail)["op"] == "export" and entry.rows == sheet.max_row - 1


def grid_rows(answer: str) -> list[dict[str, Any]]:
    """The rows of the answers' grid in a callback's answer."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "rowData" in node:
                found.extend(node["rowData"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(answer))
    return found


def _export(ident: int, unit: str) -> tuple[bytes, str] | None:
    """The view page's export hook (its ``export`` in dash.page_registry), as the shell's 导出 Excel would call it."""
    hook = dashboard_app.page_at("/collections/view")["export"]
    with context.session() as s:
        view = context.current_view(s, unit, DAY)
        made = hook(s, view, {"id": str(ident), "unit": unit, "day": DAY})
        s.commit()
    return made


def test_contacts_and_answers_are_masked_unless_the_user_may_see_them(cv_world: World, server: flask.Flask) -> None:
    with Session(cv_world.engine) as s:
        phones = {p for p in s.scalars(select(Building.owner_phone).where(Building.street_code == cv_world.street)) if p}
    query = search(cv_world, "masks", cv_world.street)
    shown = {}
    for who in ("cv_analyst", "cv_official", "cv_granted"):
        client = client_of(server, who)
        shown[who] = (part(client, "cv-missing", query), part(client, "cv-answers-box", query))
    assert not any(p in shown["cv_analyst"][0] for p in phones) and "****" in shown["cv_analyst"][0]
    assert "联系人、电话已脱敏" in shown["cv_analyst"][0] and "姓名、电话已脱敏" in shown["cv_analyst"][1]
    assert any(p in shown["cv_official"][0] for p in phones) and "已脱敏" not in shown["cv_official"][0]
    assert any(p in shown["cv_granted"][0] for p in phones)
    masked, plain = grid_rows(shown["cv_analyst"][1]), grid_rows(shown["cv_official"][1])
    assert len(masked) == len(plain) > 0 and grid_rows(shown["cv_granted"][1]) == plain
    assert all("****" in r["phone"] and r["contact"][1:] == "*" * (len(r["contact"]) - 1) for r in masked)
    assert all(len(r["phone"]) == 11 and "*" not in r["phone"] and "*" not in r["contact"] for r in plain)
    assert all(r["person"][6:14] == "********" for r in masked + plain), "resident IDs only ever masked"
    with Session(cv_world.engine) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "personal_view",
                                                     AuditEntry.actor == "cv_official")).all()
    assert {json.loads(e.detail)["what"] for e in entries} >= {f"信息收集#{cv_world.ids['masks']}填报内容",
                                                               f"信息收集#{cv_world.ids['masks']}未填报楼宇业主联系人"}


def save_follow_up(client: Any, building: int, query: str) -> str:
    """What 保存 on a building card posts: 漏报's own follow-up callback answers it."""
    ident = {"building": building, "type": "follow-save"}
    output = next(d["output"] for d in client.get("/_dash-dependencies").get_json() if "follow-state" in d["output"])
    resp = client.post("/_dash-update-component", json={
        "output": output, "outputs": {"id": {"building": building, "type": "follow-state"}, "property": "children"},
        "inputs": [{"id": ident, "property": "n_clicks", "value": 1}],
        "state": [{"id": ident, "property": "id", "value": ident},
                  {"id": {"building": building, "type": "follow-status"}, "property": "value", "value": "called"},
                  {"id": {"building": building, "type": "follow-note"}, "property": "value", "value": "已电话联系业主"},
                  {"id": "_pages_location", "property": "search", "value": query}],
        "changedPropIds": [json.dumps(ident, separators=(",", ":")) + ".n_clicks"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json(), ensure_ascii=False)


def test_a_follow_up_is_recorded_from_the_missing_list_as_on_the_missing_page(cv_world: World,
                                                                               server: flask.Flask) -> None:
    query = search(cv_world, "health", cv_world.street)
    with Session(cv_world.engine) as s:
        divs = q.load_divisions(s)
        reach = qc.reach_of(divs, cv_world.street, collection(cv_world, "health"), cv_world.street, D)
        building = next(g["building_id"] for g in qc.missing(s, divs, reach, contacts=False).page if g["building_id"])
    assert "无权修改该楼宇" in save_follow_up(client_of(server, "cv_neighbour"), building, query)
    official = client_of(server, "cv_official")
    assert "已致电" in save_follow_up(official, building, query)
    assert "已致电 · 已电话联系业主" in part(official, "cv-missing", query)
    with Session(cv_world.engine) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "follow_up")).one()
    assert (entry.actor, entry.scope_code, json.loads(entry.detail)["building_id"]) == ("cv_official", cv_world.street, building)


# --------------------------------------------------------------------------- speed


def test_each_callback_of_a_city_wide_collection_is_fast(cv_world: World, server: flask.Flask) -> None:
    """The page's render and each of its parts, for the city and a street (generous bounds for a shared machine; the
    report's timings are of the full demo city)."""
    admin = client_of(server, "cv_admin")
    for unit in (None, cv_world.street):
        query = search(cv_world, "masks", unit)
        for step in (lambda q=query: rendered_page(admin, "/collections/view", q), lambda q=query: missing_page(admin, q, 2),
                     *[lambda name=name, q=query: part(admin, name, q) for name in PARTS]):
            step()
            began = time.perf_counter()
            step()
            assert time.perf_counter() - began < 1.0, unit


# --------------------------------------------------------------------------- in chromium


@pytest.mark.slow
@pytest.mark.browser
def test_the_pages_in_chromium_at_desktop_and_phone_width(browser: WebDriver, site: Site) -> None:
    """The demo site gets a collection of 徐汇区 (no other browser test reads 徐汇区's QR forms) with answers; the list
    and the view load without console errors or sideways scrolling, a bar click goes down a level keeping the
    collection; screenshots at 1280 and 390 px under the site's screens/."""
    engine = make_engine(site.db_url)
    with Session(engine) as s, s.begin():
        firms = s.scalars(select(Enterprise.id).where(Enterprise.street_code.like(f"{XUHUI}%"), Enterprise.kind != SHOP_KIND,
                                                      Enterprise.status == CONFIRMED).order_by(Enterprise.id)).all()
        made = collect(s, "口罩需求登记表（浏览器）", XUHUI, MASK_FIELDS[:5], [OPEN], department="徐汇区经委",
                       start="2020-02-17", end=DAY)
        rng = random.Random(3)
        who = rng.sample(list(firms), len(firms) * 2 // 3)
        answer(s, made, who, mask_answers(rng, len(who))[["masks", "area", "reopened", "kind", "needs"]],
               [datetime(2020, 2, 18, 9) + timedelta(minutes=7 * i) for i in range(len(who))], "browser")
        ident = made.id
    engine.dispose()
    browser_login(browser, site, "admin", "onenet-admin-2020")
    for width, height in ((1280, 900), (390, 844)):
        set_viewport(browser, width, height)
        open_page(browser, site, f"/collections?day={DAY}&unit={XUHUI}", "信息收集")
        assert "口罩需求登记表（浏览器）" in browser.find_element(By.ID, "collections-open").text
        assert browser.find_element(By.ID, "builtin-reopening").is_displayed()
        _shoot(browser, site, f"collections_{width}.png")
        browser.find_element(By.ID, f"collection-{ident}").find_element(By.CSS_SELECTOR, "a.cl-title").click()
        assert wait_title(browser, "口罩需求登记表（浏览器）").startswith("徐汇区 · ")
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cv-answers .ag-row"))
        _shoot(browser, site, f"collection_view_{width}.png")
    set_viewport(browser, 1280, 900)
    bar = WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cv-bars .barlayer .point path"))
    ActionChains(browser).move_to_element(bar[0]).click().perform()
    WebDriverWait(browser, 30).until(lambda d: re.search(rf"[?&]id={ident}&unit={XUHUI}\d{{3}}&", d.current_url))
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: not d.find_element(By.ID, "page-title").text.startswith("徐汇区 · "))
    street = wait_title(browser)
    assert "口罩需求登记表（浏览器）" in street and not street.startswith("徐汇区 · ")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "cv-buildings"))
    _shoot(browser, site, "collection_view_street_1280.png")
    assert console_errors(browser) == []


def _shoot(browser: WebDriver, site: Site, name: str) -> None:
    """A full-page screenshot, after checking the page does not scroll sideways."""
    time.sleep(0.5)
    overflow = browser.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow, f"{name}: the page scrolls sideways"
    width, height = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    full = browser.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    set_viewport(browser, width, min(full + 50, 6000))
    time.sleep(1.0)  # the grid draws the rows of the taller window
    browser.save_screenshot(str(site.shots / name))
    set_viewport(browser, width, height)


# --------------------------------------------------------------------------- reminders from the view


def push_button(client: Any, query: str) -> str:
    return call(client, "cv-push-result.children", [{"id": "cv-push-btn", "property": "n_clicks", "value": 1}],
                [{"id": "cv-key", "property": "data", "value": query}], "cv-push-btn.n_clicks")


def remind_button(client: Any, query: str) -> str:
    return call(client, "cv-remind-download.data", [{"id": "cv-remind-btn", "property": "n_clicks", "value": 1}],
                [{"id": "cv-key", "property": "data", "value": query}], "cv-remind-btn.n_clicks")


def test_a_street_official_prints_the_list_and_pushes_it_to_the_group_once(cv_world: World, server: flask.Flask) -> None:
    from etl.collection_reminders import set_webhook
    from tests.fixtures.robot import Receiver

    receiver = Receiver()
    try:
        with Session(cv_world.engine) as s, s.begin():
            set_webhook(s, cv_world.street, receiver.url, "tester")
        official = client_of(server, "cv_official")
        query = search(cv_world, "masks", cv_world.street)
        assert "下载催报清单" in part(official, "cv-missing", query)
        answer = push_button(official, query)
        assert "已推送到群" in answer and len(receiver.bodies) == 1
        assert receiver.bodies[0]["text"]["content"].startswith("【口罩需求登记表】")
        listed = json.loads(remind_button(official, query))["response"]["cv-remind-download"]["data"]
        assert listed["filename"].startswith("催报清单_口罩需求登记表_") and listed["base64"]
        # another street's official, a crafted request naming the first street's collection view: nothing pushed
        neighbour = client_of(server, "cv_neighbour")
        assert "已推送" not in push_button(neighbour, query) and len(receiver.bodies) == 1
        analyst = client_of(server, "cv_analyst")
        assert "已推送" not in push_button(analyst, query) and len(receiver.bodies) == 1
        with Session(cv_world.engine) as s:
            pushes = s.scalars(select(AuditEntry).where(AuditEntry.action == "collection",
                                                        AuditEntry.detail.like('%"op": "push"%'))).all()
        assert [p.scope_code for p in pushes] == [cv_world.street]
    finally:
        receiver.close()
        with Session(cv_world.engine) as s, s.begin():
            set_webhook(s, cv_world.street, None, "tester")
