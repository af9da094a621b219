"""How fast the dashboard's pages get their data on a city-scale database, against computing it live.

    python benchmarks/bench_dashboard.py --db sqlite:///data/onenet.db [--day 2020-02-21] [--repeat 3]

For each page, times the query-layer calls its layout makes (the city, a district and a street), and
as the baseline the same headline figures computed live by ``etl.figures.summary`` (what the
dashboard would cost without the pre-aggregated tables).  Prints seconds per call and the ratio.
Build a city-scale database first, e.g. ``onenet --db sqlite:////tmp/s.db demo --scale 50 --no-serve``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ONENET_SECRET", "benchmark-secret-of-32-bytes-or-more")

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from dashboard import queries as q  # noqa: E402
from etl.figures import summary  # noqa: E402
from etl.database import make_engine  # noqa: E402
from schemas.models import Enterprise, ReturningStaff  # noqa: E402


def best_of(repeat: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def pages(s: Session, divs: q.Divisions, campaign: q.Campaign, code: str, day: date) -> dict[str, Callable[[], Any]]:
    """What each page's layout asks the query layer for."""
    days = [d for d in campaign.days if d <= day]

    def overview() -> None:
        q.unit_figures(s, divs, campaign, code, day)
        q.unit_figures(s, divs, campaign, code, day.fromordinal(day.toordinal() - 1))
        units = q.sub_unit_figures(s, divs, campaign, code, day)
        if divs.level.get(code) == "street":
            q.buildings_of_street(s, campaign, code, day)
        else:
            codes = [u["code"] for u in units]
            q.boundaries(s, codes)
            q.unit_points(s, codes)

    def reopening() -> None:
        series = q.trend(s, divs, campaign, code, days, by_sub_unit=divs.level.get(code) != "street")
        q.projection(s, divs, campaign, code, day, series[code][-1])
        q.overdue_enterprises(s, divs, code, day)

    def missing() -> None:
        q.unit_figures(s, divs, campaign, code, day)
        q.missing_buildings(s, divs, campaign, code, day, limit=200)

    def staff() -> None:
        q.unit_figures(s, divs, campaign, code, day)
        q.staff_breakdown(s, divs, code, day)
        q.staff_people(s, divs, code, day, False)
        q.sub_unit_figures(s, divs, campaign, code, day)

    def quality() -> None:
        batches = q.batches_in_scope(s, divs, code)
        q.ledger(s, batches, limit=300)
        q.rejects(s, batches, limit=300)
        q.provenance(s, divs, campaign, code, day, "reopened")

    return {"总览 overview": overview, "复工 reopening": reopening, "漏报 missing": missing, "返岗 staff": staff,
            "数据质量 quality": quality}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--day", default="2020-02-21")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    day = date.fromisoformat(args.day)
    with Session(make_engine(args.db)) as s:
        divs, campaign = q.load_divisions(s), q.load_campaign(s)
        enterprises = s.scalar(select(func.count()).select_from(Enterprise))
        staff = s.scalar(select(func.count()).select_from(ReturningStaff))
        print(f"database: {enterprises:,} enterprises and shops, {staff:,} returning-staff records; "
              f"aggregated {campaign.first}..{campaign.last}: {campaign.aggregated}")
        district = max(divs.sub_units("310000"), key=lambda c: len(divs.streets_under(c)))
        street = sorted(divs.streets_under(district))[0]
        baseline = best_of(args.repeat, lambda: summary(s, day, "district"))
        print(f"baseline: etl.figures.summary computed live for one day: {baseline:.3f} s")
        print(f"{'page':18} {'unit':12} {'seconds':>8} {'× baseline':>11}")
        for unit in ("310000", district, street):
            for name, work in pages(s, divs, campaign, unit, day).items():
                seconds = best_of(args.repeat, work)
                print(f"{name:18} {divs.display(unit):12} {seconds:8.3f} {seconds / baseline:11.2f}")


if __name__ == "__main__":
    main()
