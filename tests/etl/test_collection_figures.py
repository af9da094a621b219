"""A collection's figures (etl.collection_figures) against counts worked out by hand from the world of
tests/etl/test_collections.py (its ``write_world`` docstring lists every respondent) and the answers below.

Reading of docs for the counts: expected = the collection's respondents registered and confirmed by the end of
the day (a pending enterprise never; 上海晚到 from 2020-02-12 on); answered = an answer for the day's period
given before the end of the day; on time = the first such answer came by the deadline (a one-off collection:
the end of its last day; a daily one: 10:00 of the day, 10:00:00 itself on time); rates roll up as sums of
numerators and denominators, never as averages of rates.

Every test runs twice: counted live from the answers (the collections marked stale) and read from the figures
etl.collection_summary keeps (after the refresh); both must give the hand-counted figures.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.aggregate import refresh_stale
from etl.collection_figures import (
    field_summaries,
    latest_answers,
    missing_respondents,
    status,
    stored,
)
from etl.collections import EVERY_STREET, NewAnswer, create, mark_figures_stale, set_status, store_answers
from etl.store import writing
from etl.database import make_engine
from schemas.collection_tables import Collection
from schemas.collections import CLOSED, OPEN, CollectionDef
from schemas.models import Building, Enterprise, FollowUp
from tests.conftest import ENGINES
from tests.etl.test_collections import CITY, U, write_world
from tests.fixtures.sheets import CHANGNING, JSL, LJZ, PUDONG, XHL, loaded_world

D9, D10, D11, D12 = date(2020, 2, 9), date(2020, 2, 10), date(2020, 2, 11), date(2020, 2, 12)
JIA, YI, DING, WU, NOODLES = "上海甲有限公司", "上海乙有限公司", "上海丁有限公司", "上海戊有限公司", "甲记面馆"
JI, STORE = "上海己有限公司", "新华便利店"
BING, GENG, XIN, FRUIT = "上海丙有限公司", "上海庚有限公司", "上海辛有限公司", "乙记水果店"
PENDING, LATE = "上海新来科技有限公司", "上海晚到有限公司"
USCC = {JIA: U[1], YI: U[2], DING: U[3], WU: U[4], NOODLES: U[5], JI: U[6], STORE: U[7], BING: U[8], GENG: U[9],
        XIN: U[10], FRUIT: U[11]}

MASKS = {"key": "masks", "label": "需求数量(只)", "type": "integer", "required": True}
REOPENED = {"key": "reopened", "label": "是否已复工", "type": "yes_no"}
KIND = {"key": "kind", "label": "口罩类型", "type": "choice", "choices": ["医用外科", "N95", "KN95"]}
NEEDS = {"key": "needs", "label": "所需物资", "type": "choices", "choices": ["口罩", "消毒液", "手套"]}
STAFF = {"key": "staff", "label": "在岗人数", "type": "integer"}
HEALTHY = {"key": "healthy", "label": "是否均无发热", "type": "yes_no"}
ONE_OFF = {"start": "2020-02-10", "end": "2020-02-11"}

# (respondent, submitted at, answers), in the order they are stored
ONCE_ANSWERS = [
    (JIA, datetime(2020, 2, 11, 15), {"masks": 150, "reopened": False, "kind": "医用外科", "needs": ["口罩", "手套"]}),
    (JIA, datetime(2020, 2, 10, 9), {"masks": 100, "reopened": True, "kind": "N95", "needs": ["口罩"]}),  # loaded late
    (YI, datetime(2020, 2, 12, 9), {"masks": 20, "reopened": True, "kind": "N95"}),  # after the deadline
    (DING, datetime(2020, 2, 11, 20), {"masks": 30, "reopened": True, "kind": "N95", "needs": ["消毒液"]}),
    (JI, datetime(2020, 2, 11, 8), {"masks": 50, "reopened": False, "kind": "KN95"}),
    (BING, datetime(2020, 2, 10, 10), {"masks": 70, "reopened": True, "kind": "N95", "needs": ["口罩", "消毒液"]}),
    (PENDING, datetime(2020, 2, 10, 11), {"masks": 999, "reopened": True, "kind": "N95"}),  # unknown: 待核实
    (NOODLES, datetime(2020, 2, 11, 9), {"masks": 5}),  # a shop: not asked
    (LATE, datetime(2020, 2, 12, 10), {"masks": 40, "reopened": True, "kind": "N95"}),
]
DAILY_ANSWERS = [
    (JIA, datetime(2020, 2, 11, 9), {"staff": 10, "healthy": True}),
    (YI, datetime(2020, 2, 11, 10, 30), {"staff": 5, "healthy": False}),  # answered, not on time
    (DING, datetime(2020, 2, 10, 9), {"staff": 7, "healthy": True}),  # yesterday's: not today's
    (NOODLES, datetime(2020, 2, 11, 10), {"staff": 2, "healthy": True}),  # at the deadline: on time
    (WU, datetime(2020, 2, 11, 10, 0, 1), {"staff": 6, "healthy": True}),  # a second late
    (JI, datetime(2020, 2, 11, 9, 59), {"staff": 9, "healthy": True}),
    (JI, datetime(2020, 2, 11, 11), {"staff": 11, "healthy": False}),  # overrides the 9:59 answer, which was on time
    (STORE, datetime(2020, 2, 12, 8), {"staff": 3, "healthy": True}),
    (BING, datetime(2020, 2, 11, 9), {"staff": 100, "healthy": True}),  # 陆家嘴: outside 长宁
    (LATE, datetime(2020, 2, 12, 9, 30), {"staff": 4, "healthy": True}),
    (PENDING, datetime(2020, 2, 11, 9), {"staff": 50, "healthy": True}),
]
SHOP_ANSWERS = [
    (NOODLES, datetime(2020, 2, 11, 9), {"open": True}),
    (JIA, datetime(2020, 2, 11, 9), {"open": True}),  # an enterprise: not asked
    (FRUIT, datetime(2020, 2, 12, 9), {"open": False}),
]
BUILDING_ANSWERS = [
    (JIA, datetime(2020, 2, 11, 9), {"masks": 10}),
    (DING, datetime(2020, 2, 11, 9), {"masks": 10}),  # 江苏大楼: not asked
    (PENDING, datetime(2020, 2, 11, 9), {"masks": 10}),
]


@dataclass(frozen=True)
class World:
    engine: Engine
    collections: dict[str, int]
    enterprises: dict[str, int]
    buildings: dict[tuple[str, str], int]  # (street, name) → id


def collect(session: Session, name: str, creator: str | None, answers: list[tuple[str, datetime, dict[str, Any]]],
            ids: dict[str, int], **definition: Any) -> int:
    c = create(session, CollectionDef.model_validate({"title": name} | definition), created_by="tester",
               allowed_scope=creator)
    set_status(c, OPEN)
    store_answers(session, c, [NewAnswer(ids[who], values, at, "api", f"{name}-{i}")
                               for i, (who, at, values) in enumerate(answers)])
    return c.id


@pytest.fixture(scope="module", params=ENGINES)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with loaded_world(request.param, tmp_path_factory.mktemp("collection_figures"), write_world) as url:
        engine = make_engine(url)
        with Session(engine) as s, s.begin():
            ids = {name: i for i, name in s.execute(select(Enterprise.id, Enterprise.name))}
            buildings = {(street, name): i for i, street, name in s.execute(select(Building.id, Building.street_code,
                                                                                   Building.name))}
            made = {
                "once": collect(s, "口罩需求登记表", None, ONCE_ANSWERS, ids, scope=CITY,
                                fields=[MASKS, REOPENED, KIND, NEEDS], **ONE_OFF),
                "daily": collect(s, "每日在岗人数", CHANGNING, DAILY_ANSWERS, ids, scope=CHANGNING, respondents="both",
                                 frequency="daily", start="2020-02-10", end="2020-02-20", fields=[STAFF, HEALTHY]),
                "shops": collect(s, "商铺开业登记", CITY, SHOP_ANSWERS, ids, scope=CITY, respondents="shop",
                                 fields=[{"key": "open", "label": "是否开业", "type": "yes_no"}], **ONE_OFF),
                "building": collect(s, "华鑫大厦口罩需求", CHANGNING, BUILDING_ANSWERS, ids, scope=CHANGNING,
                                    respondents="both", buildings=["华鑫大厦"], fields=[MASKS], **ONE_OFF),
                "building_jsl": collect(s, "江苏路华鑫大厦口罩需求", JSL, BUILDING_ANSWERS, ids, scope=JSL,
                                        respondents="both", buildings=["华鑫大厦"], fields=[MASKS], **ONE_OFF),
            }
            set_status(s.get(Collection, made["shops"]), CLOSED)  # a closed collection keeps its figures
            lujiazui = buildings[(LJZ, "陆家嘴中心")]
            s.add_all([FollowUp(building_id=lujiazui, day=D11, status="promised", note="明天上午填报", set_by="街道甲",
                                set_at=datetime(2020, 2, 11, 16)),
                       FollowUp(building_id=lujiazui, day=D12, status="resolved", note=None, set_by="街道甲",
                                set_at=datetime(2020, 2, 12, 16))])
        yield World(engine, made, ids, buildings)
        engine.dispose()


@pytest.fixture(params=["live", "stored"])
def world(request: pytest.FixtureRequest, built: World) -> World:
    with writing(built.engine) as s:
        if request.param == "stored":
            refresh_stale(s)
            assert stored(s, s.get(Collection, built.collections["once"]), D11)
        else:
            mark_figures_stale(s, None, [EVERY_STREET])
    return built


def figures(world: World, name: str, day: date, level: str = "street", units: set[str] | None = None
            ) -> dict[str, tuple[int, int, int, float | None]]:
    with Session(world.engine) as s:
        rows = status(s, s.get(Collection, world.collections[name]), day, level, units)
    assert all(r["level"] == level for r in rows)
    return {r["code"]: (r["expected"], r["answered"], r["on_time"], r["completion_rate"]) for r in rows}


def names(world: World, name: str, day: date, level: str) -> dict[str, str]:
    with Session(world.engine) as s:
        return {r["code"]: r["name"] for r in status(s, s.get(Collection, world.collections[name]), day, level)}


# --- a one-off collection of the whole city, asking enterprises ------------------------------------

def test_a_one_off_collection_per_street(world: World) -> None:
    assert figures(world, "once", D11) == {
        # expected 甲 乙 丁 戊 (面馆 a shop, 新来 pending, 晚到 not yet registered) = 4;
        # answered 甲 (2-10 09:00), 丁 (2-11 20:00) = 2, both by the end of 2-11; 乙 answered on 2-12
        JSL: (4, 2, 2, 0.5),
        XHL: (1, 1, 1, 1.0),  # 己, answered 2-11 08:00 (便利店 a shop)
        LJZ: (3, 1, 1, 1 / 3),  # 丙 庚 辛; 丙 answered 2-10 10:00
    }
    assert figures(world, "once", D12) == {
        # 晚到 registered 2-12 09:00: expected 5; answered + 乙 (2-12 09:00) + 晚到 (2-12 10:00) = 4, both late
        JSL: (5, 4, 2, 0.8),
        XHL: (1, 1, 1, 1.0),
        LJZ: (3, 1, 1, 1 / 3),
    }
    assert figures(world, "once", D10) == {
        JSL: (4, 1, 1, 0.25),  # only 甲's 2-10 09:00 answer had been given
        XHL: (1, 0, 0, 0.0),
        LJZ: (3, 1, 1, 1 / 3),
    }
    assert figures(world, "once", D9) == {JSL: (4, 0, 0, 0.0), XHL: (1, 0, 0, 0.0), LJZ: (3, 0, 0, 0.0)}
    assert figures(world, "once", D11, units={JSL, LJZ}) == {JSL: (4, 2, 2, 0.5), LJZ: (3, 1, 1, 1 / 3)}


def test_a_one_off_collection_rolls_up_sums_not_averages(world: World) -> None:
    districts = figures(world, "once", D11, "district")
    assert len(districts) == 16, "every district of the city, those without respondents too"
    assert districts[CHANGNING] == (5, 3, 3, 0.6)  # JSL 4 + XHL 1 expected, 2 + 1 answered: 3/5, not (1/2 + 1)/2
    assert districts[PUDONG] == (3, 1, 1, 1 / 3)
    assert {v for c, v in districts.items() if c not in (CHANGNING, PUDONG)} == {(0, 0, 0, None)}
    assert names(world, "once", D11, "district")[CHANGNING] == "长宁区"
    assert figures(world, "once", D11, "city") == {CITY: (8, 4, 4, 0.5)}  # 5 + 3, 3 + 1: 4/8, not the mean 0.61
    assert figures(world, "once", D12, "city") == {CITY: (9, 6, 4, 2 / 3)}  # JSL 5 + 1 + 3; 4 + 1 + 1; on time 2 + 1 + 1
    assert figures(world, "once", D12, "district", {CHANGNING}) == {CHANGNING: (6, 5, 3, 5 / 6)}


# --- a daily collection of a district, asking enterprises and shops --------------------------------

def test_a_daily_collection_counts_each_day_on_its_own_against_ten_oclock(world: World) -> None:
    assert figures(world, "daily", D11) == {
        # expected 甲 乙 丁 戊 面馆 = 5; answered on 2-11: 甲 09:00, 乙 10:30, 面馆 10:00, 戊 10:00:01 = 4
        # (丁 answered on 2-10 only); on time (by 10:00): 甲, 面馆 = 2
        JSL: (5, 4, 2, 0.8),
        # 己 and 便利店; 己 first answered 09:59 (again at 11:00): answered and on time; 便利店 answered on 2-12
        XHL: (2, 1, 1, 0.5),
    }, "陆家嘴 is outside the collection's scope: neither listed nor counted (丙's answer)"
    assert figures(world, "daily", D10) == {JSL: (5, 1, 1, 0.2), XHL: (2, 0, 0, 0.0)}  # 丁 at 09:00
    assert figures(world, "daily", D12) == {
        JSL: (6, 1, 1, 1 / 6),  # + 晚到, who answered 09:30
        XHL: (2, 1, 1, 0.5),  # 便利店 at 08:00
    }
    assert figures(world, "daily", D11, "district") == {CHANGNING: (7, 5, 3, 5 / 7)}
    assert figures(world, "daily", D11, "city") == {CITY: (7, 5, 3, 5 / 7)}
    assert figures(world, "daily", D12, "city") == {CITY: (8, 2, 2, 0.25)}


# --- who is asked: enterprises, shops or both; named buildings ----------------------------------------

def test_a_shop_collection_asks_only_shops(world: World) -> None:
    assert figures(world, "shops", D11) == {
        JSL: (1, 1, 1, 1.0),  # 面馆, 2-11 09:00 (甲's answer is not asked for)
        XHL: (1, 0, 0, 0.0),  # 便利店
        LJZ: (1, 0, 0, 0.0),  # 水果店, answered only on 2-12
    }
    assert figures(world, "shops", D12, "city") == {CITY: (3, 2, 1, 2 / 3)}


def test_a_collection_of_named_buildings_asks_only_their_respondents(world: World) -> None:
    assert figures(world, "building", D11) == {
        JSL: (2, 1, 1, 0.5),  # 江苏路's 华鑫大厦: 甲 (answered), 乙 (新来 pending); 丁 of 江苏大楼 not asked
        XHL: (1, 0, 0, 0.0),  # 新华路's own 华鑫大厦: 便利店
    }
    assert figures(world, "building", D11, "district") == {CHANGNING: (3, 1, 1, 1 / 3)}
    assert figures(world, "building_jsl", D11) == {JSL: (2, 1, 1, 0.5)}, "a street's collection: its own 华鑫大厦 only"
    assert figures(world, "building_jsl", D11, "district") == {CHANGNING: (2, 1, 1, 0.5)}, "the district holding it"
    assert figures(world, "building_jsl", D11, "city") == {CITY: (2, 1, 1, 0.5)}


# --- field summaries: the latest answer of each respondent ----------------------------------------------

def test_field_summaries_take_each_respondents_latest_answer(world: World) -> None:
    def summaries(day: date, level: str, units: set[str] | None = None) -> dict[str, dict[str, Any]]:
        with Session(world.engine) as s:
            return field_summaries(s, s.get(Collection, world.collections["once"]), day, level, units)

    jsl = {"masks": 180,  # 甲's 2-11 answer (150) replaces its 2-10 one (100); + 丁 30
           "reopened": {"否": 1, "是": 1}, "kind": {"医用外科": 1, "N95": 1}, "needs": {"口罩": 1, "手套": 1, "消毒液": 1}}
    xhl = {"masks": 50, "reopened": {"否": 1}, "kind": {"KN95": 1}}  # 己 ticked no needs: no key
    ljz = {"masks": 70, "reopened": {"是": 1}, "kind": {"N95": 1}, "needs": {"口罩": 1, "消毒液": 1}}  # 丙
    assert summaries(D11, "street") == {JSL: jsl, XHL: xhl, LJZ: ljz}, "新来 (999, pending) and 面馆 (a shop) count nowhere"
    assert summaries(D11, "street", {XHL}) == {XHL: xhl}
    assert summaries(D11, "district") == {
        CHANGNING: {"masks": 230, "reopened": {"是": 1, "否": 2}, "kind": {"医用外科": 1, "N95": 1, "KN95": 1},
                    "needs": {"口罩": 1, "手套": 1, "消毒液": 1}},
        PUDONG: ljz}
    assert summaries(D11, "city") == {CITY: {"masks": 300, "reopened": {"是": 2, "否": 2},
                                             "kind": {"医用外科": 1, "N95": 2, "KN95": 1},
                                             "needs": {"口罩": 2, "手套": 1, "消毒液": 2}}}
    # On 2-10 甲's answer of that day is its latest; on 2-12 乙 (20) and 晚到 (40) join: 150 + 20 + 30 + 40
    assert summaries(D10, "street")[JSL] == {"masks": 100, "reopened": {"是": 1}, "kind": {"N95": 1}, "needs": {"口罩": 1}}
    assert summaries(D12, "street")[JSL]["masks"] == 240
    assert summaries(D9, "city") == {}


def test_a_daily_collections_summaries_are_the_days_own(world: World) -> None:
    with Session(world.engine) as s:
        daily = s.get(Collection, world.collections["daily"])
        assert field_summaries(s, daily, D11, "street") == {
            JSL: {"staff": 23, "healthy": {"是": 3, "否": 1}},  # 甲 10, 乙 5, 面馆 2, 戊 6 (丁's is of 2-10)
            XHL: {"staff": 11, "healthy": {"否": 1}},  # 己's 11:00 answer, not its 09:59 one
        }, "丙 (陆家嘴, 100) lies outside the scope"
        assert field_summaries(s, daily, D11, "city") == {CITY: {"staff": 34, "healthy": {"是": 3, "否": 2}}}
        latest = latest_answers(s, daily, D11, streets={XHL})
    assert latest == [(world.enterprises[JI], XHL, world.buildings[(XHL, "新华大楼")], {"staff": 11, "healthy": False})]


# --- the missing list ----------------------------------------------------------------------------------

def missing(world: World, name: str, day: date, streets: set[str] | None = None) -> list[tuple[Any, ...]]:
    """(street, building, owner, contact, phone, silent respondents sorted, follow-up) in the list's order."""
    with Session(world.engine) as s:
        groups = missing_respondents(s, s.get(Collection, world.collections[name]), day, streets)
    for g in groups:
        assert g["id"] == (world.buildings[(g["street_code"], g["name"])] if g["name"] else None)
    return [(g["street_code"], g["name"], g["owner"], g["owner_contact"], g["owner_phone"], sorted(g["silent"]),
             g["follow_up"]) for g in groups]


