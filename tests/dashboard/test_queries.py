"""The dashboard's query layer on both engines: its figures are `onenet summary`'s, its lists agree with them."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dashboard import queries as q
from etl.aggregate import default_day
from etl.figures import summary
from etl.masking import mask_phone
from etl.database import make_engine
from tests.conftest import ENGINES, demo_database

pytestmark = pytest.mark.slow

DAYS = (date(2020, 2, 9), date(2020, 2, 14), date(2020, 2, 21), date(2020, 2, 28))
FIGURES = ("enterprises", "reopened", "reopening_rate", "shops", "shops_open", "staff_total", "staff_returned",
           "reported", "buildings", "buildings_missing", "returning_staff", "in_quarantine", "timeliness")


@pytest.fixture(scope="module", params=ENGINES)
def city_db(request: pytest.FixtureRequest, demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A copy of the run's small demo city on each engine for every test of this module (they only read, or add
    follow-ups)."""
    with demo_database(demo_build, request.param, tmp_path_factory.mktemp("city")) as url:
        yield url


def test_unit_figures_equal_summary_on_every_level_and_day(city_db: str) -> None:
    with Session(make_engine(city_db)) as s:
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        assert campaign.aggregated
        for day in DAYS:
            for level in ("city", "district", "street"):
                expected = {u["code"]: u for u in summary(s, day, level)}
                for code, want in expected.items():
                    if level != "city" and not want["enterprises"] and not want["returning_staff"]:
                        continue
                    got = q.unit_figures(s, divs, campaign, code, day)
                    assert {k: got[k] for k in FIGURES} == {k: want[k] for k in FIGURES}, (day, level, code)
            districts = {u["code"]: u for u in summary(s, day, "district")}
            for row in q.sub_unit_figures(s, divs, campaign, "310000", day):
                assert row["reopened"] == districts[row["code"]]["reopened"]


def test_a_day_without_rows_of_its_own_reads_the_latest_before_it_and_a_day_before_all_is_live(city_db: str) -> None:
    """The aggregates hold the days a figure can change on (etl.days): any later day shows the figures and
    lists of the latest of them, as summary() computes them; a day before the first is computed live."""
    with Session(make_engine(city_db)) as s:
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        live = replace(campaign, aggregated=False)
        span = (campaign.first + timedelta(days=i) for i in range((campaign.last - campaign.first).days))
        gap = next(d for d in span if d not in campaign.days)
        before, after = campaign.first - timedelta(days=1), campaign.last + timedelta(days=30)
        assert campaign.covers(after) and campaign.as_of(after) == campaign.last and not campaign.covers(before)
        for day in (before, gap, after):
            want = summary(s, day, "city")[0]
            got = q.unit_figures(s, divs, campaign, "310000", day)
            assert {k: got[k] for k in FIGURES} == {k: want[k] for k in FIGURES}, day

        district = next(u for u in summary(s, after, "district") if u["buildings_missing"])
        missing = q.missing_buildings(s, divs, campaign, district["code"], after, limit=10_000)
        assert len(missing) == district["buildings_missing"]
        assert missing == q.missing_buildings(s, divs, live, district["code"], after, limit=10_000)
        figures = q.unit_figures(s, divs, campaign, district["code"], after)
        assert (q.projection(s, divs, campaign, district["code"], after, figures)
                == q.projection(s, divs, live, district["code"], after, figures))
        total, overdue = q.overdue_enterprises(s, divs, district["code"], after)
        assert total and all(r["days_overdue"] == (after - r["planned"]).days > 0 for r in overdue)


def test_pages_open_on_the_last_report_day_and_trends_show_the_days_with_data(city_db: str) -> None:
    with Session(make_engine(city_db)) as s:
        campaign = q.load_campaign(s)
        assert campaign.default_day == default_day(s) == date(2020, 2, 28)
        assert campaign.trend_days(date(2020, 2, 28)) == [d for d in campaign.days if d <= date(2020, 2, 28)]
        assert not campaign.idle_days(), "no month without data inside the demo campaign"


