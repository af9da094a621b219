"""One transaction per file (docs/rules.md#validation-and-rejects: "a file that cannot be read at all changes nothing"; issue 2 "a file that
fails midway leaves nothing behind"): `onenet ingest` is SIGKILLed while it writes the rows of a 120,000-row
returning-staff CSV; the database must hold nothing of that file, and the next run loads all of it.  (The
command reports progress from 100,000 rows on, after each 50,000 rows written: it is killed at the first
report, 70,000 rows before the end.)
"""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select

from schemas.models import ImportBatch, Reject, ReturningStaff

pytestmark = pytest.mark.slow
from tests.fixtures.messy import id_check

ROOT = Path(__file__).resolve().parents[2]
ROWS = 120_000
DISTRICTS = ("长宁区", "徐汇区", "浦东新区", "静安区", "黄浦区", "闵行区")
STATES = ("居家隔离", "集中隔离", "已解除", "无需隔离")


def write_big_staff_csv(path: Path, n: int = ROWS, seed: int = 20200210) -> Path:
    """n distinct people with valid IDs (check characters by the fixture's own GB 11643 code)."""
    rng = np.random.default_rng(seed)
    person = rng.permutation(n)
    births = np.datetime64("1960-01-01") + (person // 1000).astype("timedelta64[D]")
    days = rng.integers(1, 28, n)
    states = rng.integers(0, 4, n)
    districts = rng.integers(0, len(DISTRICTS), n)
    phones = rng.integers(13000000000, 13999999999, n)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("姓名,身份证号,手机号,区,来源地,返沪日期,隔离状态,体温\n")
        for i in range(n):
            body = f"310105{str(births[i]).replace('-', '')}{person[i] % 1000:03d}"
            fh.write(f"员工{i},{body}{id_check(body)},{phones[i]},{DISTRICTS[districts[i]]},湖北武汉,"
                     f"2020-02-{days[i]:02d},{STATES[states[i]]},36.{i % 10}\n")
    return path


def ingest(db_url: str, path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "etl.cli", "--db", db_url, "ingest", str(path), *extra], cwd=ROOT,
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def state(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                "staff": conn.scalar(select(func.count()).select_from(ReturningStaff)),
                "loaded": conn.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "loaded")),
                "batches_not_failed": conn.scalar(select(func.count()).select_from(ImportBatch)
                                                  .where(ImportBatch.status != "failed")),
                "rejects": conn.scalar(select(func.count()).select_from(Reject)),
            }
    finally:
        engine.dispose()


PROGRESS = re.compile(r"([\d,]+)\s*/\s*([\d,]+)")


def kill_when(proc: subprocess.Popen[str], seen_enough: Callable[[str], bool], limit: float = 600) -> list[str]:
    """SIGKILL the process as soon as a line it writes on stderr satisfies ``seen_enough``."""
    assert proc.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if seen_enough(line):
            proc.send_signal(signal.SIGKILL)
            break
    else:
        proc.kill()
        raise AssertionError("no progress within the time limit:\n" + "".join(seen[-20:]))
    proc.wait(timeout=120)
    return seen


def writing_rows(line: str) -> bool:
    m = PROGRESS.search(line)
    return bool(m) and 0 < int(m[1].replace(",", "")) < int(m[2].replace(",", ""))


def kill_while_writing(proc: subprocess.Popen[str], limit: float = 600) -> list[str]:
    """SIGKILL the process as soon as its progress says rows have been written (stderr, one line per step)."""
    return kill_when(proc, writing_rows, limit)


def test_a_load_killed_while_writing_leaves_nothing_and_the_next_run_loads_everything(db_url: str,
                                                                                    tmp_path: Path) -> None:
    big = write_big_staff_csv(tmp_path / "返岗人员登记_全市.csv")
    first = ingest(db_url, big)
    seen = kill_while_writing(first)
    assert first.returncode == -signal.SIGKILL, (
        "the load finished (or died) before rows were being written; progress seen:\n" + "".join(seen[-20:]))

    after_kill = state(db_url)
    assert after_kill == {"staff": 0, "loaded": 0, "batches_not_failed": 0, "rejects": 0}, (
        f"a killed load must leave nothing behind: {after_kill}")

    second = ingest(db_url, big, "--json")
    out, err = second.communicate(timeout=900)
    assert second.returncode == 0, err[-3000:]
    entry = json.loads(out)["files"][0]
    assert (entry["status"], entry["rows"], entry["inserted"], entry["rejected"]) == ("loaded", ROWS, ROWS, 0), entry
    assert state(db_url) == {"staff": ROWS, "loaded": 1, "batches_not_failed": 1, "rejects": 0}

    third = ingest(db_url, big, "--json")
    out, _ = third.communicate(timeout=300)
    assert third.returncode == 0 and json.loads(out)["files"][0]["status"] == "unchanged"


def dashboard_figures_equal_summary(db_url: str) -> None:
    """What the dashboard shows (the aggregates of the last day with data) equals ``onenet summary`` on that day."""
    from sqlalchemy.orm import Session  # noqa: PLC0415

    from etl.aggregate import COUNT_COLUMNS  # noqa: PLC0415
    from etl.figures import Day, street_figures  # noqa: PLC0415
    from schemas.aggregates import AggMeta, AggStreetDay  # noqa: PLC0415

    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            meta = session.get(AggMeta, "range")
            assert meta is not None
            stored = {r.code: {c: getattr(r, c) for c in COUNT_COLUMNS}
                      for r in session.scalars(select(AggStreetDay).where(AggStreetDay.day == meta.last_day))}
            live = {("" if k is None else k): {c: v.get(c, 0) for c in COUNT_COLUMNS}
                    for k, v in street_figures(session, Day(meta.last_day)).items()}
            live = {k: v for k, v in live.items() if any(v.values())}
            assert {k: v for k, v in stored.items() if any(v.values())} == live
    finally:
        engine.dispose()


def test_a_load_killed_while_refreshing_the_dashboard_is_rebuilt_by_the_next_run(db_url: str, tmp_path: Path) -> None:
    """The data committed, the aggregates not yet rebuilt: the next run (even one that loads nothing new)
    rebuilds them, and the dashboard's figures equal the live ones."""
    big = write_big_staff_csv(tmp_path / "返岗人员登记_全市.csv", n=30_000)
    first = ingest(db_url, big)
    kill_when(first, lambda line: "refreshing dashboard aggregates" in line)
    assert state(db_url)["staff"] == 30_000, "the file was committed before the refresh"
    again = ingest(db_url, big, "--json")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0 and json.loads(out)["files"][0]["status"] == "unchanged", err[-2000:]
    dashboard_figures_equal_summary(db_url)
