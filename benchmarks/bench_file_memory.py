"""Peak memory and time of ``onenet ingest`` for one big CSV and one big .xlsx, against a baseline tree.

    python benchmarks/bench_file_memory.py [--csv-rows 2600000] [--xlsx-rows 1000000] [--baseline DIR]
                                           [--formats csv,xlsx] [--keep DIR]

Each file is loaded by ``python -m etl.cli ingest`` in a process of its own into a fresh SQLite file,
under ``/usr/bin/time -v`` (its "Maximum resident set size" is the figure), once with this tree's code
and once with ``--baseline``'s (e.g. `git worktree add /tmp/base <commit>` of a version before the file guards), on the same file in
the same run.  The default CSV (2.33 M returning-staff rows, about 266 MB) is the size the size-guard
report measured; a file over the row cap is refused, and that refusal is measured too.  To see the
biggest file accepted, pass ``--csv-rows 499999 --xlsx-rows 499999`` (the cap counts the header).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
os.environ.setdefault("ONENET_SECRET", "benchmark-secret-of-32-bytes-or-more")

from benchmarks.bench_ingest import make_rows  # noqa: E402


def write_csv(path: Path, rows: int) -> Path:
    if not path.exists():
        make_rows(rows).to_csv(path, index=False)
    return path


def write_xlsx(path: Path, rows: int) -> Path:
    import xlsxwriter  # noqa: PLC0415

    if not path.exists():
        frame = make_rows(rows)
        with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as workbook:
            sheet = workbook.add_worksheet("返岗人员")
            sheet.write_row(0, 0, list(frame.columns))
            for r, row in enumerate(frame.itertuples(index=False, name=None), start=1):
                sheet.write_row(r, 0, row)
    return path


def measure(tree: Path, path: Path, work: Path) -> tuple[float, float, str]:
    """Peak resident memory (MB), wall seconds and the outcome of one ingest of ``path`` with ``tree``'s code."""
    db = work / f"m{os.getpid()}_{abs(hash((str(tree), str(path))))}.db"
    db.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "ONENET_DATA_DIR": str(work)}
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "etl.cli", "--db", f"sqlite:///{db}",
                           "ingest", str(path), "--json"], cwd=tree, env=env, capture_output=True, text=True, check=False)
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1]) / 1024
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    seconds = int(clock[1] or 0) * 3600 + int(clock[2]) * 60 + float(clock[3])
    status = re.search(r'"status": "(\w+)"', proc.stdout)
    error = re.search(r'"error": "([^"]{0,90})', proc.stdout)
    outcome = (status[1] if status else f"exit {proc.returncode}") + (f" ({error[1]})" if error else "")
    db.unlink(missing_ok=True)
    return peak, seconds, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=2_330_000, help="data rows of the CSV (2.33 M: about 266 MB)")
    parser.add_argument("--xlsx-rows", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=Path, default=None, help="a tree with the code to compare against")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep (and reuse) the generated files in")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="onenet_mem_"))
    work.mkdir(parents=True, exist_ok=True)
    files = []
    if "csv" in args.formats:
        files.append(write_csv(work / f"返岗_{args.csv_rows}.csv", args.csv_rows))
    if "xlsx" in args.formats:
        files.append(write_xlsx(work / f"返岗_{args.xlsx_rows}.xlsx", args.xlsx_rows))
    trees = {"this tree": HERE, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    for path in files:
        print(f"{path.name}: {path.stat().st_size / 1024**2:.0f} MB", flush=True)
        figures = {}
        for label, tree in trees.items():
            peak, seconds, outcome = measure(tree, path, work)
            figures[label] = peak
            print(f"  {label:9s} peak {peak:7.0f} MB  {seconds:7.1f} s  {outcome}", flush=True)
        if len(figures) == 2:
            print(f"  peak memory this tree / baseline = {figures['this tree'] / figures['baseline']:.2f}")


if __name__ == "__main__":
    main()