def test_lists_agree_with_the_figures(city_db: str) -> None:
    day = date(2020, 2, 21)
    with Session(make_engine(city_db)) as s, s.begin():
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        district = next(u for u in summary(s, day, "district") if u["buildings_missing"])
        missing = q.missing_buildings(s, divs, campaign, district["code"], day, limit=10_000)
        assert len(missing) == district["buildings_missing"]
        assert [b["silent"] for b in missing] == sorted((b["silent"] for b in missing), reverse=True)
        assert all(divs.ancestor(b["street_code"], "district") == district["code"] for b in missing)
        for source in (campaign, replace(campaign, aggregated=False)):
            pages = [q.missing_buildings(s, divs, source, district["code"], day, limit=3, offset=start)
                     for start in range(0, len(missing) + 3, 3)]
            assert [b for page in pages for b in page] == missing, "the pages of the list hold every building once"

        for figure in ("reopened", "reported", "enterprises", "returning_staff", "in_quarantine", "buildings_missing"):
            p = q.provenance(s, divs, campaign, district["code"], day, figure)
            assert p.total == district[figure], figure
            assert sum(f["count"] for f in p.by_file) == p.total

        first = missing[0]["building_id"]
        q.record_follow_up(s, first, day, "promised", "  明天上午再打  ", "街道工作人员")
        again = q.missing_buildings(s, divs, campaign, district["code"], day, limit=10_000)
        shown = next(b for b in again if b["building_id"] == first)
        assert (shown["status"], shown["note"], shown["set_by"]) == ("已承诺填报", "明天上午再打", "街道工作人员")
        with pytest.raises(ValueError):
            q.record_follow_up(s, first, day, "=cmd", None, "x")


def test_personal_data_is_masked_unless_granted(city_db: str) -> None:
    with Session(make_engine(city_db)) as s:
        divs = q.load_divisions(s)
        day = date(2020, 2, 14)
        masked = q.staff_people(s, divs, "310000", day, personal=False, soon_days=14)
        plain = q.staff_people(s, divs, "310000", day, personal=True, soon_days=14)
        ending = sum(n for _, n in q.staff_breakdown(s, divs, "310000", day, soon_days=14).ending)
        assert masked and len(masked) == min(ending, 300)
        for m, p in zip(masked, plain):
            assert m["id_masked"] == p["id_masked"] and "*" in m["id_masked"] and len(m["id_masked"]) == 18
            if p["name"] and len(p["name"]) > 1:
                assert m["name"] != p["name"] and m["name"] == p["name"][0] + "*" * (len(p["name"]) - 1)
            if p["phone"]:
                assert "****" in m["phone"] and m["phone"] == mask_phone(p["phone"])


def test_the_ledger_of_a_district_holds_its_files_and_rejects_name_fields_in_chinese(city_db: str) -> None:
    with Session(make_engine(city_db)) as s:
        divs = q.load_divisions(s)
        assert q.batches_in_scope(s, divs, "310000") is None
        files = [row["file"] for row in q.ledger(s, q.batches_in_scope(s, divs, "310105"))]
        everything = [row["file"] for row in q.ledger(s, None)]
        total, rejected = q.rejects(s, None)
    assert total and all(r["field"] and not r["field"].isascii() for r in rejected), "fields as their Chinese headers"
    assert any("长宁" in f for f in files)
    assert not any("浦东" in f for f in files) and any("浦东" in f for f in everything)


def test_every_silent_enterprise_is_listed_under_its_building_or_its_street(city_db: str) -> None:
    """Issue 18, defect 8: 未填报企业 counted enterprises of no building that no list showed. The buildings'
    silent enterprises and the 未登记楼宇 groups of the streets add up to the count, on aggregated and live days."""
    with Session(make_engine(city_db)) as s:
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        checked = 0
        for day in (date(2020, 2, 14), date(2020, 3, 15)):
            for unit in summary(s, day, "district"):
                figures = q.unit_figures(s, divs, campaign, unit["code"], day)
                buildings = q.missing_buildings(s, divs, campaign, unit["code"], day, limit=100_000)
                unplaced = q.unplaced_by_street(s, divs, unit["code"], day)
                listed = sum(b["silent"] for b in buildings) + sum(u["silent"] for u in unplaced)
                assert listed == figures["enterprises"] - figures["reported"], (day, unit["code"])
                for u in unplaced:
                    assert divs.ancestor(u["street_code"], "district") == unit["code"]
                    rows = q.unplaced_of_street(s, u["street_code"], day)
                    assert len(rows) == u["silent"] and all(r["name"] for r in rows)
                checked += len(unplaced)
        assert checked, "the demo city has enterprises without a building"
