"""`onenet collections` (信息收集, docs/collections.md#commands): add one from a department's template or a definition
file, list them, open and close them, their completion per unit, and their answers as a workbook. Every change
and every export is recorded in the audit trail (action "collection")."""
from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from etl.audit import cli_actor, record
from etl.export_cli import NothingToDo, exit_on_bad_input, resolve_unit, unit_of_args
from etl.scope import Scope, load_scope
from schemas.collection_tables import Collection
from schemas.collections import CLOSED, FREQUENCIES, OPEN, STATUSES, CollectionDef
from schemas.models import User

SUB_LEVEL = {"city": "district", "district": "street", "street": "street"}
STATUS_COLUMNS = (("code", "代码", 10), ("name", "名称", 16), ("expected", "应填", 8), ("answered", "已填", 8),
                  ("on_time", "按时", 8), ("completion_rate", "完成率", 8))
LIST_COLUMNS = (("编号", 6), ("状态", 8), ("范围", 14), ("频次", 6), ("标题", 30), ("发起部门", 16))


def exits_on_collection_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A collection that cannot be made or changed as asked (and a file that is no template): one line, status 1."""
    @exit_on_bad_input
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from etl.collections import CollectionError  # noqa: PLC0415  (pandas: only a run of the command needs it)
        from etl.fill_template import TemplateError  # noqa: PLC0415

        try:
            return command(args)
        except (CollectionError, TemplateError) as exc:
            raise SystemExit(f"onenet collections: {exc}") from exc
    return run


def day_of(text: str) -> date:
    from etl.normalise import parse_day  # noqa: PLC0415

    try:
        return parse_day(text)
    except ValueError as exc:
        raise SystemExit(f"onenet collections: {exc}") from None


def time_of(text: str) -> time:
    try:
        return datetime.strptime(text.strip().replace("：", ":"), "%H:%M").time()
    except ValueError:
        raise SystemExit(f"onenet collections: --deadline {text!r} 不是时刻：写作 10:00") from None


def collection_of(session: Session, ident: str) -> Collection:
    from etl.collections import CollectionError  # noqa: PLC0415
    found = session.get(Collection, int(ident)) if ident.isdigit() and len(ident) <= 9 else None
    if found is None:
        raise CollectionError(f"没有编号为 {ident} 的信息收集（onenet collections list 列出全部）")
    return found


def default_day(definition: CollectionDef) -> date:
    """Today, kept within the collection's days: its last day once it is over, its first before it starts."""
    return min(max(config.local_now().date(), definition.start), definition.end)


def _creator(session: Session, username: str | None) -> tuple[str, str | None]:
    """(who creates, the widest scope allowed): a dashboard user given by --user, else the shell's user, city-wide."""
    if not username:
        return cli_actor(), None
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NothingToDo(f"no active user {username!r} (see onenet users list)")
    return user.username, user.scope_code