def silent(*who: str) -> list[tuple[str, str]]:
    return sorted((w, USCC[w]) for w in who)


def test_missing_respondents_by_building_most_silent_first_without_a_building_last(world: World) -> None:
    assert missing(world, "once", D11) == [
        (LJZ, "陆家嘴中心", "陆家嘴物业", "赵经理", "13900000002", silent(GENG, XIN), "promised"),
        (JSL, "华鑫大厦", "华鑫物业", "王经理", "13900000001", silent(YI), None),  # 新来 pending: never missing
        (JSL, None, None, None, None, silent(WU), None),
    ]
    with Session(world.engine) as s:
        group = missing_respondents(s, s.get(Collection, world.collections["once"]), D11)[0]
    assert (group["street"], group["follow_up_note"]) == ("陆家嘴街道", "明天上午填报")
    assert missing(world, "once", D11, {JSL}) == [
        (JSL, "华鑫大厦", "华鑫物业", "王经理", "13900000001", silent(YI), None),
        (JSL, None, None, None, None, silent(WU), None),
    ]
    assert missing(world, "once", D12) == [  # 乙 and 晚到 answered on 2-12; the follow-up of 2-12 is the latest
        (LJZ, "陆家嘴中心", "陆家嘴物业", "赵经理", "13900000002", silent(GENG, XIN), "resolved"),
        (JSL, None, None, None, None, silent(WU), None),
    ]
    assert missing(world, "once", D10) == [  # equal counts: by street, then by building name
        (LJZ, "陆家嘴中心", "陆家嘴物业", "赵经理", "13900000002", silent(GENG, XIN), None),
        (JSL, "华鑫大厦", "华鑫物业", "王经理", "13900000001", silent(YI), None),
        (JSL, "江苏大楼", "江苏物业", "李经理", "13900000003", silent(DING), None),
        (XHL, "新华大楼", "新华物业", "孙经理", "13900000004", silent(JI), None),
        (JSL, None, None, None, None, silent(WU), None),
    ]


