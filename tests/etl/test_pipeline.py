"""File-level guarantees of the pipeline: one transaction per file, even when the process is killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

from benchmarks.bench_ingest import make_rows
from schemas.models import ImportBatch, ReturningStaff

ROOT = Path(__file__).resolve().parents[2]


def counts(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        staff = conn.scalar(select(func.count()).select_from(ReturningStaff))
        loaded = conn.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "loaded"))
    engine.dispose()
    return staff, loaded


def ingest(db_url: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "etl.cli", "--db", db_url, "ingest", str(path)], cwd=ROOT,
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_load_killed_midway_leaves_nothing_and_loads_whole_next_time(db_url: str, tmp_path: Path) -> None:
    big = tmp_path / "返岗人员登记_全市.csv"
    make_rows(200_000).to_csv(big, index=False, encoding="utf-8")
    first = ingest(db_url, big)
    assert first.stderr is not None
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = first.stderr.readline()
        seen.append(line)
        if "rows (" in line and "(0%)" not in line:  # rows are being written
            break
        assert line or first.poll() is None, "".join(seen)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "the load finished before it could be interrupted"

    assert counts(db_url) == (0, 0), "a killed load must leave no rows and no loaded batch behind"

    second = ingest(db_url, big)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err[-2000:]
    assert counts(db_url) == (200_000, 1)
    assert "200000" in out.replace(",", "")
