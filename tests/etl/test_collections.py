"""Collections (etl.collections) over a small world loaded through the real pipeline: who may create one, its
lifecycle, amendments once answers exist, answers checked as spreadsheets are and stored once per submission.

The world (``write_world``) is shared with tests/etl/test_collection_figures.py, whose counts are worked out
from it by hand.  Each test here works in a session it never commits, so the tests leave the world as it was.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.collections import (
    CollectionError,
    NewAnswer,
    amend,
    check_answers,
    collections_in,
    create,
    deadline_of,
    definition_of,
    period_of,
    set_status,
    store_answers,
)
from etl.database import make_engine
from etl.identity import identify
from etl.scope import load_scope
from schemas.collection_tables import Collection, CollectionAnswer, CollectionVersion
from schemas.collections import CLOSED, DRAFT, OPEN, CollectionDef
from schemas.models import Enterprise
from tests.conftest import ENGINES
from tests.fixtures.messy import make_id, make_uscc
from tests.fixtures.sheets import (
    BUILDING_HEADER,
    CHANGNING,
    ENTERPRISE_HEADER,
    HUAXIN,
    JSL,
    LJZ,
    LUJIAZUI,
    PUDONG,
    SECRET,
    XHL,
    loaded_world,
    write_inbox,
)

CITY = "310000"
U = [make_uscc(f"91310105MA1CL00{i:02d}") for i in range(14)]
PERSON = "31010519850312108X"  # make_id("310105", "19850312", "108"): a check digit X
OTHER_PERSON = make_id("310115", "19900101", "456")


def write_world(inbox: Path) -> Path:
    """长宁区: 江苏路 (JSL) with 华鑫大厦 and 江苏大楼, 新华路 (XHL) with 新华大楼 and a second 华鑫大厦;
    浦东新区: 陆家嘴 (LJZ) with 陆家嘴中心.  Registered respondents (企业 unless said):

        JSL  上海甲 (华鑫大厦), 上海乙 (华鑫大厦), 上海丁 (江苏大楼), 上海戊 (no building), 甲记面馆 (shop, no building)
        XHL  上海己 (新华大楼), 新华便利店 (shop, XHL's 华鑫大厦)
        LJZ  上海丙, 上海庚, 上海辛 (陆家嘴中心), 乙记水果店 (shop, no building)

    and two more enterprises first named in reports: 上海新来科技 (JSL, 华鑫大厦) through a QR code (提交编号),
    so pending (待核实) and never expected; 上海晚到 (JSL, 江苏大楼) in a report of 2020-02-12 09:00, so
    registered, and expected, from 2020-02-12 on.
    """
    return write_inbox(inbox, {
        "楼宇": [BUILDING_HEADER, HUAXIN,
               ["江苏大楼", "江苏路5号", "江苏路", "长宁", "江苏物业", "李经理", "13900000003"],
               ["新华大楼", "新华路2号", "新华路", "长宁", "新华物业", "孙经理", "13900000004"],
               ["华鑫大厦", "新华路8号", "新华路", "长宁", "新华物业", "周经理", "13900000005"],
               LUJIAZUI],
        "名录": [ENTERPRISE_HEADER,
               ["上海甲有限公司", U[1], "华鑫大厦", "江苏路", "长宁", "企业"],
               ["上海乙有限公司", U[2], "华鑫大厦", "江苏路", "长宁", "企业"],
               ["上海丁有限公司", U[3], "江苏大楼", "江苏路", "长宁", "企业"],
               ["上海戊有限公司", U[4], None, "江苏路", "长宁", "企业"],
               ["甲记面馆", U[5], None, "江苏路", "长宁", "沿街商铺"],
               ["上海己有限公司", U[6], "新华大楼", "新华路", "长宁", "企业"],
               ["新华便利店", U[7], "华鑫大厦", "新华路", "长宁", "沿街商铺"],
               ["上海丙有限公司", U[8], "陆家嘴中心", "陆家嘴", "浦东", "企业"],
               ["上海庚有限公司", U[9], "陆家嘴中心", "陆家嘴", "浦东", "企业"],
               ["上海辛有限公司", U[10], "陆家嘴中心", "陆家嘴", "浦东", "企业"],
               ["乙记水果店", U[11], None, "陆家嘴", "浦东", "沿街商铺"]],
        "申报": [["企业名称", "统一社会信用代码", "所在楼宇", "街道", "区", "是否复工", "填报时间", "提交编号"],
               ["上海新来科技有限公司", U[12], "华鑫大厦", "江苏路", "长宁", "否", "2020-02-10 09:00", "qr-1"],
               ["上海晚到有限公司", U[13], "江苏大楼", "江苏路", "长宁", "否", "2020-02-12 09:00", None]]})


@pytest.fixture(scope="module", params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with loaded_world(request.param, tmp_path_factory.mktemp("collections_world"), write_world) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def session(world: Engine) -> Iterator[Session]:
    """A session over the world whose work is rolled back at the end of the test."""
    with Session(world) as s:
        yield s
        s.rollback()


def enterprise_ids(session: Session) -> dict[str, int]:
    return {name: i for i, name in session.execute(select(Enterprise.id, Enterprise.name))}


MASKS = {"key": "masks", "label": "需求数量(只)", "type": "integer", "required": True, "min": 0, "max": 100000}
REOPENED = {"key": "reopened", "label": "是否已复工", "type": "yes_no"}


def definition(**changes: Any) -> CollectionDef:
    base: dict[str, Any] = {"title": "口罩需求登记表", "department": "区经委", "scope": JSL,
                            "start": date(2020, 2, 10), "end": date(2020, 2, 11), "fields": [MASKS, REOPENED]}
    return CollectionDef.model_validate(base | changes)


def answer(enterprise: int, at: datetime, submission: str | None = None, **values: Any) -> NewAnswer:
    return NewAnswer(enterprise_id=enterprise, answers=values, effective_at=at, source="api", submission_id=submission)


# --- who may create a collection ------------------------------------------------------------------

@pytest.mark.parametrize("creator, scope", [
    (JSL, XHL), (JSL, LJZ), (JSL, CHANGNING), (JSL, CITY), (CHANGNING, LJZ), (CHANGNING, PUDONG), (CHANGNING, CITY),
])
def test_a_collection_is_never_wider_than_its_creators_scope(session: Session, creator: str, scope: str) -> None:
    with pytest.raises(CollectionError, match="超出了您的范围"):
        create(session, definition(scope=scope), created_by="official", allowed_scope=creator)
    assert session.scalar(select(func.count()).select_from(Collection)) == 0
    assert session.scalar(select(func.count()).select_from(CollectionVersion)) == 0


@pytest.mark.parametrize("creator, scope", [
    (JSL, JSL), (CHANGNING, JSL), (CHANGNING, CHANGNING), (CITY, LJZ), (CITY, CITY), (None, CITY),
])
def test_a_collection_inside_the_creators_scope_is_a_draft_at_version_one(session: Session, creator: str | None,
                                                                          scope: str) -> None:
    c = create(session, definition(scope=scope), created_by="official", allowed_scope=creator)
    assert (c.status, c.version, c.scope_code, c.title, c.department) == (DRAFT, 1, scope, "口罩需求登记表", "区经委")
    versions = session.execute(select(CollectionVersion.version, CollectionVersion.definition)
                               .where(CollectionVersion.collection_id == c.id)).all()
    assert [(v, CollectionDef.model_validate_json(d)) for v, d in versions] == [(1, definition(scope=scope))]


def test_an_unknown_scope_or_a_building_outside_the_scope_is_refused(session: Session) -> None:
    with pytest.raises(CollectionError, match="不是已登记的区划代码"):
        create(session, definition(scope="310105999"), created_by="admin")
    with pytest.raises(CollectionError, match="范围内找不到楼宇：江苏大楼"):
        create(session, definition(scope=XHL, buildings=["江苏大楼"]), created_by="admin")
    with pytest.raises(CollectionError, match="范围内找不到楼宇：不存在大厦"):
        create(session, definition(scope=CHANGNING, buildings=["华鑫大厦", "不存在大厦"]), created_by="admin")
    assert create(session, definition(scope=CHANGNING, buildings=["华鑫大厦", "新华大楼"]), created_by="admin").id


# --- lifecycle and amendments -------------------------------------------------------------------

def test_draft_then_open_then_closed_and_no_other_way(session: Session) -> None:
    c = create(session, definition(), created_by="official", allowed_scope=JSL)
    for refused in (CLOSED, DRAFT, "archived"):
        with pytest.raises(CollectionError, match="草稿"):
            set_status(c, refused)
    set_status(c, OPEN)
    for refused in (OPEN, DRAFT):
        with pytest.raises(CollectionError, match="收集中，不能改为"):
            set_status(c, refused)
    set_status(c, CLOSED)
    for refused in (OPEN, DRAFT, CLOSED):
        with pytest.raises(CollectionError, match="已结束"):
            set_status(c, refused)
    assert c.status == CLOSED


def test_a_draft_without_answers_may_change_anything_inside_the_creators_scope(session: Session) -> None:
    c = create(session, definition(), created_by="official", allowed_scope=CHANGNING)
    new = definition(title="口罩需求登记表（修订）", scope=XHL, respondents="both", frequency="daily",
                     fields=[{"key": "gloves", "label": "手套(副)", "type": "integer", "required": True}])
    amend(session, c, new, by="official", allowed_scope=CHANGNING)
    assert (c.version, c.title, c.scope_code, definition_of(c)) == (2, "口罩需求登记表（修订）", XHL, new)
    with pytest.raises(CollectionError, match="超出了您的范围"):
        amend(session, c, definition(scope=LJZ), by="official", allowed_scope=CHANGNING)
    with pytest.raises(CollectionError, match="超出了您的范围"):
        amend(session, c, definition(scope=JSL), by="street official", allowed_scope=XHL)
    assert c.version == 2


def test_once_answers_exist_only_optional_fields_and_choices_may_be_added(session: Session) -> None:
    kind = {"key": "kind", "label": "口罩类型", "type": "choice", "choices": ["医用外科", "N95"]}
    c = create(session, definition(fields=[MASKS, REOPENED, kind]), created_by="official", allowed_scope=JSL)
    set_status(c, OPEN)
    ids = enterprise_ids(session)
    assert store_answers(session, c, [answer(ids["上海甲有限公司"], datetime(2020, 2, 10, 9), masks=100)]) == 1

    refused = {
        "不能删除": definition(fields=[MASKS, kind]),
        "不能改类型或删减选项": definition(fields=[MASKS | {"type": "number"}, REOPENED, kind]),
        "须为选填": definition(fields=[MASKS, REOPENED, kind, {"key": "phone", "label": "联系电话", "type": "phone",
                                                                "required": True}]),
        "范围、填报对象和频次不能再改": definition(scope=XHL, fields=[MASKS, REOPENED, kind]),
        "开始日期不能再改": definition(start=date(2020, 2, 9), fields=[MASKS, REOPENED, kind]),  # its answers' period
    }
    for problem, new in refused.items():
        with pytest.raises(CollectionError, match=problem):
            amend(session, c, new, by="district leader", allowed_scope=CHANGNING)
    for other in ({"respondents": "both"}, {"frequency": "daily"}, {"buildings": ["华鑫大厦"]}):
        with pytest.raises(CollectionError, match="不能再改"):
            amend(session, c, definition(fields=[MASKS, REOPENED, kind], **other), by="official", allowed_scope=JSL)
    assert c.version == 1

    grown = definition(title="口罩需求登记表（补充）", end=date(2020, 2, 12), fields=[
        MASKS, REOPENED, kind | {"choices": ["医用外科", "N95", "KN95"]}, {"key": "note", "label": "备注"}])
    amend(session, c, grown, by="official", allowed_scope=JSL)
    assert (c.version, c.title, definition_of(c)) == (2, "口罩需求登记表（补充）", grown)
    store_answers(session, c, [answer(ids["上海乙有限公司"], datetime(2020, 2, 11, 9), masks=5, kind="KN95")])

    versions = session.execute(select(CollectionVersion.version, CollectionVersion.definition, CollectionVersion.created_by)
                               .where(CollectionVersion.collection_id == c.id)
                               .order_by(CollectionVersion.version)).all()
    assert [(v, CollectionDef.model_validate_json(d), by) for v, d, by in versions] == [
        (1, definition(fields=[MASKS, REOPENED, kind]), "official"), (2, grown, "official")]
    given = session.execute(select(CollectionAnswer.enterprise_id, CollectionAnswer.version)
                            .where(CollectionAnswer.collection_id == c.id).order_by(CollectionAnswer.id)).all()
    assert given == [(ids["上海甲有限公司"], 1), (ids["上海乙有限公司"], 2)], "each answer names its version"


def test_collections_in_a_scope_are_those_inside_it_newest_first(session: Session) -> None:
    made = {scope: create(session, definition(scope=scope, title=f"表{scope}"), created_by="admin").id
            for scope in (CITY, CHANGNING, JSL, XHL, LJZ)}
    set_status(session.get(Collection, made[JSL]), OPEN)

    def seen(code: str, statuses: tuple[str, ...] | None = None) -> list[str]:
        return [c.scope_code for c in collections_in(session, load_scope(session, code), statuses)]

    assert seen(CITY) == [LJZ, XHL, JSL, CHANGNING, CITY]
    assert seen(CHANGNING) == [XHL, JSL, CHANGNING]
    assert seen(JSL) == [JSL] and seen(PUDONG) == [LJZ]
    assert seen(CITY, (OPEN,)) == [JSL] and seen(XHL, (OPEN,)) == []


# --- periods and deadlines ----------------------------------------------------------------------

def test_periods_and_deadlines() -> None:
    once = definition()
    assert period_of(once, datetime(2020, 2, 12, 9)) == date(2020, 2, 10), "a one-off collection has one period"
    assert deadline_of(once, date(2020, 2, 10)) == datetime.combine(date(2020, 2, 11), time.max)
    daily = definition(frequency="daily")
    assert period_of(daily, datetime(2020, 2, 11, 23, 59)) == date(2020, 2, 11)
    assert deadline_of(daily, date(2020, 2, 11)) == datetime(2020, 2, 11, 10)
    assert deadline_of(definition(frequency="daily", deadline="16:30"), date(2020, 2, 12)) == datetime(2020, 2, 12, 16, 30)


# --- answers checked as spreadsheets are ------------------------------------------------------------

EVERY_TYPE = CollectionDef.model_validate({
    "title": "全字段", "scope": CITY, "start": "2020-02-10", "end": "2020-02-11", "fields": [
        {"key": "note", "label": "备注"},
        {"key": "masks", "label": "需求数量", "type": "integer", "required": True, "min": 0, "max": 1000},
        {"key": "temperature", "label": "体温", "type": "number", "min": 35, "max": 42},
        {"key": "day", "label": "复工日期", "type": "date"},
        {"key": "at", "label": "消杀时间", "type": "datetime"},
        {"key": "reopened", "label": "是否已复工", "type": "yes_no"},
        {"key": "kind", "label": "口罩类型", "type": "choice", "choices": ["医用外科", "N95", "KN95"]},
        {"key": "needs", "label": "所需物资", "type": "choices", "choices": ["口罩", "消毒液", "手套"]},
        {"key": "phone", "label": "联系电话", "type": "phone"},
        {"key": "person", "label": "负责人身份证号", "type": "resident_id"},
        {"key": "uscc", "label": "统一社会信用代码", "type": "uscc"},
    ]})


def test_every_field_type_is_checked_and_given_as_json_values() -> None:
    frame = pd.DataFrame([
        {"note": " 楼下 ", "masks": "12", "temperature": "36.5", "day": "2020/2/11", "at": "2020-02-11 09:30",
         "reopened": "是", "kind": "N95", "needs": "手套、口罩", "phone": "+86 138-0013-8000", "person": PERSON,
         "uscc": U[1]},
        {"masks": 12.0, "day": "2月11日", "at": "2020-02-11T01:30:00Z", "reopened": "否", "kind": " KN95 ",
         "needs": "口罩,消毒液", "phone": "021-62345678", "person": PERSON.lower()},
        {"masks": "1000", "temperature": 35, "reopened": True, "needs": "口罩"},
    ])
    rows, errors = check_answers(EVERY_TYPE, frame)
    assert errors == []
    key = identify(pd.Series([PERSON], dtype=object), SECRET.encode()).id_hash[0].hex()
    person = {"masked": "310105********108X", "key": key}
    assert rows[0] == {"note": "楼下", "masks": 12, "temperature": 36.5, "day": "2020-02-11", "at": "2020-02-11T09:30",
                       "reopened": True, "kind": "N95", "needs": ["口罩", "手套"], "phone": "13800138000",
                       "person": person, "uscc": U[1]}
    assert rows[1]["at"] == "2020-02-11T09:30", "a form tool's UTC time is Shanghai time"
    assert (rows[1]["masks"], rows[1]["day"], rows[1]["kind"], rows[1]["needs"]) == (12, "2020-02-11", "KN95", ["口罩", "消毒液"])
    assert rows[1]["person"] == person, "the same person, however the X is typed, is the same key"
    assert rows[2] == {"masks": 1000, "temperature": 35.0, "reopened": True, "needs": ["口罩"]}
    assert json.loads(json.dumps(rows)) == rows, "JSON-ready: no numpy or pandas values"


def test_each_failing_value_and_each_empty_required_field_is_an_error_of_its_row() -> None:
    frame = pd.DataFrame([
        {"masks": "-1", "temperature": "34.9", "day": "2020-02-30", "at": "明天", "reopened": "也许", "kind": "棉布",
         "needs": "口罩、酒精", "phone": "12345", "person": "3101051985031", "uscc": U[1][:-1] + "0"},
        {"masks": None, "temperature": "abc"},
        {"masks": "1001", "temperature": 42.5},
        {"masks": "3.5", "kind": "N95"},
        {"masks": "7"},
    ])
    rows, errors = check_answers(EVERY_TYPE, frame)
    got = {(e.row, e.field): e.code for e in errors}
    assert got == {
        (0, "需求数量"): "int_invalid", (0, "体温"): "out_of_range", (0, "复工日期"): "date_invalid",
        (0, "消杀时间"): "datetime_invalid", (0, "是否已复工"): "bool_invalid", (0, "口罩类型"): "choice_invalid",
        (0, "所需物资"): "choice_invalid", (0, "联系电话"): "phone_invalid", (0, "负责人身份证号"): "id_format",
        (0, "统一社会信用代码"): "uscc_invalid",
        (1, "需求数量"): "required", (1, "体温"): "float_invalid",
        (2, "需求数量"): "out_of_range", (2, "体温"): "out_of_range",
        (3, "需求数量"): "int_invalid",
    }
    messages = {(e.row, e.field): e.message for e in errors}
    assert messages[(0, "口罩类型")] == "不是可选的选项之一：医用外科 / N95 / KN95"
    assert messages[(2, "需求数量")] == "超出允许的范围：应在 0–1000 之间"
    assert messages[(1, "需求数量")].startswith("必填项为空")
    assert rows[0] == {} and rows[3] == {"kind": "N95"} and rows[4] == {"masks": 7}


def test_a_resident_id_is_stored_only_as_its_masked_form_and_keyed_hash(session: Session) -> None:
    c = create(session, definition(fields=[MASKS, {"key": "person", "label": "身份证号", "type": "resident_id"}]),
               created_by="official", allowed_scope=JSL)
    rows, errors = check_answers(definition_of(c), pd.DataFrame([
        {"masks": 1, "person": PERSON}, {"masks": 2, "person": OTHER_PERSON}, {"masks": 3, "person": int(OTHER_PERSON)}]))
    assert [(e.row, e.code) for e in errors] == [(2, "id_stored_as_number")], "an 18-digit number is refused, as in a sheet"
    ids = enterprise_ids(session)
    store_answers(session, c, [answer(ids["上海甲有限公司"], datetime(2020, 2, 10, 9), "s1", **rows[0]),
                               answer(ids["上海乙有限公司"], datetime(2020, 2, 10, 9), "s2", **rows[1])])
    stored = session.execute(text("SELECT * FROM collection_answer")).all()
    everything = "\n".join(str(v) for row in stored for v in row)
    for raw in (PERSON, PERSON.lower(), OTHER_PERSON, PERSON[:17], OTHER_PERSON[:17], PERSON[6:14] + PERSON[14:17]):
        assert raw not in everything
    persons = [json.loads(row.answers)["person"] for row in stored]
    assert [p["masked"] for p in persons] == ["310105********108X", "310115********" + OTHER_PERSON[-4:]]
    assert all(set(p) == {"masked", "key"} and len(p["key"]) == 64 for p in persons)


# --- answers stored once per submission ----------------------------------------------------------

def test_the_same_submission_id_twice_is_one_answer(session: Session) -> None:
    c = create(session, definition(), created_by="official", allowed_scope=JSL)
    other = create(session, definition(title="另一张表"), created_by="official", allowed_scope=JSL)
    ids = enterprise_ids(session)
    jia, yi = ids["上海甲有限公司"], ids["上海乙有限公司"]
    at = datetime(2020, 2, 11, 9)
    assert store_answers(session, c, [answer(jia, at, "phone-1", masks=10), answer(jia, at, "phone-1", masks=10),
                                      answer(yi, at, "phone-2", masks=20)]) == 2
    assert store_answers(session, c, [answer(jia, at, "phone-1", masks=99), answer(yi, at, "phone-3", masks=30)]) == 1
    assert store_answers(session, c, [answer(jia, at, None, masks=1), answer(jia, at, None, masks=1)]) == 2, \
        "without a submission id every answer is new"
    assert store_answers(session, other, [answer(jia, at, "phone-1", masks=10)]) == 1, "ids are per collection"
    stored = session.execute(select(CollectionAnswer.submission_id, CollectionAnswer.answers, CollectionAnswer.period,
                                    CollectionAnswer.source)
                             .where(CollectionAnswer.collection_id == c.id).order_by(CollectionAnswer.id)).all()
    assert [(s, json.loads(a)) for s, a, _, _ in stored] == [
        ("phone-1", {"masks": 10}), ("phone-2", {"masks": 20}), ("phone-3", {"masks": 30}),
        (None, {"masks": 1}), (None, {"masks": 1})]
    assert {p for _, _, p, _ in stored} == {date(2020, 2, 10)}, "a one-off collection's answers are for its start day"
    assert {s for _, _, _, s in stored} == {"api"}


def test_a_daily_collections_answer_is_for_the_day_it_was_given(session: Session) -> None:
    c = create(session, definition(frequency="daily", end=date(2020, 2, 20)), created_by="official", allowed_scope=JSL)
    jia = enterprise_ids(session)["上海甲有限公司"]
    store_answers(session, c, [answer(jia, datetime(2020, 2, 11, 23, 59), masks=1),
                               answer(jia, datetime(2020, 2, 12, 0, 0), masks=2)])
    periods = session.scalars(select(CollectionAnswer.period).where(CollectionAnswer.collection_id == c.id)
                              .order_by(CollectionAnswer.id)).all()
    assert periods == [date(2020, 2, 11), date(2020, 2, 12)]
