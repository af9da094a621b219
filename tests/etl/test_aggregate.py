"""The dashboard's pre-aggregated figures equal etl.figures (the definition) on every campaign day."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.aggregate import COUNT_COLUMNS, refresh_aggregates
from etl.democity.generator import generate
from etl.figures import Day, street_figures
from etl.pipeline import Ingestor
from schemas.aggregates import AggMeta, AggStreetDay
from schemas.db import make_engine, session_scope


def _aggregated(session: Session) -> dict[tuple[str, object], dict[str, int]]:
    return {(r.code, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS} for r in session.scalars(select(AggStreetDay))}


def _nonzero(counts: dict[str, int]) -> bool:
    return any(counts.values())


def test_aggregates_equal_street_figures_every_day_and_after_a_partial_refresh(db_url: str, tmp_path: Path) -> None:
    city = generate(tmp_path / "demo", seed=11, scale=0.05)
    engine = make_engine(db_url)
    Ingestor(engine, log=lambda m: None).ingest([city.inbox])
    with Session(engine) as session:
        meta = session.get(AggMeta, "range")
        assert meta is not None, "ingest refreshes the aggregates"
        stored = _aggregated(session)
        days = [meta.first_day + timedelta(days=i) for i in range((meta.last_day - meta.first_day).days + 1)]
        problems = []
        for day in days:
            live = {("" if k is None else k): v for k, v in street_figures(session, Day(day)).items()}
            got = {code: counts for (code, d), counts in stored.items() if d == day}
            for code in set(live) | set(got):
                want = live.get(code, dict.fromkeys(COUNT_COLUMNS, 0))
                have = got.get(code, dict.fromkeys(COUNT_COLUMNS, 0))
                if {c: want.get(c, 0) for c in COUNT_COLUMNS} != have:
                    problems.append(f"{day} {code}: live {want} aggregated {have}")
        assert not problems, "\n".join(problems[:10])
        assert any(_nonzero(c) for c in stored.values())

    # A partial refresh of one street leaves every row as a full refresh would have it.
    with session_scope(engine) as session:
        street = next(code for (code, _), c in sorted(stored.items(), key=lambda kv: str(kv[0])) if len(code) == 9 and c["enterprises"])
        refresh_aggregates(session, {street})
    with Session(engine) as session:
        assert _aggregated(session) == stored
