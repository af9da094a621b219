"""The dashboard's pre-aggregated figures equal etl.figures (the definition) on every campaign day."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from etl.aggregate import COUNT_COLUMNS, refresh_aggregates
from etl.democity.generator import generate
from etl.figures import Day, street_figures
from etl.pipeline import Ingestor
from schemas.aggregates import AggBatchUnit, AggMeta, AggQuarantine, AggStaff, AggStreetDay
from schemas.db import make_engine, session_scope
from schemas.models import ImportBatch, ReturningStaff


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


def _stored_tables(session: Session) -> dict[str, set[tuple[object, ...]]]:
    tables = (AggStreetDay, AggStaff, AggQuarantine, AggBatchUnit)
    return {m.__tablename__: {tuple(getattr(r, c.key) for c in m.__table__.columns if c.key != "id")
                              for r in session.scalars(select(m))} for m in tables}


def _full_refresh(engine: Engine) -> dict[str, set[tuple[object, ...]]]:
    with session_scope(engine) as session:
        assert refresh_aggregates(session) is False
    with Session(engine) as session:
        return _stored_tables(session)


def test_staff_loads_update_the_aggregates_as_a_full_refresh_would(db_url: str, tmp_path: Path) -> None:
    """Returning-staff files add their changes to the stored staff figures instead of re-reading every
    person; the result equals recomputing from the rows, for new people, changed people and people
    seen twice in one file."""
    city = generate(tmp_path / "demo", seed=11, scale=0.05)
    staff_files = sorted(city.inbox.glob("*返岗人员*"))
    assert len(staff_files) >= 2
    held = tmp_path / "held"
    held.mkdir()
    for path in staff_files:
        path.rename(held / path.name)
    engine = make_engine(db_url)
    Ingestor(engine, log=lambda m: None).ingest([city.inbox])

    def ingest(paths: list[Path]) -> list[str]:
        messages: list[str] = []
        results = Ingestor(engine, log=messages.append).ingest(paths)
        assert all(r.status == "loaded" for r in results), results
        return messages

    first = ingest([held / staff_files[0].name])
    assert any("returning staff figures updated" in m for m in first), first
    with Session(engine) as session:
        after_first = _stored_tables(session)
    assert after_first["agg_staff"], "people were counted"
    assert _full_refresh(engine) == after_first

    # A later file: the same people changed (origin, return date, quarantine), one listed twice, new people.
    frame = pd.read_csv(held / staff_files[0].name, dtype=str, header=None, keep_default_na=False)
    is_person = frame[2].str.fullmatch(r"[0-9]{17}[0-9X]")
    head, body = frame[~is_person], frame[is_person]
    changed = body.iloc[:10].copy()
    changed[8] = "湖南长沙"
    changed[9] = "2020-02-03"
    changed[10] = "居家隔离"
    changed[11] = "2020-02-17"
    twice = changed.iloc[:1].copy()
    twice[8] = "江西南昌"
    update = pd.concat([head, changed, twice], ignore_index=True)
    update.to_csv(tmp_path / "返岗人员更新.csv", index=False, header=False, encoding="utf-8")
    others = held / staff_files[1].name
    second = ingest([tmp_path / "返岗人员更新.csv", others])
    assert any("returning staff figures updated" in m for m in second), second
    with Session(engine) as session:
        after_second = _stored_tables(session)
        assert session.scalar(select(func.count()).select_from(ReturningStaff)
                              .where(ReturningStaff.is_current.is_(False))) >= 10
    assert after_second != after_first
    assert _full_refresh(engine) == after_second


def test_a_run_that_changes_enterprises_recomputes_the_staff_figures(db_url: str, tmp_path: Path) -> None:
    city = generate(tmp_path / "demo", seed=11, scale=0.05)
    engine = make_engine(db_url)
    messages: list[str] = []
    Ingestor(engine, log=messages.append).ingest([city.inbox])
    assert not any("returning staff figures updated" in m for m in messages)
    with Session(engine) as session:
        stored = _stored_tables(session)
    assert _full_refresh(engine) == stored


def test_a_staff_only_run_adds_its_ledger_units_only_onto_complete_stored_aggregates(db_url: str, tmp_path: Path) -> None:
    """The import ledger's (batch, unit) pairs of a returning-staff run are added to the stored ones instead of
    re-reading every person, but only when nothing was loaded since the stored aggregates were computed."""
    city = generate(tmp_path / "demo", seed=11, scale=0.05)
    staff_files = sorted(city.inbox.glob("*返岗人员*"))
    reports = sorted(city.inbox.glob("*复工*"))
    assert reports
    held = [*staff_files, *reports]
    engine = make_engine(db_url)
    Ingestor(engine, log=lambda m: None).ingest([p for p in sorted(city.inbox.iterdir()) if p.is_file() and p not in held])

    messages: list[str] = []
    Ingestor(engine, log=messages.append).ingest(staff_files[:2])
    assert any("returning staff figures updated" in m for m in messages), messages
    with Session(engine) as session:
        stored = _stored_tables(session)
    assert stored["agg_batch_unit"] and stored["agg_staff"]
    assert _full_refresh(engine) == stored

    # Files loaded without the run's refresh (as when a refresh fails): the stored aggregates are behind, so
    # the next staff-only run must recompute, not add.
    loader = Ingestor(engine, log=lambda m: None)
    loaded = [loader.ingest_file(p.path, p.tables, p.error, p.sha).status for p in loader.plan(reports)]
    assert loaded.count("loaded") > 10
    messages = []
    Ingestor(engine, log=messages.append).ingest(staff_files[2:4])
    assert not any("returning staff figures updated" in m for m in messages), messages
    with Session(engine) as session:
        stored = _stored_tables(session)
        report_batches = {r.id for r in session.scalars(select(ImportBatch).where(ImportBatch.status == "loaded"))
                          if r.kind and "reopening_report" in r.kind}
    assert len(report_batches & {batch for batch, _ in stored["agg_batch_unit"]}) > 10, "the reports were counted"
    assert _full_refresh(engine) == stored


def test_a_new_database_starts_with_empty_aggregates_that_a_first_staff_run_adds_to(db_url: str, tmp_path: Path) -> None:
    from benchmarks.bench_ingest import make_rows

    make_rows(3_000).to_csv(tmp_path / "返岗人员.csv", index=False, encoding="utf-8")
    engine = make_engine(db_url)
    messages: list[str] = []
    ingestor = Ingestor(engine, log=messages.append)
    with Session(engine) as session:
        meta = session.get(AggMeta, "range")
        assert meta is not None and meta.batch_mark == 0 and not any(_stored_tables(session).values())
    assert ingestor.ingest([tmp_path / "返岗人员.csv"])[0].inserted == 3_000
    assert any("returning staff figures updated" in m for m in messages), messages
    with Session(engine) as session:
        stored = _stored_tables(session)
    assert stored["agg_batch_unit"] and stored["agg_staff"]
    assert _full_refresh(engine) == stored
