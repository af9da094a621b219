"""etl.origins: free-text origins (来源地) → the division code of their prefecture, else province.

The matcher on every spelling the demo writes (short, long, padded), on the ways people write places
(county-level names, municipalities, autonomous prefectures, cities the province governs directly), on
names several places share and on garbage; the labels charts group by; and migration 0005's backfill
of the people an older database already holds (both engines).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from etl.analysis import returning_staff_by_origin_and_week
from etl.database import make_engine
from etl.democity import messy, names
from etl.democity.inbox import ORIGIN_LONG
from etl.origins import origin_code, origin_codes, origin_labels, origin_name, origin_place, places
from schemas import migrate
from schemas.aggregates import AggStale
from schemas.models import ReturningStaff

DEMO = {  # the demo's labels and the place each stands for
    "湖北武汉": "420100", "湖北孝感": "420900", "湖北黄冈": "421100", "安徽阜阳": "341200", "安徽六安": "341500",
    "安徽安庆": "340800", "河南信阳": "411500", "河南周口": "411600", "河南商丘": "411400", "江苏盐城": "320900",
    "江苏南通": "320600", "浙江温州": "330300", "江西上饶": "361100", "四川达州": "511700", "重庆万州": "500000",
    "山东临沂": "371300", "湖南邵阳": "430500", "甘肃天水": "620500", "黑龙江哈尔滨": "230100", "广东广州": "440100",
    "上海本地": "310000",
}


def test_every_spelling_the_demo_writes_names_its_place() -> None:
    assert sorted(DEMO) == sorted(label for label, _, _ in names.ORIGINS)
    rng = np.random.default_rng(5)
    for label, code in DEMO.items():
        spellings = [label, ORIGIN_LONG[label], *messy.pad(np.array([label, ORIGIN_LONG[label]] * 20, dtype=object), rng, 1.0)]
        assert {origin_code(s) for s in spellings} == {code}, label


@pytest.mark.parametrize(("written", "code"), [
    ("湖北省武汉市", "420100"), ("湖北武汉", "420100"), ("武汉", "420100"), ("武汉市", "420100"),
    ("湖北省武汉市江汉区", "420100"), ("武昌区", "420100"), ("湖北武昌", "420100"), ("湖 北 武 汉", "420100"),
    ("中国湖北武汉", "420100"), ("湖北省孝感市汉川市", "420900"),
    ("重庆万州", "500000"), ("重庆市万州区", "500000"), ("万州", "500000"), ("石柱县", "500000"),
    ("北京", "110000"), ("北京市朝阳区", "110000"), ("上海", "310000"),
    ("湖北仙桃", "429004"), ("仙桃市", "429004"), ("新疆石河子", "659001"),
    ("湖北恩施", "422800"), ("恩施州", "422800"), ("黔东南", "522600"), ("内蒙包头", "150200"),
    ("内蒙古自治区包头市", "150200"), ("大兴安岭", "232700"), ("锡林郭勒盟", "152500"),
    ("吉林", "220000"), ("吉林市", "220200"), ("吉林省吉林市", "220200"),
    ("海南", "460000"), ("海南省海口市", "460100"), ("海南藏族自治州", "632500"),
    ("湖北", "420000"), ("湖北省", "420000"), ("香港", "810000"), ("台湾", "710000"),
    ("固始", "411500"), ("从江县", "522600"),             # a county-level name alone: its prefecture
    ("湖北长沙", "420000"),                               # a province with another's city: the province
    ("湖北鼓楼区", "420000"),                             # no such place in the province: the province
    ("鼓楼区", None), ("朝阳区", None),                   # several provinces have one
    ("不详", None), ("无", None), ("境外", None), ("-", None), ("123", None), ("Wuhan", None), ("", None),
    ("　　", None), ("湖", None),
])
def test_origin_code(written: str, code: str | None) -> None:
    assert origin_code(written) == code


def test_standard_names() -> None:
    assert [origin_name(c) for c in ("420100", "500000", "420000", "429004", "632500", None, "999999")] == [
        "湖北省武汉市", "重庆市", "湖北省", "湖北省仙桃市", "青海省海南藏族自治州", None, None]
    assert origin_place("重庆市万州区") == origin_place("随便写的", "500000") == "重庆市"
    assert origin_place("不详") is None and origin_place(None) is None


def test_every_place_of_the_table_is_found_by_its_standard_name() -> None:
    wrong = {name: origin_code(name) for code, name in places().names.items() if origin_code(name) != code}
    assert wrong == {}


def test_labels_merge_spellings_keep_unknown_text_and_map_each_distinct_text_once() -> None:
    texts = pd.Series(["湖北武汉", "湖北省武汉市", " 不详 ", None, "重庆万州", "重庆市万州区", "湖北武汉"] * 1000, dtype=object)
    assert origin_codes(texts).head(7).tolist() == ["420100", "420100", None, None, "500000", "500000", "420100"]
    labels = origin_labels(texts)
    assert labels.value_counts(dropna=False).to_dict() == {"湖北省武汉市": 3000, "重庆市": 2000, "不详": 1000, None: 1000}
    stored = pd.Series(["420900", None, None, None, None, None, None] * 1000, dtype=object)
    assert origin_labels(texts, stored).head(2).tolist() == ["湖北省孝感市", "湖北省武汉市"], "a stored code wins"
    origin_code.cache_clear()
    origin_codes(texts)
    assert origin_code.cache_info().misses == 5


def test_people_stored_before_migration_0005_are_placed_by_their_text(db_url: str) -> None:
    """An older database: its people get no code from the migration (a schema migration does not import
    the ETL), every unit's aggregates are marked stale, and every reader places them by their text."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0004")
        for i, origin in enumerate(["湖北武汉", "湖北省武汉市", "重庆市万州区", "不详", None]):
            conn.execute(text("INSERT INTO returning_staff (person_key, id_hash, id_masked, origin, return_date, batch_id,"
                              " is_current) VALUES (:k, :h, '420106********1234', :o, :d, 1, :c)"),
                         {"k": i, "h": bytes([i]) * 32, "o": origin, "d": date(2020, 2, 3), "c": True})
    migrate.upgrade(engine)
    with Session(engine) as session:
        assert set(session.scalars(select(ReturningStaff.origin_code))) == {None}
        assert session.execute(select(AggStale.code, AggStale.staff)).all() == [("*", True)]
    weeks = returning_staff_by_origin_and_week(engine=engine)
    assert dict(zip(weeks["origin"], weeks["people"])) == {"湖北省武汉市": 2, "重庆市": 1, "不详": 1, "未填写": 1}
    engine.dispose()


def test_migration_0005_on_a_database_without_people_marks_nothing(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        assert session.execute(select(AggStale.code)).all() == []
    engine.dispose()
