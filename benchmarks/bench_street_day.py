"""The work officials actually do, on a city-sized database: the whole demo inbox, then one street's daily file.

    python benchmarks/bench_street_day.py [--scale 20] [--against PATH] [--dir DIR]

1. The demo city at ``--scale`` (20: 120,000 enterprises, 400,000 returning staff, 360 files) is
   generated once; its whole inbox, less one street's reopening-report file, is loaded into a new
   SQLite database (rows per second, dashboard aggregates included).
2. That street's file (about 2,500 rows at scale 20) is loaded into the city database: end to end,
   including the dashboard refresh.  Then ``--reload`` of the same file, which changes nothing.

``--against PATH``: a checkout of another version (``git worktree add /tmp/base <commit>``) runs the same
steps on the same files in a child interpreter, and the ratios this / baseline are printed beside.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(inbox: Path, held: Path, work: Path) -> dict[str, float]:
    """The three timings, with this interpreter's ``etl`` (the checkout on its path)."""
    from etl.pipeline import Ingestor  # noqa: PLC0415

    try:
        from etl.database import make_engine  # noqa: PLC0415
    except ImportError:  # a baseline from before etl.database
        from schemas.db import make_engine  # noqa: PLC0415

    for stale in work.glob("city.db*"):  # a database left by an earlier run would hold every file already
        stale.unlink()
    engine = make_engine(f"sqlite:///{work / 'city.db'}")
    files = [p for p in sorted(inbox.iterdir()) if p.is_file() and p != held]
    started = time.perf_counter()
    results = Ingestor(engine, log=lambda m: None).ingest(files)
    inbox_s = time.perf_counter() - started
    rows = sum(r.rows for r in results)
    started = time.perf_counter()
    one = Ingestor(engine, log=lambda m: None).ingest([held])
    street_s = time.perf_counter() - started
    started = time.perf_counter()
    Ingestor(engine, log=lambda m: None, reload=True).ingest([held])
    reload_s = time.perf_counter() - started
    return {"inbox_rows": rows, "inbox_s": inbox_s, "street_rows": one[0].rows, "street_s": street_s, "reload_s": reload_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--against", default=None, help="a checkout of the baseline version")
    parser.add_argument("--measure", nargs=3, metavar=("INBOX", "HELD", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child run of --against
        print(json.dumps(measure(*map(Path, args.measure))))
        return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("ONENET_SECRET", "benchmark-secret-of-32-bytes-or-more")
    from etl.democity.generator import generate  # noqa: PLC0415

    work = Path(args.dir or tempfile.mkdtemp(prefix="onenet-street-day-"))
    inbox = work / "city" / "inbox"
    if (work / "city" / "truth.json").exists():
        print(f"the demo city already generated in {work} (delete it to generate another)", flush=True)
    else:
        print(f"generating the demo city at scale {args.scale:g} in {work}", flush=True)
        generate(work / "city", seed=args.seed, scale=args.scale, progress=lambda m: print(f"  {m}", flush=True))
    daily = [(int(m[1]), int(m[2]), p.name.startswith("长宁区"), p) for p in inbox.iterdir()
             if (m := re.search(r"企业复工申报_(\d+)月(\d+)日", p.name))]
    held = max(daily, key=lambda d: d[:3])[3]  # the last day's district report, 长宁区's when it has one
    print(f"held back: {held.name}", flush=True)

    runs = {}
    for name, tree in (("this", ROOT), ("baseline", Path(args.against) if args.against else None)):
        if tree is None:
            continue
        out = work / name
        out.mkdir(exist_ok=True)
        print(f"loading with {name} ({tree})", flush=True)
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(inbox), str(held), str(out)],
                               env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True)
        runs[name] = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"  {name}: " + ", ".join(f"{k} {v:,.2f}" for k, v in runs[name].items()), flush=True)

    print(f"\n{'':34}" + "".join(f"{n:>14}" for n in runs) + ("   this/baseline" if len(runs) == 2 else ""))
    for key, label in (("inbox_s", "whole inbox, s"), ("street_s", "one street's file, s"), ("reload_s", "--reload of it, s")):
        cells = "".join(f"{r[key]:>14.2f}" for r in runs.values())
        ratio = f"{runs['this'][key] / runs['baseline'][key]:>16.2f}" if len(runs) == 2 else ""
        print(f"{label:34}{cells}{ratio}")
    rate = "".join(f"{r['inbox_rows'] / r['inbox_s']:>14,.0f}" for r in runs.values())
    print(f"{'whole inbox, rows/s':34}{rate}")
    print(f"({runs['this']['inbox_rows']:,} rows in the inbox, {runs['this']['street_rows']:,} in the street's file)")


if __name__ == "__main__":
    main()
