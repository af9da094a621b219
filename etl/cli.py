"""The `onenet` command (docs/cli.md)."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from etl import config
from etl.excel import display_width
from schemas.labels import BATCH_STATUS_LABELS, SEVERITY_LABELS
from schemas.sources import kind_label


class TerminalProgress:
    """One progress bar per file on stderr; plain lines when stderr is not a terminal."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.label: str | None = None
        self.last_pct = -1

    def __call__(self, label: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            from tqdm import tqdm  # noqa: PLC0415

            if self.label != label or self.bar is None:
                self.close()
                self.bar = tqdm(total=total, desc=label, unit="rows", unit_scale=True, file=sys.stderr, leave=False)
                self.label = label
            self.bar.n = done
            self.bar.refresh()
        elif total >= 100_000:
            pct = done * 100 // max(total, 1)
            if pct // 10 != self.last_pct // 10:  # a line per tenth of the file
                print(f"  {label}: {done:,}/{total:,} rows ({pct}%)", file=sys.stderr)
                self.last_pct = pct

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def engine_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The database of --db / $ONENET_DB / data/onenet.db, brought up to date; one line, not a traceback,
    when it cannot be opened."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError  # noqa: PLC0415

    from etl.database import init_db, make_engine  # noqa: PLC0415
    from schemas.migrate import SchemaMismatch  # noqa: PLC0415

    url = config.database_url(args.db)
    try:
        engine = make_engine(url)
        init_db(engine)
    except SchemaMismatch as exc:
        raise SystemExit(f"onenet: {exc}") from None
    except (ArgumentError, NoSuchModuleError, DBAPIError, ImportError, OSError) as exc:
        raise SystemExit(f"onenet: cannot open the database {_shown_url(url)}: {_first_line(exc)}. "
                         "Check --db or $ONENET_DB: an SQLAlchemy URL such as sqlite:///data/onenet.db "
                         "or postgresql+psycopg://user@host/dbname") from None
    return engine


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (not a URL at all: say so by showing it)
        return repr(url)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror}: cannot create or open files in the folder {Path(exc.filename).parent}"
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def day_argument(text: str) -> date:
    """The type of every --date: the spellings ingest reads (etl.normalise.parse_day); anything else is
    refused in one line (SystemExit passes through argparse, which would add its usage text)."""
    from etl.normalise import parse_day  # noqa: PLC0415

    try:
        return parse_day(text)
    except ValueError as exc:
        raise SystemExit(f"onenet: --date {exc}") from None


def chosen_day(session: Session, day: date | None) -> date:
    """The day a command reports on: the one given, else the campaign's last report day (etl.days)."""
    from etl.days import default_day  # noqa: PLC0415

    return day or default_day(session)


def cmd_ingest(args: argparse.Namespace) -> int:
    if args.collection is not None:
        return ingest_collection(args)
    from etl.audit import cli_actor, record_ingest  # noqa: PLC0415
    from etl.collection_intake import answered_collection, load_answers, open_collections  # noqa: PLC0415
    from etl.pipeline import Ingestor, expand_paths  # noqa: PLC0415

    progress = TerminalProgress()
    quiet = args.json
    log = (lambda m: print(m, file=sys.stderr)) if not quiet or sys.stderr.isatty() else (lambda m: None)
    ingestor = Ingestor(engine_from_args(args), progress=progress, log=log, reload=args.reload)
    files, skipped = expand_paths([Path(p) for p in args.paths])
    for path in skipped:
        log(f"skipped {path} (not a spreadsheet)")
    with Session(ingestor.engine) as session:
        opened = open_collections(session)
    answers = {path: cid for path in files if (cid := answered_collection(path, opened)) is not None}
    results = ingestor.ingest([f for f in files if f not in answers])
    progress.close()
    for path, collection_id in answers.items():  # after the registries: answers name their enterprises
        log(f"{path.name}: 信息收集 #{collection_id} 的回答")
        results.append(load_answers(ingestor.engine, collection_id, path, reload=args.reload))
    record_ingest(ingestor.engine, cli_actor(), results, "onenet ingest" + (" --reload" if args.reload else ""))
    if args.json:
        print(json.dumps({"files": [r.as_json() for r in results]}, ensure_ascii=False, indent=2))
    else:
        print_import_summary(results)
    return 1 if any(r.status == "failed" for r in results) else 0


def ingest_collection(args: argparse.Namespace) -> int:
    """`onenet ingest --collection ID FILE...`: the files as answers to a collection (etl.collection_intake)."""
    import dataclasses  # noqa: PLC0415

    from etl.audit import cli_actor, record_ingest  # noqa: PLC0415
    from etl.collection_intake import load_answers  # noqa: PLC0415
    from etl.collections import CollectionError  # noqa: PLC0415
    from etl.pipeline import expand_paths  # noqa: PLC0415
    from schemas.collection_tables import Collection  # noqa: PLC0415

    engine = engine_from_args(args)
    files, skipped = expand_paths([Path(p) for p in args.paths])
    for path in skipped:
        print(f"skipped {path} (not a spreadsheet)", file=sys.stderr)
    try:
        results = [load_answers(engine, args.collection, path, reload=args.reload) for path in files]
    except CollectionError as exc:
        raise SystemExit(f"onenet: {exc}") from None
    record_ingest(engine, cli_actor(), results, f"onenet ingest --collection {args.collection}"
                  + (" --reload" if args.reload else ""))
    if args.json:
        print(json.dumps({"files": [r.as_json() for r in results]}, ensure_ascii=False, indent=2))
    else:
        with Session(engine) as session:
            collection = session.get(Collection, args.collection)
            shown = collection.title if collection else "信息收集"
        print_import_summary([dataclasses.replace(r, kind=shown) for r in results])
    return 1 if any(r.status == "failed" for r in results) else 0


