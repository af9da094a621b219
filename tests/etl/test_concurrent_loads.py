"""Loads at the same time give exactly what they give one after the other (etl.store.writing): the same
content under two names is stored once, and different files loaded at once equal the serial result."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from etl.database import make_engine
from etl.pipeline import Ingestor
from schemas.models import ImportBatch, ReturningStaff
from tests.conftest import empty_database
from tests.etl.test_kill_mid_load import ingest, write_big_staff_csv

pytestmark = pytest.mark.slow


def _people(db_url: str) -> dict[str, object]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            current = select(ReturningStaff.person_key, ReturningStaff.origin, ReturningStaff.return_date,
                             ReturningStaff.district_code).where(ReturningStaff.is_current.is_(True))
            return {
                "current": sorted(map(tuple, conn.execute(current))),
                "rows": conn.scalar(select(func.count()).select_from(ReturningStaff)),
                "loaded": sorted(conn.scalars(select(ImportBatch.sha256).where(ImportBatch.status == "loaded"))),
            }
    finally:
        engine.dispose()


def _run_together(db_url: str, files: list[Path]) -> list[dict[str, object]]:
    procs = [ingest(db_url, f, "--json") for f in files]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
        out.extend(json.loads(stdout)["files"])
    return out


def test_the_same_content_under_two_names_at_once_is_stored_once(db_url: str, tmp_path: Path) -> None:
    first = write_big_staff_csv(tmp_path / "返岗人员_甲.csv", n=10_000)
    second = shutil.copy(first, tmp_path / "返岗人员_乙.csv")
    results = _run_together(db_url, [first, Path(second)])
    assert sorted(r["status"] for r in results) == ["loaded", "unchanged"], results
    people = _people(db_url)
    assert people["rows"] == 10_000 and len(people["current"]) == 10_000
    assert len(people["loaded"]) == 1


def test_four_loads_at_once_equal_the_same_loads_one_after_the_other(db_url: str, tmp_path: Path) -> None:
    """Overlapping people in four files (later files change some of them): serial and concurrent agree."""
    files = []
    for i in range(4):
        path = write_big_staff_csv(tmp_path / f"返岗人员_{i}.csv", n=1_000 + 500 * i, seed=7)
        text = path.read_text(encoding="utf-8").replace("湖北武汉", ["湖北武汉", "湖南长沙", "江西南昌", "安徽合肥"][i])
        path.write_text(text, encoding="utf-8")
        files.append(path)
    _run_together(db_url, files)
    together = _people(db_url)
    kind = "postgres" if db_url.startswith("postgresql") else "sqlite"
    (tmp_path / "serial").mkdir()
    with empty_database(kind, tmp_path / "serial") as serial_url:
        # Serial in the order the concurrent run committed them.
        engine = create_engine(db_url)
        with engine.connect() as conn:
            order = list(conn.scalars(select(ImportBatch.file_name).where(ImportBatch.status == "loaded")
                                      .order_by(ImportBatch.id)))
        engine.dispose()
        serial_engine = make_engine(serial_url)  # the reference: one load after the other, in this process
        for name in order:
            [result] = Ingestor(serial_engine, log=lambda m: None).ingest([tmp_path / name])
            assert result.status == "loaded", result
        serial_engine.dispose()
        serial = _people(serial_url)
    assert together["current"] == serial["current"]
    assert together["rows"] == serial["rows"]
