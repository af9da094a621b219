"""`onenet audit [--user U] [--since D] [--action A] [--json]`: who did what, newest first (etl.audit)."""
from __future__ import annotations

import argparse
import json

from sqlalchemy.orm import Session

from etl.audit import ACTIONS, action_code, as_json, detail_line, entries
from etl.divisions import DivisionTree

COLUMNS = (("时间", 19), ("用户", 16), ("操作", 14), ("范围", 14), ("日期", 10), ("个人信息", 8), ("地址", 15), ("行数", 9))


def cmd_audit(args: argparse.Namespace) -> int:
    from etl.cli import engine_from_args, table_line  # noqa: PLC0415

    try:
        action = action_code(args.action) if args.action else None
    except ValueError as exc:
        raise SystemExit(f"onenet: --action: {exc}") from None
    with Session(engine_from_args(args)) as session:
        found = entries(session, user=args.user, since=args.since, action=action, limit=args.limit or None)
        rows = [as_json(e) for e in found]
        tree = DivisionTree.load(session) if rows and not args.json else None
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    widths = [w for _, w in COLUMNS]
    print(table_line([t for t, _ in COLUMNS], widths, 7) + " 详情")
    for r in rows:
        scope = tree.display(r["scope_code"]) if tree is not None and r["scope_code"] else "-"
        cells = [r["at"], r["actor"], r["action_label"], scope, r["day"] or "-", "是" if r["personal"] else "",
                 r["address"] or "", "-" if r["rows"] is None else f"{r['rows']:,}"]
        print(table_line(cells, widths, 7) + " " + detail_line(r["detail"]))
    more = " (the newest; --limit 0 shows all)" if args.limit and len(rows) == args.limit else ""
    print(f"{len(rows):,} entries{more}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from etl.cli import day_argument  # noqa: PLC0415

    p = sub.add_parser("audit", help="the audit trail (审计日志): logins, exports, views of personal data, changes, loads")
    p.add_argument("--user", help="only this user (a dashboard user name, or cli:<login> for commands)")
    p.add_argument("--since", type=day_argument, help="only from this day on, e.g. 2020-02-28")
    p.add_argument("--action", help=f"only this action, by code or its Chinese word: {', '.join(ACTIONS)}")
    p.add_argument("--limit", type=int, default=200, help="at most this many, the newest (default 200; 0: all)")
    p.add_argument("--json", action="store_true", help="the entries as one JSON list, detail as an object")
    p.set_defaults(func=cmd_audit)