def test_missing_respondents_of_a_daily_and_a_building_collection(world: World) -> None:
    assert missing(world, "daily", D11) == [  # 丁 answered yesterday only; 便利店 only tomorrow
        (JSL, "江苏大楼", "江苏物业", "李经理", "13900000003", silent(DING), None),
        (XHL, "华鑫大厦", "新华物业", "周经理", "13900000005", silent(STORE), None),
    ]
    assert missing(world, "daily", D10) == [
        (JSL, "华鑫大厦", "华鑫物业", "王经理", "13900000001", silent(JIA, YI), None),
        (XHL, "华鑫大厦", "新华物业", "周经理", "13900000005", silent(STORE), None),
        (XHL, "新华大楼", "新华物业", "孙经理", "13900000004", silent(JI), None),
        (JSL, None, None, None, None, silent(NOODLES, WU), None),
    ]
    assert missing(world, "shops", D11) == [
        (XHL, "华鑫大厦", "新华物业", "周经理", "13900000005", silent(STORE), None),
        (LJZ, None, None, None, None, silent(FRUIT), None),
    ]
    assert missing(world, "building", D11) == [
        (JSL, "华鑫大厦", "华鑫物业", "王经理", "13900000001", silent(YI), None),
        (XHL, "华鑫大厦", "新华物业", "周经理", "13900000005", silent(STORE), None),
    ]


def test_an_unknown_level_is_refused(world: World) -> None:
    with Session(world.engine) as s, pytest.raises(ValueError, match="level must be one of"):
        status(s, s.get(Collection, world.collections["once"]), D11, "building")