def padded(text: str, width: int, right: bool = False) -> str:
    """``text`` cut and padded to ``width`` terminal columns: a Chinese character takes two."""
    if display_width(text) > width:
        kept, cells = "", 0
        for char in text:
            cells += display_width(char)
            if cells > width - 1:
                break
            kept += char
        text = kept + "…"
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def table_line(cells: Sequence[Any], widths: Sequence[int], first_number: int) -> str:
    """One line of a terminal table: text columns left-aligned, those from ``first_number`` on right-aligned."""
    return " ".join(padded(str(c), w, right=i >= first_number) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


IMPORT_COLUMNS = (("文件", 34), ("类型", 18), ("行数", 9), ("新增", 9), ("更新", 9), ("未变", 9), ("退回", 8), ("警告", 8))


def print_import_summary(results: list[Any]) -> None:
    """One line per file: kind detected, rows read, inserted, updated, unchanged, rejected, warned, status;
    the error under a file that failed."""
    widths = [w for _, w in IMPORT_COLUMNS]
    print(table_line([t for t, _ in IMPORT_COLUMNS], widths, 2) + " 状态")
    for r in results:
        numbers = (f"{n:,}" for n in (r.rows, r.inserted, r.updated, r.unchanged, r.rejected, r.warnings))
        print(table_line([Path(r.file).name, kind_label(r.kind) or "-", *numbers], widths, 2)
              + " " + BATCH_STATUS_LABELS.get(r.status, r.status))
        if r.error:
            print(f"    {r.error}")
    rejected, warned = sum(r.rejected for r in results), sum(r.warnings for r in results)
    if rejected or warned:
        what = [f"{rejected:,} rows rejected"] if rejected else []
        what += [f"{warned:,} optional values left empty (warnings; their rows loaded)"] if warned else []
        print(f"{' and '.join(what)}: `onenet rejects` (or --out rejects.xlsx) lists file, row and reason")


def cmd_summary(args: argparse.Namespace) -> int:
    from etl.figures import summary  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        day = chosen_day(session, args.date)
        rows = summary(session, day, args.level)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print_summary(rows, args.level, day)
    return 0


SUMMARY_COLUMNS = (("code", "代码", 9), ("name", "名称", 14), ("enterprises", "企业", 7), ("reopened", "复工", 7),
                   ("reopening_rate", "复工率", 7), ("shops", "商铺", 6), ("shops_open", "开业", 6), ("reported", "填报", 7),
                   ("buildings", "楼宇", 6), ("buildings_missing", "漏报楼", 7), ("returning_staff", "返岗人员", 9),
                   ("in_quarantine", "隔离中", 7))


def print_summary(rows: list[dict[str, Any]], level: str, day: date) -> None:
    """The figures of docs/figures.md as a terminal table (short headers; ``--json`` has them all)."""
    from etl.figures import RATES  # noqa: PLC0415

    print(f"onenet summary — {level}, {day.isoformat()}")
    widths = [w for *_, w in SUMMARY_COLUMNS]
    print(table_line([title for _, title, _ in SUMMARY_COLUMNS], widths, 2))

    def shown(key: str, value: Any) -> str:
        if key in RATES:
            return "-" if value is None else f"{value:.1%}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    for r in rows:
        print(table_line([shown(key, r[key]) for key, *_ in SUMMARY_COLUMNS], widths, 2))


def cmd_rejects(args: argparse.Namespace) -> int:
    from etl.export import REJECT_COLUMNS, reject_rows  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        rows = list(reject_rows(session, args.batch))
    warnings = sum(1 for r in rows if r[3] == SEVERITY_LABELS["warning"])
    counts = f"{len(rows) - warnings} rows rejected, {warnings} warnings (their rows loaded, a value left empty)"
    if args.out:
        from etl.excel import write_table  # noqa: PLC0415

        write_table(Path(args.out), "退回记录", [c.header for c in REJECT_COLUMNS], rows)
        print(f"{counts}: written to {args.out}")
        return 0
    for file_name, sheet, row, level, field, _code, reason, _batch in rows:
        where = f"{file_name}" + (f" [{sheet}]" if sheet else "") + f" row {row}"
        print(f"{where}: {level} {field}: {reason}")
    print(counts)
    return 0


# Feature modules add their own sub-commands: each has register(subparsers).
FEATURE_COMMANDS = ("etl.db_cli", "etl.democity.cli", "etl.export_cli", "etl.fill_cli", "etl.qr_cli", "etl.enterprises_cli",
                    "etl.boundaries_cli", "etl.audit_cli", "etl.collections_cli", "dashboard.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onenet", description="一网统管 onenet: street-level database, ETL and dashboard")
    parser.add_argument("--db", help="SQLAlchemy URL (default: $ONENET_DB, else SQLite at data/onenet.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="load spreadsheets (files or folders)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true", help="print the import summary as one JSON document")
    p.add_argument("--reload", action="store_true",
                   help="load files again even if the same content was loaded before: stored rows come out unchanged, "
                        "rows rejected then for want of a division, street or enterprise load now")
    p.add_argument("--collection", type=int, metavar="ID",
                   help="load the files as answers to collection ID (信息收集): header matched to its field labels")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("summary", help="figures per unit for a day")
    p.add_argument("--level", choices=("city", "district", "street"), default="district")
    p.add_argument("--date", type=day_argument, help="the day, e.g. 2020-02-28 (default: the campaign's last report day)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("rejects", help="rejected rows with their reasons")
    p.add_argument("--batch", type=int)
    p.add_argument("--out", help="write them to an .xlsx workbook")
    p.set_defaults(func=cmd_rejects)

    for module in FEATURE_COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
