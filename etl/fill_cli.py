"""`onenet fill`: a department's report template filled from the database, cut to a scope and a day
(docs/fill.md); `--check` says how each column is understood without writing anything."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from etl.audit import cli_actor, record
from etl.export_cli import NothingToDo, exit_on_bad_input, unit_of_args
from etl.scope import load_scope
from schemas.fill_columns import UNIT_LABELS
from schemas.models import User

if TYPE_CHECKING:
    from etl.fill_template import TemplatePlan

PROGRESS_EVERY = 50_000


def print_plan(plan: TemplatePlan, name: str) -> None:
    """How each column was understood, aligned for a terminal, then the columns left empty."""
    from etl.cli import padded  # noqa: PLC0415
    from etl.excel import display_width  # noqa: PLC0415

    header = (f"第 {plan.header_top} 行" if plan.header_rows == 1
              else f"第 {plan.header_top}–{plan.header_top + plan.header_rows - 1} 行")
    total = f"，合计行第 {plan.total_row} 行" if plan.total_row else ""
    print(f"{name}：工作表 {plan.sheet}，表头{header}，每行一个{UNIT_LABELS[plan.unit]}{total}")
    width = max((display_width(c.label) for c in plan.columns), default=4) + 2
    for letter, label, meaning in plan.describe():
        print(f"  {letter:<4}{padded(label, width)}{meaning}")
    if plan.unrecognised:
        print("未识别的列（留空，不猜测）：" + "、".join(f"{c.letter} {c.label}" for c in plan.unrecognised))


def _scope_of(session: Session, args: argparse.Namespace) -> tuple[str, bool]:
    """(scope code, may see personal data): the user's scope narrowed by --district/--street."""
    user = None
    if args.user:
        user = session.scalars(select(User).where(User.username == args.user)).first()
        if user is None or not user.active:
            raise NothingToDo(f"no active user {args.user!r} (see onenet users list)")
    outer = load_scope(session, user.scope_code if user else config.CITY_CODE)
    code = unit_of_args(session, args, outer.code)
    if not outer.covers(code):
        raise NothingToDo(f"{args.street or args.district} is outside the scope of user {args.user} ({outer.name})")
    if args.personal and user is not None and not user.can_see_personal_data:
        raise NothingToDo(f"user {args.user} is not granted personal data: leave out --personal")
    return code, args.personal


@exit_on_bad_input
def cmd_fill(args: argparse.Namespace) -> int:
    from etl.cli import chosen_day, engine_from_args  # noqa: PLC0415
    from etl.fill import fill_template  # noqa: PLC0415  (openpyxl and the readers: only a fill needs them)
    from etl.fill_rows import OutOfScope  # noqa: PLC0415
    from etl.fill_template import TemplateError, open_template, plan_template  # noqa: PLC0415

    template = Path(args.template)
    try:
        if args.check:
            print_plan(plan_template(open_template(template, template.name), template.name), template.name)
            return 0
        if not args.out:
            raise SystemExit("onenet fill: --out FILE.xlsx is needed (or --check to see how the columns are understood)")
        out = Path(args.out)
        with Session(engine_from_args(args)) as session:
            day = chosen_day(session, args.date)
            scope, personal = _scope_of(session, args)

            def progress(rows: int) -> None:
                print(f"  … {rows:,} 行", file=sys.stderr, flush=True)

            result = fill_template(session, template, out, scope_code=scope, day=day, personal=personal,
                                   progress=progress, progress_every=PROGRESS_EVERY)
            record(session, cli_actor(), "fill", scope_code=scope, day=day, rows=result.rows, personal=personal,
                   template=template.name, out=out.name, user=args.user)
            session.commit()
    except (TemplateError, OutOfScope) as exc:
        raise SystemExit(f"onenet fill: {exc}") from exc
    print_plan(result.plan, template.name)
    print(f"已写入 {result.rows:,} 行（{result.scope_name}，{day}）→ {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from etl.cli import day_argument  # noqa: PLC0415

    p = sub.add_parser("fill", help="fill a department's report template (.xlsx) from the database")
    p.add_argument("template", help="the blank template, .xlsx")
    p.add_argument("--out", help="where the filled workbook goes")
    p.add_argument("--check", action="store_true", help="print how each column is understood; write nothing")
    unit = p.add_mutually_exclusive_group()
    unit.add_argument("--district", help="name or code")
    unit.add_argument("--street", help="name or code")
    p.add_argument("--date", type=day_argument, help="the day, e.g. 2020-02-28 (default: the campaign's last report day)")
    p.add_argument("--user", help="fill as this dashboard user: rows cut to their scope")
    p.add_argument("--personal", action="store_true", help="contacts and phones unmasked (users granted personal data)")
    p.set_defaults(func=cmd_fill)