@exits_on_collection_errors
def cmd_add(args: argparse.Namespace) -> int:
    from etl.collections import create  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415
    from etl.collection_template import (  # noqa: PLC0415
        DEFINITION_SUFFIXES,
        DefinitionError,
        definition_from_file,
        definition_from_template,
    )
    from etl.fill_template import TEMPLATE_SUFFIXES  # noqa: PLC0415

    path = Path(args.file)
    suffix = path.suffix.lower()
    if suffix not in (*TEMPLATE_SUFFIXES, *DEFINITION_SUFFIXES):
        raise DefinitionError(f"{path.name}: 须为 Excel 模板（.xlsx）或定义文件（.yaml、.yml、.json）")
    if not path.is_file():
        raise DefinitionError(f"{path}: 文件不存在")
    settings: dict[str, Any] = {"department": args.department, "frequency": "daily" if args.daily else None,
                                "deadline": args.deadline, "start": args.start, "end": args.end}
    notes: list[str] = []
    template: bytes | None = None
    with Session(engine_from_args(args)) as session:
        creator, allowed = _creator(session, args.user)
        if suffix in TEMPLATE_SUFFIXES:
            template = path.read_bytes()
            definition, notes = definition_from_template(template, path.name, args.scope or allowed or config.CITY_CODE,
                                                         title=args.title, **settings)
        else:
            definition = definition_from_file(path, scope=args.scope, title=args.title, **settings)
        collection = create(session, definition, created_by=creator, allowed_scope=allowed, template=template,
                            template_name=path.name if template is not None else None)
        ident, scope_name = collection.id, load_scope(session, definition.scope).name
        record(session, cli_actor(), "collection", scope_code=definition.scope, op="add", id=ident,
               title=definition.title, file=path.name, fields=len(definition.fields), user=args.user)
        session.commit()
    for note in notes:
        print(f"  {note}", file=sys.stderr)
    print(f"已创建信息收集 #{ident}“{definition.title}”：草稿，{scope_name}，{FREQUENCIES[definition.frequency]}，"
          f"{definition.start}–{definition.end}，{len(definition.fields)} 个字段；"
          f"核对无误后 onenet collections open {ident} 开始收集", file=sys.stderr)
    print(ident)
    return 0


@exits_on_collection_errors
def cmd_list(args: argparse.Namespace) -> int:
    from etl.collections import definition_of  # noqa: PLC0415
    from etl.cli import engine_from_args, table_line  # noqa: PLC0415
    from etl.collections import collections_in  # noqa: PLC0415
    from etl.divisions import DivisionTree  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        tree = DivisionTree.load(session)
        rows = [(c, definition_of(c)) for c in collections_in(session, Scope.of(tree, None))]
    if args.json:
        print(json.dumps([{"id": c.id, "title": c.title, "scope": c.scope_code, "status": c.status} for c, _ in rows],
                         ensure_ascii=False, indent=2))
        return 0
    widths = [w for _, w in LIST_COLUMNS]
    print(table_line([t for t, _ in LIST_COLUMNS], widths, 99))
    for c, d in rows:
        print(table_line([c.id, STATUSES.get(c.status, c.status), tree.display(c.scope_code), FREQUENCIES[d.frequency],
                          c.title, c.department or ""], widths, 99))
    if not rows:
        print("（还没有信息收集：onenet collections add 模板.xlsx 或 定义.yaml）")
    return 0


def _move(args: argparse.Namespace, status: str, op: str) -> int:
    from etl.aggregate import refresh_if_stale  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415
    from etl.collections import set_status  # noqa: PLC0415

    engine = engine_from_args(args)
    with Session(engine) as session:
        collection = collection_of(session, args.id)
        before = collection.status
        set_status(collection, status)
        line = f"#{collection.id}“{collection.title}”：{STATUSES[before]} → {STATUSES[status]}"
        record(session, cli_actor(), "collection", scope_code=collection.scope_code, op=op, id=collection.id,
               title=collection.title, before=before)
        session.commit()
    print(line)
    refresh_if_stale(engine, log=lambda m: print(m, file=sys.stderr, flush=True))
    return 0


@exits_on_collection_errors
def cmd_open(args: argparse.Namespace) -> int:
    return _move(args, OPEN, "open")


@exits_on_collection_errors
def cmd_close(args: argparse.Namespace) -> int:
    return _move(args, CLOSED, "close")


@exits_on_collection_errors
def cmd_status(args: argparse.Namespace) -> int:
    from etl.collections import definition_of  # noqa: PLC0415
    from etl.cli import engine_from_args, table_line  # noqa: PLC0415
    from etl.collection_figures import status  # noqa: PLC0415
    from etl.divisions import DivisionTree  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        collection = collection_of(session, args.id)
        definition = definition_of(collection)
        day = args.date or default_day(definition)
        level = args.level or SUB_LEVEL[DivisionTree.load(session).level_of(collection.scope_code) or "street"]
        rows = status(session, collection, day, level)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"#{collection.id}“{collection.title}”（{STATUSES.get(collection.status, collection.status)}）— {level}, {day}")
    widths = [w for *_, w in STATUS_COLUMNS]
    print(table_line([title for _, title, _ in STATUS_COLUMNS], widths, 2))
    for r in rows:
        rate = "-" if r["completion_rate"] is None else f"{r['completion_rate']:.1%}"
        print(table_line([r["code"], r["name"], f"{r['expected']:,}", f"{r['answered']:,}", f"{r['on_time']:,}", rate],
                         widths, 2))
    return 0


