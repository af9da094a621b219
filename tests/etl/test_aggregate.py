"""The dashboard's pre-aggregated figures equal etl.figures (the definition) on every campaign day, and
stay equal when only the units a load changed are rebuilt."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from etl.aggregate import COUNT_COLUMNS, EVERY_UNIT, mark_stale, refresh_stale, stale_units
from etl.democity.generator import generate
from etl.figures import Day, street_figures
from etl.pipeline import Ingestor
from etl.store import writing
from schemas.aggregates import AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggMeta, AggQuarantine, AggStaff, AggStreetDay, AggStreetPlan
from etl.database import make_engine

pytestmark = pytest.mark.slow

TABLES = (AggStreetDay, AggStaff, AggQuarantine, AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggStreetPlan)


def _stored(engine: Engine) -> dict[str, set[tuple[object, ...]]]:
    with Session(engine) as session:
        return {m.__tablename__: {tuple(getattr(r, c.key) for c in m.__table__.columns if c.key != "id")
                                  for r in session.scalars(select(m))} for m in TABLES}


def _full_refresh(engine: Engine) -> dict[str, set[tuple[object, ...]]]:
    with writing(engine) as session:
        mark_stale(session, [EVERY_UNIT])
        assert refresh_stale(session) is None
    return _stored(engine)


def _loaded_city(engine: Engine, tmp_path: Path, held: str = "") -> tuple[Path, list[Path]]:
    """The small demo city loaded, less the files whose names contain ``held`` (returned)."""
    city = generate(tmp_path / "demo", seed=11, scale=0.05)
    kept = [p for p in sorted(city.inbox.iterdir()) if p.is_file() and not (held and held in p.name)]
    Ingestor(engine, log=lambda m: None).ingest(kept)
    return city.inbox, [p for p in sorted(city.inbox.iterdir()) if p.is_file() and p not in kept]


def test_aggregates_equal_street_figures_every_day(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    _loaded_city(engine, tmp_path)
    with Session(engine) as session:
        meta = session.get(AggMeta, "range")
        assert meta is not None, "ingest refreshes the aggregates"
        assert not stale_units(session)
        stored = {(r.code, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS} for r in session.scalars(select(AggStreetDay))}
        problems = []
        for i in range((meta.last_day - meta.first_day).days + 1):
            day = meta.first_day + timedelta(days=i)
            live = {("" if k is None else k): v for k, v in street_figures(session, Day(day)).items()}
            got = {code: counts for (code, d), counts in stored.items() if d == day}
            for code in set(live) | set(got):
                want = {c: live.get(code, {}).get(c, 0) for c in COUNT_COLUMNS}
                have = got.get(code, dict.fromkeys(COUNT_COLUMNS, 0))
                if want != have:
                    problems.append(f"{day} {code}: live {want} aggregated {have}")
        assert not problems, "\n".join(problems[:10])
        assert any(any(c.values()) for c in stored.values())


def test_rebuilding_the_units_a_load_changed_equals_rebuilding_everything(db_url: str, tmp_path: Path) -> None:
    """Later staff and report files, with people who moved, changed and were listed twice: only their units
    are rebuilt, and the result is what a full rebuild gives."""
    engine = make_engine(db_url)
    inbox, held = _loaded_city(engine, tmp_path, held="返岗人员")
    staff = pd.read_csv(held[0], dtype=str, header=None, keep_default_na=False)
    is_person = staff[2].str.fullmatch(r"[0-9]{17}[0-9X]")
    changed = staff[is_person].iloc[:10].copy()
    changed[8], changed[9], changed[10], changed[11] = "湖南长沙", "2020-02-03", "居家隔离", "2020-02-17"
    twice = changed.iloc[:1].copy()
    twice[8] = "江西南昌"
    pd.concat([staff, changed, twice], ignore_index=True).to_csv(tmp_path / "返岗人员更新.csv", index=False,
                                                                 header=False, encoding="utf-8")
    messages: list[str] = []
    results = Ingestor(engine, log=messages.append).ingest([tmp_path / "返岗人员更新.csv", *held[1:3]])
    assert all(r.status == "loaded" for r in results), results
    assert "refreshing dashboard aggregates" in messages
    after = _stored(engine)
    assert after["agg_staff"]
    assert _full_refresh(engine) == after


def test_a_load_that_changes_nothing_rebuilds_nothing(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    inbox, _ = _loaded_city(engine, tmp_path)
    with Session(engine) as session:
        refreshed = session.get(AggMeta, "range").refreshed_at
    messages: list[str] = []
    results = Ingestor(engine, log=messages.append, reload=True).ingest(sorted(inbox.glob("*返岗人员*"))[:2])
    assert [r.inserted + r.updated for r in results] == [0, 0]
    assert "refreshing dashboard aggregates" not in messages
    with Session(engine) as session:
        assert session.get(AggMeta, "range").refreshed_at == refreshed


def test_units_a_committed_load_changed_stay_marked_until_rebuilt(db_url: str, tmp_path: Path) -> None:
    """A load killed after its commit and before the refresh: its units stay stale, the next run rebuilds them."""
    engine = make_engine(db_url)
    _, held = _loaded_city(engine, tmp_path, held="返岗人员")
    before = _stored(engine)
    loader = Ingestor(engine, log=lambda m: None)
    planned = loader.plan(held[:1])
    assert loader.ingest_file(planned[0].path, planned[0].tables, planned[0].error, planned[0].sha).status == "loaded"
    with Session(engine) as session:
        assert stale_units(session), "the load marked the units it changed"
    assert _stored(engine) == before, "not rebuilt yet"
    Ingestor(engine, log=lambda m: None).ingest([])
    with Session(engine) as session:
        assert not stale_units(session)
    after = _stored(engine)
    assert after != before
    assert _full_refresh(engine) == after
