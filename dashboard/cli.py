"""`onenet serve` and `onenet users` (issue 4)."""
from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session


def cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.app import run  # noqa: PLC0415
    from etl.aggregate import refresh_if_stale  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415

    from etl import config  # noqa: PLC0415
    from schemas.models import User  # noqa: PLC0415

    engine = engine_from_args(args)
    refresh_if_stale(engine, log=lambda m: print(m, file=sys.stderr, flush=True))
    with Session(engine) as session:
        has_users = session.scalar(select(User.id).where(User.active).limit(1)) is not None
    if not has_users:
        print("onenet: this database has no dashboard users yet, so nobody can log in (the QR form works without one).\n"
              f"  Add one:  onenet users add NAME --role admin --scope {config.CITY_CODE}   (it asks for the password)",
              file=sys.stderr, flush=True)
    print(f"onenet dashboard at http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    run(args.db, host=args.host, port=args.port)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from dashboard.auth import ROLE_LABELS, create_user, disable_user, enable_user, set_password  # noqa: PLC0415
    from etl.audit import cli_actor, record  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415
    from schemas.models import User  # noqa: PLC0415

    engine = engine_from_args(args)
    actor = cli_actor()
    try:
        with Session(engine) as session, session.begin():
            if args.action == "add":
                if not args.role or not args.scope:
                    raise ValueError("users add needs --role and --scope")
                create_user(session, args.name, _password(args), args.role, args.scope, args.display_name, args.personal,
                            created_by=actor)
                record(session, actor, "user_add", scope_code=args.scope, user=args.name.strip(), role=args.role,
                       personal_data=args.personal)
                print(f"user {args.name} added ({ROLE_LABELS[args.role]}, scope {args.scope})")
            elif args.action == "passwd":
                user = set_password(session, args.name, _password(args))
                record(session, actor, "user_passwd", scope_code=user.scope_code, user=args.name)
                print(f"password of {args.name} changed; every session of {args.name} has ended")
            elif args.action == "disable":
                user = disable_user(session, args.name, by=actor)
                record(session, actor, "user_disable", scope_code=user.scope_code, user=args.name)
                print(f"user {args.name} disabled; every session of {args.name} has ended")
            elif args.action == "enable":
                user = enable_user(session, args.name)
                record(session, actor, "user_enable", scope_code=user.scope_code, user=args.name)
                print(f"user {args.name} enabled")
            else:
                print(f"{'user':16} {'role':14} {'scope':10} {'personal':8} active")
                for u in session.scalars(select(User).order_by(User.username)):
                    print(f"{u.username:16} {ROLE_LABELS.get(u.role, u.role):14} {u.scope_code:10} "
                          f"{'yes' if u.can_see_personal_data else 'no':8} {'yes' if u.active else 'no'}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="the web app: dashboard and QR intake form")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="dashboard users: add, list, passwd, disable, enable")
    p.add_argument("action", choices=("add", "list", "passwd", "disable", "enable"))
    p.add_argument("name", nargs="?", default="")
    p.add_argument("--role", choices=("admin", "city", "district", "street", "analyst"))
    p.add_argument("--scope", help="division code the user sees (310000 city, 310105 a district, 9 digits a street)")
    p.add_argument("--display-name")
    p.add_argument("--personal", action="store_true", help="may see unmasked personal data")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    p.set_defaults(func=cmd_users)
