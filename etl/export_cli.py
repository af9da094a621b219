"""`onenet export` (the analyst workbook) and `onenet remind` (a street's reminder list); each is recorded in the
audit trail (etl.audit) with its scope, day and rows."""
from __future__ import annotations

import argparse
import functools
import getpass
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from etl import config
from etl.audit import cli_actor, record, workbook_rows
from etl.divisions import DivisionTree, UnknownDivision


def resolve_unit(session: Session, name_or_code: str, level: str) -> str:
    """A district or street given by code, full name or short name (长宁 → 长宁区), unambiguously;
    raises ``UnknownDivision`` otherwise."""
    return DivisionTree.load(session).find(name_or_code, level)


def unit_of_args(session: Session, args: argparse.Namespace, default: str) -> str:
    """The unit a command's --street or --district names (each a code, a name or the start of one), else ``default``."""
    if getattr(args, "street", None):
        return resolve_unit(session, args.street, "street")
    if getattr(args, "district", None):
        return resolve_unit(session, args.district, "district")
    return default


def exit_on_bad_input(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The command line's answer to a name that matches no unit (or no buildings): a message and exit status 1."""
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (UnknownDivision, NothingToDo) as exc:
            raise SystemExit(f"onenet: {exc}") from exc
    return run


class NothingToDo(ValueError):
    """The unit exists but holds nothing the command could work on (e.g. a street without buildings)."""


@exit_on_bad_input
def cmd_export(args: argparse.Namespace) -> int:
    from etl.cli import chosen_day, engine_from_args  # noqa: PLC0415
    from etl.export import SECTIONS, write_workbook  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        day = chosen_day(session, args.date)
        scope = unit_of_args(session, args, config.CITY_CODE)
        out = Path(args.out)
        write_workbook(session, out, scope_code=scope, day=day, user_name=args.user or getpass.getuser(),
                       personal=args.personal)
        record(session, cli_actor(), "export", scope_code=scope, day=day, rows=workbook_rows(out), personal=args.personal,
               sections=list(SECTIONS), out=out.name, user=args.user)
        session.commit()
    print(f"analyst workbook for {scope} on {day} written to {out}")
    return 0


@exit_on_bad_input
def cmd_remind(args: argparse.Namespace) -> int:
    from etl.cli import chosen_day, engine_from_args  # noqa: PLC0415
    from etl.reminders import HEADERS, write_reminders  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        day = chosen_day(session, args.date)
        street = resolve_unit(session, args.street, "street")
        out = Path(args.out)
        write_reminders(session, out, street_code=street, day=day, user_name=args.user or getpass.getuser())
        rows = workbook_rows(out, column=HEADERS.index("未填报企业"))
        record(session, cli_actor(), "remind", scope_code=street, day=day, rows=rows, personal=True, out=out.name,
               user=args.user)
        session.commit()
    print(f"reminder list of {street} on {day} written to {out} (A4 landscape, ready to print)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from etl.cli import day_argument  # noqa: PLC0415

    p = sub.add_parser("export", help="the analyst workbook (.xlsx) for the city, a district or a street")
    p.add_argument("--out", required=True)
    unit = p.add_mutually_exclusive_group()
    unit.add_argument("--district", help="name or code")
    unit.add_argument("--street", help="name or code")
    p.add_argument("--date", type=day_argument, help="the day, e.g. 2020-02-28 (default: the campaign's last report day)")
    p.add_argument("--user", help="who exports (shown on the cover; default: the login name)")
    p.add_argument("--personal", action="store_true", help="unmasked names and phones (for users granted personal data)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("remind", help="a street's reminder list (催报清单) of silent enterprises, ready to print")
    p.add_argument("--street", required=True, help="name or code")
    p.add_argument("--out", required=True)
    p.add_argument("--date", type=day_argument, help="the day, e.g. 2020-02-28 (default: the campaign's last report day)")
    p.add_argument("--user")
    p.set_defaults(func=cmd_remind)
