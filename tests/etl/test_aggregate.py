"""The dashboard's pre-aggregated figures equal etl.figures (the definition) on every campaign day, and
stay equal when only the units a load changed are rebuilt.

One scenario per engine (loading the small demo city is the expensive part): the city without its
returning-staff files; those files with people changed, moved and listed twice; a reload that changes
nothing; a load whose refresh never ran (killed) and the run that rebuilds it.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from etl.aggregate import COUNT_COLUMNS, EVERY_UNIT, mark_stale, refresh_stale, stale_units
from etl.database import make_engine
from etl.democity.generator import generate
from etl.figures import Day, street_figures
from etl.pipeline import Ingestor
from etl.store import writing
from schemas.aggregates import (
    AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggMeta, AggQuarantine, AggStaff, AggStale, AggStreetDay, AggStreetPlan,
)

pytestmark = pytest.mark.slow

TABLES = (AggStreetDay, AggStaff, AggQuarantine, AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggStreetPlan)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("city"), seed=11, scale=0.05).inbox


def _stored(engine: Engine) -> dict[str, set[tuple[object, ...]]]:
    with Session(engine) as session:
        return {m.__tablename__: {tuple(getattr(r, c.key) for c in m.__table__.columns if c.key != "id")
                                  for r in session.scalars(select(m))} for m in TABLES}


def _rebuilt_whole(engine: Engine) -> dict[str, set[tuple[object, ...]]]:
    with writing(engine) as session:
        mark_stale(session, [EVERY_UNIT])
        assert refresh_stale(session) is None
    return _stored(engine)


def _refreshed_at(engine: Engine) -> object:
    with Session(engine) as session:
        return session.get(AggMeta, "range").refreshed_at


def _changed_staff_file(source: Path, out: Path) -> Path:
    """The same register again, ten people changed (origin, return date, quarantine), one of them twice."""
    staff = pd.read_csv(source, dtype=str, header=None, keep_default_na=False)
    changed = staff[staff[2].str.fullmatch(r"[0-9]{17}[0-9X]")].iloc[:10].copy()
    changed[8], changed[9], changed[10], changed[11] = "湖南长沙", "2020-02-03", "居家隔离", "2020-02-17"
    twice = changed.iloc[:1].copy()
    twice[8] = "江西南昌"
    pd.concat([staff, changed, twice], ignore_index=True).to_csv(out, index=False, header=False, encoding="utf-8")
    return out


def _equal_to_street_figures_every_day(engine: Engine) -> None:
    with Session(engine) as session:
        meta = session.get(AggMeta, "range")
        stored = {(r.code, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS} for r in session.scalars(select(AggStreetDay))}
        problems = []
        for i in range((meta.last_day - meta.first_day).days + 1):
            day = meta.first_day + timedelta(days=i)
            live = {("" if k is None else k): v for k, v in street_figures(session, Day(day)).items()}
            got = {code: counts for (code, d), counts in stored.items() if d == day}
            for code in set(live) | set(got):
                want = {c: live.get(code, {}).get(c, 0) for c in COUNT_COLUMNS}
                if want != got.get(code, dict.fromkeys(COUNT_COLUMNS, 0)):
                    problems.append(f"{day} {code}: live {want} aggregated {got.get(code)}")
        assert not problems, "\n".join(problems[:10])
        assert any(any(c.values()) for c in stored.values())


def test_aggregates_follow_every_load_by_rebuilding_only_what_it_changed(db_url: str, city: Path, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    files = [p for p in sorted(city.iterdir()) if p.is_file()]
    held = [p for p in files if "返岗人员" in p.name]
    assert len(held) >= 4
    reports = [p for p in files if "企业复工申报" in p.name]
    held_report = reports[len(reports) // 2]  # a day inside the campaign: the days aggregated stay the same
    Ingestor(engine, log=lambda m: None).ingest([p for p in files if p not in held and p != held_report])
    with Session(engine) as session:
        assert session.get(AggMeta, "range") is not None and not stale_units(session)

    # Later registers, with people changed, moved and listed twice: only their units are rebuilt.
    messages: list[str] = []
    results = Ingestor(engine, log=messages.append).ingest([_changed_staff_file(held[0], tmp_path / "返岗人员更新.csv"),
                                                            *held[1:-1]])
    assert all(r.status == "loaded" for r in results), results
    assert "refreshing dashboard aggregates" in messages
    after = _stored(engine)
    assert after["agg_staff"]
    assert _rebuilt_whole(engine) == after

    # A file of reports leaves the returning-staff figures as they are stored, and rebuilds the rest.
    loader = Ingestor(engine, log=lambda m: None)
    planned = loader.plan([held_report])[0]
    assert loader.ingest_file(planned.path, planned.tables, planned.error, planned.sha).status == "loaded"
    with Session(engine) as session:
        marks = session.execute(select(AggStale.code, AggStale.staff)).all()
    assert marks and not any(staff for _, staff in marks), marks
    Ingestor(engine, log=lambda m: None).ingest([])
    after = _stored(engine)
    assert _rebuilt_whole(engine) == after

    # A reload that changes nothing rebuilds nothing.
    refreshed = _refreshed_at(engine)
    messages = []
    again = Ingestor(engine, log=messages.append, reload=True).ingest(held[1:3])
    assert [r.inserted + r.updated for r in again] == [0, 0]
    assert "refreshing dashboard aggregates" not in messages and _refreshed_at(engine) == refreshed

    # A load whose run was killed before the refresh: its units stay marked, the next run rebuilds them.
    loader = Ingestor(engine, log=lambda m: None)
    planned = loader.plan(held[-1:])[0]
    assert loader.ingest_file(planned.path, planned.tables, planned.error, planned.sha).status == "loaded"
    with Session(engine) as session:
        assert stale_units(session), "the load marked the units it changed"
    assert _stored(engine) == after, "not rebuilt yet"
    Ingestor(engine, log=lambda m: None).ingest([])
    with Session(engine) as session:
        assert not stale_units(session)
    rebuilt = _stored(engine)
    assert rebuilt != after and _rebuilt_whole(engine) == rebuilt

    _equal_to_street_figures_every_day(engine)