@exits_on_collection_errors
def cmd_export(args: argparse.Namespace) -> int:
    from etl.collections import CollectionError, definition_of  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415
    from etl.collection_export import export_answers  # noqa: PLC0415
    from etl.divisions import DivisionTree  # noqa: PLC0415

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise CollectionError(f"--out {out.name}: 须为 .xlsx 文件")
    with Session(engine_from_args(args)) as session:
        collection = collection_of(session, args.id)
        definition = definition_of(collection)
        day = args.date or default_day(definition)
        tree = DivisionTree.load(session)
        code = unit_of_args(session, args, collection.scope_code)
        streets = None if code == collection.scope_code else tree.streets_under(code)
        if not Scope.of(tree, collection.scope_code).covers(code):
            raise CollectionError(f"{tree.display(code)}不在“{collection.title}”的范围（{tree.display(collection.scope_code)}）内")
        result = export_answers(session, collection, out, day=day, streets=streets, scope_name=tree.display(code),
                                personal=args.personal)
        record(session, cli_actor(), "collection", scope_code=code, day=day, rows=result.rows, personal=args.personal,
               op="export", id=collection.id, title=collection.title, out=out.name, template=result.from_template)
        line = (f"#{collection.id}“{collection.title}”，{tree.display(code)}，{day}：{result.rows:,} 家已填报"
                f"（应填报 {result.expected:,}）→ {out}" + ("（按模板）" if result.from_template else ""))
        session.commit()
    print(line)
    for label in result.appended:
        print(f"  模板中没有“{label}”一列：已加在表格右侧", file=sys.stderr)
    for column in result.unmatched:
        print(f"  {column}：没有对应的字段，留空", file=sys.stderr)
    return 0


@exits_on_collection_errors
def cmd_remind(args: argparse.Namespace) -> int:
    """A street's 催报清单 of the collection's missing respondents (--out), and/or one push to its group robot (--push)."""
    from etl.collections import CollectionError, definition_of  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415
    from etl.collection_reminders import ReminderError, push_reminder, write_collection_reminders  # noqa: PLC0415

    if not args.out and not args.push:
        raise SystemExit("onenet collections remind: give --out FILE.xlsx (the printed list), --push (the group robot), or both")
    with Session(engine_from_args(args)) as session:
        collection = collection_of(session, args.id)
        day = args.date or default_day(definition_of(collection))
        street = resolve_unit(session, args.street, "street")
        try:
            if args.out:
                named = write_collection_reminders(session, Path(args.out), collection, street_code=street, day=day,
                                                   user_name=args.user or cli_actor())
                record(session, cli_actor(), "remind", scope_code=street, day=day, rows=named, personal=True,
                       out=Path(args.out).name, collection=collection.id)
                print(f"催报清单：{named} 家未填报“{collection.title}” → {args.out}")
            result = push_reminder(session, collection, street, day) if args.push else None
        except ReminderError as exc:
            raise CollectionError(str(exc)) from exc
        if result is not None:
            record(session, cli_actor(), "collection", scope_code=street, day=day, op="push", id=collection.id,
                   ok=result.ok, status=result.status, mentioned=result.mentioned)
        session.commit()
    if result is not None:
        print(result.message)
        return 0 if result.ok else 1
    return 0


