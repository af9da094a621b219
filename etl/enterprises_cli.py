"""`onenet enterprises pending [--street NAME]` and `onenet enterprises confirm ID`: enterprises named
through a QR code that the registry did not know wait (待核实) for a street official (etl.pending)."""
from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.orm import Session

from etl.audit import cli_actor
from etl.export_cli import exit_on_bad_input, resolve_unit


@exit_on_bad_input
def cmd_pending(args: argparse.Namespace) -> int:
    from etl.pending import pending_enterprises  # noqa: PLC0415 - commands start without the intake's imports
    from etl.cli import engine_from_args

    with Session(engine_from_args(args)) as session:
        streets = [resolve_unit(session, args.street, "street")] if args.street else None
        rows = pending_enterprises(session, streets)
    for r in rows:
        seen = r.registered_at.isoformat(sep=" ") if r.registered_at else ""
        print(f"{r.id}\t{r.name}\t{r.uscc or ''}\t{r.street_code}\t{r.building or ''}\t{seen}\t{r.reports} reports")
    print(f"{len(rows)} pending enterprise(s); confirm one with `onenet enterprises confirm ID`", file=sys.stderr)
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    from etl.pending import NotPending, confirm  # noqa: PLC0415 - commands start without the intake's imports
    from etl.cli import engine_from_args

    try:
        name = confirm(engine_from_args(args), args.id, args.user or getpass.getuser(), actor=cli_actor())
    except NotPending as exc:
        print(f"onenet: {exc}: list them with `onenet enterprises pending`", file=sys.stderr)
        return 2
    print(f"confirmed {args.id} {name}: it counts in the figures from now on")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("enterprises", help="enterprises named through a QR code, pending (待核实) a street's confirmation")
    cmds = p.add_subparsers(dest="enterprises_command", required=True)
    q = cmds.add_parser("pending", help="list pending enterprises (id, name, code, street, building, first seen)")
    q.add_argument("--street", help="street name or code (default: every street)")
    q.set_defaults(func=cmd_pending)
    c = cmds.add_parser("confirm", help="confirm a pending enterprise: it counts in the figures from now on")
    c.add_argument("id", type=int, help="the enterprise id `onenet enterprises pending` prints")
    c.add_argument("--user", help="who confirms (recorded; default: the login name)")
    c.set_defaults(func=cmd_confirm)
