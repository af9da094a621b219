"""The figures kept per building and day (etl.collection_summary) follow the data by the stale-mark rule: what
changes a collection's figures marks them in its own transaction, the collection is counted live until the refresh,
and the refresh rebuilds only the marked streets. The world is tests/etl/test_collections.py's."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.aggregate import refresh_stale
from etl.collection_figures import status, stored
from etl.collections import NewAnswer, amend, create, definition_of, set_status, store_answers
from etl.database import make_engine
from etl.store import writing
from schemas.collection_tables import Collection, CollectionFigure, CollectionStale
from schemas.collections import CollectionDef, FieldDef
from schemas.models import Enterprise
from tests.conftest import ENGINES
from tests.etl.test_collections import U, write_world
from tests.fixtures.messy import make_uscc
from tests.fixtures.sheets import CHANGNING, ENTERPRISE_HEADER, JSL, LJZ, PUDONG, XHL, load_inbox, loaded_world, write_xlsx

D10, D11 = date(2020, 2, 10), date(2020, 2, 11)
MASKS = {"key": "masks", "label": "需求数量(只)", "type": "integer"}


@pytest.fixture(scope="module", params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    with loaded_world(request.param, tmp_path_factory.mktemp("collection_summary"), write_world) as url:
        engine = make_engine(url)
        yield url, engine
        engine.dispose()


def launch(engine: Engine, title: str, scope: str) -> int:
    with writing(engine) as s:
        c = create(s, CollectionDef.model_validate({"title": title, "scope": scope, "start": "2020-02-10",
                                                    "end": "2020-02-11", "fields": [MASKS]}), created_by="tester")
        set_status(c, "open")
        assert not stored(s, c, D11)  # opened: counted live until its figures are built
        refresh_stale(s)
        assert stored(s, c, D11)
        return c.id


def answer(engine: Engine, ident: int, uscc: str, masks: int, at: datetime, sid: str) -> None:
    with writing(engine) as s:
        who = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
        store_answers(s, s.get(Collection, ident), [NewAnswer(who, {"masks": masks}, at, "api", sid)])


def figures(engine: Engine, ident: int, day: date = D11) -> tuple[bool, list[tuple[Any, ...]]]:
    with Session(engine) as s:
        c = s.get(Collection, ident)
        return stored(s, c, day), [(r["code"], r["expected"], r["answered"], r["on_time"])
                                   for r in status(s, c, day, "street")]


def rows_of(engine: Engine, ident: int) -> dict[tuple[date, str], set[int]]:
    with Session(engine) as s:
        out: dict[tuple[date, str], set[int]] = {}
        for i, day, street in s.execute(select(CollectionFigure.id, CollectionFigure.day, CollectionFigure.street_code)
                                        .where(CollectionFigure.collection_id == ident)):
            out.setdefault((day, street), set()).add(i)
        return out


def test_an_answer_is_counted_at_once_and_rebuilds_only_its_street(world: tuple[str, Engine]) -> None:
    _, engine = world
    ident = launch(engine, "长宁口罩", CHANGNING)
    # expected: 江苏路 甲 乙 丁 戊 (晚到 from the 12th), 新华路 己
    assert figures(engine, ident) == (True, [(JSL, 4, 0, 0), (XHL, 1, 0, 0)])
    before = rows_of(engine, ident)
    answer(engine, ident, U[1], 100, datetime(2020, 2, 10, 9), "s-1")
    assert figures(engine, ident) == (False, [(JSL, 4, 1, 1), (XHL, 1, 0, 0)])  # live until the refresh
    with writing(engine) as s:
        refresh_stale(s)
        assert not s.scalars(select(CollectionStale)).all()
    assert figures(engine, ident) == (True, [(JSL, 4, 1, 1), (XHL, 1, 0, 0)])
    after = rows_of(engine, ident)
    assert {k: v for k, v in after.items() if k[1] == XHL} == {k: v for k, v in before.items() if k[1] == XHL}
    assert all(after[k].isdisjoint(before[k]) for k in after if k[1] == JSL)
    assert figures(engine, ident, D10) == (True, [(JSL, 4, 1, 1), (XHL, 1, 0, 0)])


def test_an_amended_collection_is_counted_live_until_rebuilt(world: tuple[str, Engine]) -> None:
    _, engine = world
    ident = launch(engine, "长宁口罩（修订）", CHANGNING)
    answer(engine, ident, U[6], 30, datetime(2020, 2, 11, 9), "a-1")
    with writing(engine) as s:
        refresh_stale(s)
        c = s.get(Collection, ident)
        old = definition_of(c)
        new = old.model_copy(update={"fields": [*old.fields, FieldDef(key="note", label="备注", type="text")]})
        amend(s, c, new, by="tester")
        assert not stored(s, c, D11)
        refresh_stale(s)
        assert stored(s, c, D11)
    assert figures(engine, ident) == (True, [(JSL, 4, 0, 0), (XHL, 1, 1, 1)])


def test_a_registry_load_marks_every_collection_of_its_streets(world: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = world
    ident = launch(engine, "浦东口罩", PUDONG)
    assert figures(engine, ident) == (True, [(LJZ, 3, 0, 0)])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_xlsx(inbox / "名录补充.xlsx", [ENTERPRISE_HEADER, ["上海壬有限公司", make_uscc("91310115MA1CL0099"),
                                                         "陆家嘴中心", "陆家嘴", "浦东", "企业"]])
    load_inbox(url, inbox)  # the ingest refreshes at the end of its run
    assert figures(engine, ident) == (True, [(LJZ, 4, 0, 0)])