@exits_on_collection_errors
def cmd_webhook(args: argparse.Namespace) -> int:
    from etl.collections import CollectionError  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415
    from etl.collection_reminders import ReminderError, set_webhook  # noqa: PLC0415

    with Session(engine_from_args(args)) as session:
        street = resolve_unit(session, args.street, "street")
        try:
            set_webhook(session, street, None if args.clear else args.url, cli_actor())
        except ReminderError as exc:
            raise CollectionError(str(exc)) from exc
        record(session, cli_actor(), "collection", scope_code=street, op="webhook", cleared=bool(args.clear))
        session.commit()
    print(f"{street}: 群机器人{'已清除' if args.clear else '已设置'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from etl.cli import day_argument  # noqa: PLC0415

    p = sub.add_parser("collections", help="信息收集: collections made from a department's template or a definition file")
    commands = p.add_subparsers(dest="collections_command", required=True)

    c = commands.add_parser("add", help="a new collection (a draft) from a template .xlsx or a definition .yaml/.json; "
                                        "prints its id")
    c.add_argument("file", help="the department's template (.xlsx) or a definition file (.yaml, .yml, .json)")
    c.add_argument("--scope", help="division code: 310000 the city, a district, a 9-digit street (template default: the city)")
    c.add_argument("--title", help="default: the template's title row (the definition file's title)")
    c.add_argument("--department", help="发起部门")
    c.add_argument("--daily", action="store_true", help="answered every day (default: once)")
    c.add_argument("--deadline", type=time_of, help="HH:MM: answers by this time are on time (daily default 10:00)")
    c.add_argument("--start", type=day_of, help="first day (default: today)")
    c.add_argument("--end", type=day_of, help="last day (default: a week after the start)")
    c.add_argument("--user", help="create as this dashboard user: the scope may be no wider than theirs")
    c.set_defaults(func=cmd_add)

    c = commands.add_parser("list", help="the collections, newest first")
    c.add_argument("--json", action="store_true", help='a JSON array of {"id", "title", "scope", "status"}')
    c.set_defaults(func=cmd_list)

    for name, func, words in (("open", cmd_open, "start collecting (a draft only)"),
                              ("close", cmd_close, "stop collecting (an open one only)")):
        c = commands.add_parser(name, help=words)
        c.add_argument("id")
        c.set_defaults(func=func)

    c = commands.add_parser("status", help="expected, answered, on time and completion rate per unit")
    c.add_argument("id")
    c.add_argument("--level", choices=("city", "district", "street"), help="default: the level below the collection's scope")
    c.add_argument("--date", type=day_argument, help="the day (default: today, within the collection's days)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_status)

    c = commands.add_parser("export", help="the answers as .xlsx (the template filled in, if it came from one)")
    c.add_argument("id")
    c.add_argument("--out", required=True)
    unit = c.add_mutually_exclusive_group()
    unit.add_argument("--district", help="name or code")
    unit.add_argument("--street", help="name or code")
    c.add_argument("--date", type=day_argument, help="the day (default: today, within the collection's days)")
    c.add_argument("--personal", action="store_true", help="names and phones unmasked (users granted personal data)")
    c.set_defaults(func=cmd_export)

    c = commands.add_parser("remind", help="a street's reminder list (催报清单) of missing respondents; --push sends it "
                                           "to the street's group robot once")
    c.add_argument("id")
    c.add_argument("--street", required=True, help="name or code")
    c.add_argument("--out", help="the printed list (.xlsx)")
    c.add_argument("--push", action="store_true", help="post the reminder to the street's group robot (企业微信/钉钉)")
    c.add_argument("--date", type=day_argument, help="the day (default: today, within the collection's days)")
    c.add_argument("--user", help="who makes the list (shown in its footer)")
    c.set_defaults(func=cmd_remind)

    c = commands.add_parser("webhook", help="set a street's group robot address (企业微信/钉钉群机器人 webhook)")
    c.add_argument("--street", required=True, help="name or code")
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--url", help="the robot's webhook address, https://…")
    what.add_argument("--clear", action="store_true", help="remove it (then $ONENET_WEBHOOK_URL, if set, is used)")
    c.set_defaults(func=cmd_webhook)
