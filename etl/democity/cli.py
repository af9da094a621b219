"""`onenet demo`: generate the demo city, load its messy inbox, show the figures, serve the dashboard."""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from etl import config


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fresh_database(url: str) -> None:
    """The demo starts from an empty database: an SQLite file is replaced, a server database must be empty."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if path.exists():
            _say(f"replacing the earlier demo database {path}")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    from etl.database import make_engine  # noqa: PLC0415
    from schemas.models import ImportBatch  # noqa: PLC0415

    engine = make_engine(url)
    from etl.database import init_db  # noqa: PLC0415

    init_db(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(ImportBatch)):
            raise SystemExit(f"onenet demo: {parsed.render_as_string(hide_password=True)} already holds data; "
                             "give the demo an empty database (or the default SQLite file)")


def mismatches(truth: dict[str, Any], session: Session) -> list[str]:
    """Figures the database gives that differ from what the generator knows to be true."""
    from etl.figures import summary  # noqa: PLC0415

    problems = []
    for day, units in truth["figures"].items():
        for level in ("city", "district", "street"):
            got = {u["code"]: u for u in summary(session, date.fromisoformat(day), level)}
            for unit in (u for u in units if u["level"] == level):
                mine = got.get(unit["code"], {})
                for key, want in unit.items():
                    have = mine.get(key)
                    if key in ("level", "name") or have == want or (
                            isinstance(want, float) and have is not None and abs(have - want) < 1e-9):
                        continue
                    problems.append(f"{day} {unit['name']} {key}: expected {want}, database says {have}")
    return problems


def cmd_demo(args: argparse.Namespace) -> int:
    from etl.cli import TerminalProgress, engine_from_args, print_import_summary, print_summary  # noqa: PLC0415
    from etl.democity.generator import generate  # noqa: PLC0415
    from etl.figures import summary  # noqa: PLC0415
    from etl.audit import cli_actor, record_ingest  # noqa: PLC0415
    from etl.pipeline import Ingestor  # noqa: PLC0415
    from schemas.models import Reject  # noqa: PLC0415

    started = time.monotonic()
    url = config.database_url(args.db)
    args.db = url
    out = Path(args.dir)
    _say(f"1/3 generating the demo city (seed {args.seed}, scale {args.scale:g}) into {out}")
    city = generate(out, seed=args.seed, scale=args.scale, progress=lambda m: _say(f"    {m}"))

    _fresh_database(url)
    _say(f"2/3 loading {len(city.files)} files from {city.inbox} into {make_url(url).render_as_string(hide_password=True)}")
    engine = engine_from_args(args)
    progress = TerminalProgress()
    results = Ingestor(engine, progress=progress, log=lambda m: None).ingest([city.inbox])
    progress.close()
    record_ingest(engine, cli_actor(), results, "onenet demo")
    from etl.democity.collection import launch  # noqa: PLC0415

    _say(f"    {launch(engine, out / 'collections', args.seed)}")

    loaded = [r for r in results if r.status == "loaded"]
    failed = [r for r in results if r.status == "failed"]
    print(f"\nLoaded {len(loaded)} files: {sum(r.rows for r in loaded):,} rows, "
          f"{sum(r.inserted for r in loaded):,} inserted, {sum(r.updated for r in loaded):,} updated, "
          f"{sum(r.unchanged for r in loaded):,} unchanged, {sum(r.rejected for r in loaded):,} rejected, "
          f"{sum(r.warnings for r in loaded):,} values left empty with a warning.")
    if args.verbose:
        print_import_summary(results)
    for r in failed:
        print(f"Could not read {Path(r.file).name}: {r.error}  (the demo inbox holds one broken file on purpose)")
    with Session(engine) as session:
        last_day = date.fromisoformat(city.truth["figure_dates"][-1])
        for severity, title in (("error", "Rejected rows"), ("warning", "Values left empty with a warning (the rows loaded)")):
            reasons = Counter(dict(session.execute(select(Reject.reason, func.count()).where(Reject.severity == severity)
                                                   .group_by(Reject.reason)).all()))
            if reasons:
                print(f"{title}, by reason (all of them: `onenet rejects`):")
                for reason, n in reasons.most_common(8):
                    print(f"  {n:>6}  {reason}")
        print()
        print_summary(summary(session, last_day, "district"), "district", last_day)
        wrong = mismatches(city.truth, session)
    if wrong:
        print(f"\nWARNING: {len(wrong)} figures differ from the generator's truth, e.g. {wrong[0]}")
    else:
        print(f"\nEvery figure at {', '.join(city.truth['figure_dates'])} (city, districts, streets) equals "
              f"the generator's truth ({out / 'truth.json'}).")
    print(f"Done in {time.monotonic() - started:.0f} s.  Try: onenet summary --level street --date {last_day}")
    try:
        from dashboard.app import run  # noqa: PLC0415
        from dashboard.auth import ensure_demo_users  # noqa: PLC0415
    except ImportError as exc:
        print(f"The dashboard is not available in this installation ({exc}); the figures above are the demo.")
        return 0
    with Session(engine) as session, session.begin():
        logins = ensure_demo_users(session)
    print("\nDemo logins of the dashboard (user / password):")
    for user, password in logins.items():
        print(f"  {user:16} {password}")
    if args.no_serve:
        print(f"Serve it with: onenet --db {make_url(url).render_as_string(hide_password=True)} serve")
        return 0
    print(f"\n3/3 dashboard at http://{args.host}:{args.port}/  (Ctrl+C stops it)")
    sys.stdout.flush()
    run(url, host=args.host, port=args.port)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="generate the demo city, load it, and serve the dashboard")
    p.add_argument("--dir", default=str(config.DATA_DIR / "demo"), help="where the inbox and truth.json go (default data/demo)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0, help="multiplies buildings, enterprises and staff (10 ≈ a tenth of Shanghai)")
    p.add_argument("--no-serve", action="store_true", help="stop after loading and printing the figures")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--verbose", action="store_true", help="print the import summary of every file")
    p.set_defaults(func=cmd_demo)
