"""A million-row export against xlsxwriter alone writing the same rows in constant-memory mode.

    python benchmarks/bench_export.py [--rows 1000000]

Loads N returning-staff rows into SQLite with onenet's own ingest, then, each in a fresh process:
  xlsxwriter alone: the same rows (already in memory) written cell by cell, constant_memory;
  onenet:           `write_workbook(..., sections=["staff"])` — query, mask, format, stream.
Prints both times, the ratio (target ≤ 1.5) and each side's peak resident memory.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ONENET_SECRET", "benchmark-secret-of-32-bytes-or-more")

DAY = date(2020, 2, 28)


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM starts afresh at exec; ru_maxrss would carry the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def onenet_side(url: str, out: str, queue: mp.Queue) -> None:
    from sqlalchemy.orm import Session  # noqa: PLC0415

    from etl.export import write_workbook  # noqa: PLC0415
    from etl.database import make_engine  # noqa: PLC0415

    start = time.perf_counter()
    with Session(make_engine(url)) as session:
        write_workbook(session, Path(out), scope_code="310000", day=DAY, user_name="bench", sections=["staff"])
    queue.put((time.perf_counter() - start, peak_mb()))


def xlsxwriter_side(url: str, out: str, queue: mp.Queue) -> None:
    import xlsxwriter  # noqa: PLC0415
    from sqlalchemy.orm import Session  # noqa: PLC0415

    from etl.export import staff_rows  # noqa: PLC0415
    from etl.scope import load_scope  # noqa: PLC0415
    from etl.database import make_engine  # noqa: PLC0415

    with Session(make_engine(url)) as session:
        rows = list(staff_rows(session, load_scope(session, "310000"), DAY, personal=False))
    start = time.perf_counter()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True})
    ws = wb.add_worksheet()
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, date):
                ws.write_datetime(r, c, datetime.combine(v, datetime.min.time()), date_fmt)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            else:
                ws.write_string(r, c, str(v))
    wb.close()
    queue.put((time.perf_counter() - start, peak_mb()))


def run(target, url: str, out: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    context = mp.get_context("spawn")  # a clean process per side, so that peak memory is its own
    queue = context.Queue()
    proc = context.Process(target=target, args=(url, out, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    from benchmarks.bench_ingest import make_rows  # noqa: PLC0415
    from etl.pipeline import Ingestor  # noqa: PLC0415
    from etl.database import make_engine  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", help="reuse a database already loaded by an earlier run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="onenet-export-bench-"))
    url = args.db or f"sqlite:///{work / 'bench.db'}"
    if not args.db:
        csv = work / "staff.csv"
        print(f"loading {args.rows:,} returning-staff rows into {work / 'bench.db'} …", flush=True)
        make_rows(args.rows).to_csv(csv, index=False)
        Ingestor(make_engine(url), log=lambda m: None).ingest([csv])

    t_x, m_x = run(xlsxwriter_side, url, str(work / "plain.xlsx"))
    t_o, m_o = run(onenet_side, url, str(work / "onenet.xlsx"))
    print(f"\nexport of {args.rows:,} rows")
    print(f"  xlsxwriter alone (constant_memory)  {t_x:7.2f} s   peak {m_x:7.0f} MB (rows held in memory)")
    print(f"  onenet export (query, mask, format) {t_o:7.2f} s   peak {m_o:7.0f} MB")
    print(f"  onenet / xlsxwriter = {t_o / t_x:.2f}  (must be ≤ 1.5)")


if __name__ == "__main__":
    main()
