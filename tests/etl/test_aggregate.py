"""The dashboard's pre-aggregated figures equal etl.figures (the definition) on every campaign day, and
stay equal when only the units a load changed are rebuilt.

One scenario per engine (loading the small demo city is the expensive part): the city without its
returning-staff files; those files with people changed, moved and listed twice; a reload that changes
nothing; a load whose refresh never ran (killed) and the run that rebuilds it.  The far submission starts
from a copy of the run's demo city as `onenet ingest` loaded it (``demo_build`` of tests/conftest.py).
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dashboard import queries as q
from etl import config
from etl.aggregate import COUNT_COLUMNS, EVERY_UNIT, default_day, mark_stale, refresh_stale, stale_units
from etl.database import make_engine
from etl.democity.generator import generate
from etl.democity.inbox import ORIGIN_LONG
from etl.figures import FIGURES, Day, street_figures, summary
from etl.pipeline import Ingestor
from etl.store import writing
from schemas.models import ReturningStaff
from schemas.aggregates import (
    AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggMeta, AggQuarantine, AggStaff, AggStale, AggStreetDay, AggStreetPlan,
)
from tests.fixtures.demo import copy_demo_database

pytestmark = pytest.mark.slow

TABLES = (AggStreetDay, AggStaff, AggQuarantine, AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggStreetPlan)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("city"), seed=11, scale=0.01).inbox


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


def _equal_to_street_figures_every_day(engine: Engine, also: tuple[date, ...] = ()) -> None:
    """Every aggregated day, the day after each (which reads the rows of the latest day before it) and
    ``also``: the stored counts equal street_figures, and the dashboard's figures summary()."""
    with Session(engine) as session:
        campaign = q.load_campaign(session)
        assert campaign.aggregated
        stored = {(r.code, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS} for r in session.scalars(select(AggStreetDay))}
        assert {d for _, d in stored} == set(campaign.days)
        problems = []
        for day in sorted({*campaign.days, *(d + timedelta(days=1) for d in campaign.days), *also}):
            live = {("" if k is None else k): v for k, v in street_figures(session, Day(day)).items()}
            as_of = campaign.as_of(day)
            got = {code: counts for (code, d), counts in stored.items() if d == as_of}
            for code in set(live) | set(got):
                want = {c: live.get(code, {}).get(c, 0) for c in COUNT_COLUMNS}
                if want != got.get(code, dict.fromkeys(COUNT_COLUMNS, 0)):
                    problems.append(f"{day} (as of {as_of}) {code}: live {want} aggregated {got.get(code)}")
        assert not problems, "\n".join(problems[:10])
        assert any(any(c.values()) for c in stored.values())
        divs = q.load_divisions(session)
        for day in also:
            want = summary(session, day, "city")[0]
            got = q.unit_figures(session, divs, campaign, config.CITY_CODE, day)
            assert {k: got[k] for k in FIGURES} == {k: want[k] for k in FIGURES}, day


def _origins_grouped_by_place(engine: Engine) -> None:
    """The demo writes 湖北武汉 and 湖北省武汉市, 重庆万州 and 重庆市万州区: the 按来源地 groups hold each place once,
    under its standard name, with as many people as the stored codes say."""
    with Session(engine) as session:
        last = session.scalar(select(func.max(AggStaff.return_date)))
        grouped = dict(session.execute(select(AggStaff.origin, func.sum(AggStaff.people)).group_by(AggStaff.origin)).all())
        by_code = dict(session.execute(select(ReturningStaff.origin_code, func.count(func.distinct(ReturningStaff.person_key)))
                                       .where(ReturningStaff.is_current.is_(True), ReturningStaff.return_date <= last)
                                       .group_by(ReturningStaff.origin_code)).all())
    assert not set(grouped) & set(ORIGIN_LONG), "no short spelling (湖北武汉) is a group of its own"
    assert {"重庆市万州区", "上海"}.isdisjoint(grouped)
    assert grouped["湖北省武汉市"] == by_code["420100"] > 0 and grouped["重庆市"] == by_code["500000"] > 0


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
    _origins_grouped_by_place(engine)

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


def _submit_today(engine: Engine) -> date:
    """A QR submission made now, as a phone makes it (etl.intake): the report of a silent enterprise."""
    import uuid  # noqa: PLC0415

    from etl.intake import IntakeSettings, building_token, load_building, prepare, submit  # noqa: PLC0415
    from schemas.models import Building, Enterprise, ReopeningReport  # noqa: PLC0415

    with Session(engine) as session:
        silent = (select(Enterprise).where(Enterprise.building_id.is_not(None), Enterprise.kind != "沿街商铺",
                                           ~Enterprise.id.in_(select(ReopeningReport.enterprise_id)))
                  .order_by(Enterprise.id))
        enterprise = session.scalars(silent).first()
        building = session.get(Building, enterprise.building_id)
        info, token = load_building(session, building.id), building_token(building.street_code, building.name_key)
    payload = {"submission_id": str(uuid.uuid4()), "enterprise_id": enterprise.id, "是否复工": "已复工",
               "员工总数": "20", "已返岗人数": "15"}
    assert submit(engine, prepare(payload, info, IntakeSettings()), "api", token).status == "accepted"
    return config.local_now().date()


def test_a_submission_years_after_the_campaign_adds_its_day_and_moves_nothing_else(
        db_url: str, demo_build: Path) -> None:
    """The days aggregated are those a figure changes on, so a report years later costs one day, not
    thousands; the dashboard and the commands still open on the campaign's last report day, every
    campaign day keeps its figures, and the new report counts on its own day."""
    copy_demo_database(demo_build / "onenet.db", db_url)  # the demo city as `onenet ingest` loaded it
    engine = make_engine(db_url)
    with Session(engine) as session:
        before = q.load_campaign(session)
        assert before.default_day == default_day(session) == date(2020, 2, 28)
    campaign_days = _stored(engine)["agg_street_day"]

    today = _submit_today(engine)
    with Session(engine) as session:
        after = q.load_campaign(session)
        assert after.default_day == default_day(session) == date(2020, 2, 28), "a stray far day leaves the default"
        assert after.days == [*before.days, today], "one day more, not the thousands in between"
        assert after.first == before.first and after.last == today
        assert after.covers(date(2020, 2, 10)) and after.as_of(today - timedelta(days=1)) == before.last
        assert after.trend_days(date(2020, 2, 20)) == [d for d in before.days if d <= date(2020, 2, 20)]
        assert after.trend_days(today) == [today], "a trend shows the days of its own run"
        idle = after.idle_days()
        assert idle[0] == before.last + timedelta(days=1) and idle[-1] == today - timedelta(days=1)
        reported = {d: summary(session, d, "city")[0]["reported"] for d in (today - timedelta(days=1), today)}
        assert reported[today] == reported[today - timedelta(days=1)] + 1
    stored = _stored(engine)["agg_street_day"]
    assert {r for r in stored if r[1] != today} == campaign_days, "the campaign days' rows are as they were"
    assert _rebuilt_whole(engine)["agg_street_day"] == stored
    _equal_to_street_figures_every_day(engine, also=(date(2020, 2, 9), date(2023, 6, 1), today, today + timedelta(days=400)))
