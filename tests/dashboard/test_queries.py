"""The dashboard's query layer on both engines: its figures are `onenet summary`'s, its lists agree with them."""
from __future__ import annotations

from datetime import date
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from dashboard import queries as q
from etl.democity.generator import generate
from etl.figures import summary
from etl.masking import mask_phone
from etl.pipeline import Ingestor
from etl.database import make_engine
from tests.conftest import ENGINES, empty_database

pytestmark = pytest.mark.slow

DAYS = (date(2020, 2, 9), date(2020, 2, 14), date(2020, 2, 21), date(2020, 2, 28))
FIGURES = ("enterprises", "reopened", "reopening_rate", "shops", "shops_open", "staff_total", "staff_returned",
           "reported", "buildings", "buildings_missing", "returning_staff", "in_quarantine", "timeliness")


@pytest.fixture(scope="module", params=ENGINES)
def city_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The small demo city loaded once per engine for every test of this module (they only read, or add follow-ups)."""
    folder = tmp_path_factory.mktemp("city")
    with empty_database(request.param, folder) as url, pytest.MonkeyPatch.context() as env:
        env.setenv("ONENET_SECRET", "test-secret-not-for-production-use")
        city = generate(folder / "demo", seed=11, scale=0.05)
        Ingestor(make_engine(url), log=lambda m: None).ingest([city.inbox])
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


def test_days_outside_the_aggregates_are_computed_live_with_the_same_rules(city_db: str) -> None:
    day = date(2020, 3, 15)
    with Session(make_engine(city_db)) as s:
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        assert not campaign.covers(day)
        want = summary(s, day, "city")[0]
        got = q.unit_figures(s, divs, campaign, "310000", day)
        assert {k: got[k] for k in FIGURES} == {k: want[k] for k in FIGURES}


def test_lists_agree_with_the_figures(city_db: str) -> None:
    day = date(2020, 2, 21)
    with Session(make_engine(city_db)) as s, s.begin():
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        district = next(u for u in summary(s, day, "district") if u["buildings_missing"])
        missing = q.missing_buildings(s, divs, campaign, district["code"], day, limit=10_000)
        assert len(missing) == district["buildings_missing"]
        assert [b["silent"] for b in missing] == sorted((b["silent"] for b in missing), reverse=True)
        assert all(divs.ancestor(b["street_code"], "district") == district["code"] for b in missing)

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
