"""The audit trail (审计日志): one home for writing it (docs/rules.md#audit-trail).

Every web action and command that shows or takes personal data, changes a user or a follow-up, loads
data, or logs in or out calls ``record`` inside its own transaction, so that the entry and the action
land together.  ``detail`` passes through etl.masking: an entry never holds a raw ID or phone number.
"""
from __future__ import annotations

import getpass
import io
import json
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from etl import config
from etl.masking import mask_text
from schemas.audit import AuditEntry

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_refused": "登录被暂停", "logout": "退出",
    "export": "导出", "fill": "按模板导出", "remind": "催报清单", "personal_view": "查看个人信息",
    "follow_up": "跟进记录", "pending_confirm": "确认待核实企业", "user_add": "新增用户", "user_passwd": "重置密码",
    "user_disable": "停用用户", "user_enable": "启用用户", "user_grant": "个人信息权限", "password_change": "修改本人密码", "ingest": "导入",
    "collection": "信息收集",
}
"""The actions an entry may record, with the words the 审计日志 page and `onenet audit` show."""


def cli_actor() -> str:
    """Who runs a command: the login name of the shell, marked as the command line."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except OSError:
        return "cli:unknown"


def record(session: Session, actor: str, action: str, *, scope_code: str | None = None, day: date | str | None = None,
           rows: int | None = None, personal: bool = False, address: str | None = None, **detail: Any) -> AuditEntry:
    """Append one entry in the caller's transaction; ``detail`` keys become a masked JSON object."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to etl.audit.ACTIONS")
    text = mask_text(json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True)) if detail else None
    entry = AuditEntry(at=config.local_now(), actor=mask_text(actor)[:64], action=action, scope_code=scope_code,
                       day=day.isoformat() if isinstance(day, date) else day, rows=rows, personal=personal,
                       address=(address or None) and address[:64], detail=text)
    session.add(entry)
    session.flush()
    return entry


def workbook_rows(workbook: Path | bytes, header_rows: int = 1, skip: Collection[str] = ("封面",),
                  column: int | None = None) -> int:
    """The data rows of a workbook we wrote (its sheets but ``skip``, less ``header_rows`` each): what an
    export entry counts.  Read from each sheet's dimension, so a million-row workbook costs milliseconds;
    with ``column`` (0-based), the rows with a value in that column instead, for a sheet laid out for print
    (the reminder list: a title and notes above its header, one row per enterprise)."""
    import openpyxl  # noqa: PLC0415  (only exports need it; logins record through this module too)

    book = openpyxl.load_workbook(io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook, read_only=True)
    try:
        sheets = [sheet for sheet in book.worksheets if sheet.title not in skip]
        if column is None:
            return sum(max((sheet.max_row or 0) - header_rows, 0) for sheet in sheets)
        return sum(max(sum(1 for (value,) in sheet.iter_rows(min_col=column + 1, max_col=column + 1, values_only=True)
                           if value not in (None, "")) - header_rows, 0) for sheet in sheets)
    finally:
        book.close()


INGEST_FILES_LISTED = 200
"""Files an ingest entry names one by one; a larger run keeps its totals and says how many it left out."""


def record_ingest(engine: Engine, actor: str, results: Sequence[Any], command: str) -> None:
    """One entry for a run of `onenet ingest` or `onenet demo` (``results``: etl.pipeline.FileResult), in its
    own transaction after the run: each file loads in its own, and the entry sums them up."""
    keys = ("rows", "inserted", "updated", "unchanged", "rejected", "warnings")
    files = [{"file": Path(r.file).name, "kind": r.kind, "status": r.status, **{k: getattr(r, k) for k in keys}}
             for r in results[:INGEST_FILES_LISTED]]
    totals = {k: sum(getattr(r, k) for r in results) for k in keys}
    statuses = Counter(r.status for r in results)
    with Session(engine) as session, session.begin():
        record(session, actor, "ingest", rows=totals["rows"], command=command, totals=totals,
               statuses=dict(statuses), files=files, files_left_out=max(len(results) - INGEST_FILES_LISTED, 0))


def action_code(text: str) -> str:
    """An action as a user names it, by code (export) or by its Chinese word (导出)."""
    if text in ACTIONS:
        return text
    code = next((c for c, word in ACTIONS.items() if word == text.strip()), None)
    if code is None:
        raise ValueError(f"unknown action {text!r}; choose among {', '.join(ACTIONS)}")
    return code


def entries(session: Session, *, user: str | None = None, since: date | None = None, action: str | None = None,
            scopes: Collection[str] | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Entries newest first, filtered by actor, first day, action and (``scopes``: the division codes a
    reader may see, None for all) the division they concerned."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if user:
        stmt = stmt.where(AuditEntry.actor == user)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(since, time()))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if scopes is not None:
        stmt = stmt.where(AuditEntry.scope_code.in_(sorted(scopes) or [""]))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def as_json(entry: AuditEntry) -> dict[str, Any]:
    """An entry as `onenet audit --json` and the 审计日志 page read it: ``detail`` as an object again."""
    return {"id": entry.id, "at": entry.at.isoformat(sep=" ", timespec="seconds"), "actor": entry.actor,
            "action": entry.action, "action_label": ACTIONS.get(entry.action, entry.action),
            "scope_code": entry.scope_code, "day": entry.day, "rows": entry.rows, "personal": bool(entry.personal),
            "address": entry.address, "detail": json.loads(entry.detail) if entry.detail else {}}


def detail_line(detail: dict[str, Any], width: int = 120) -> str:
    """An entry's detail (as ``as_json`` gives it) on one line of at most ``width`` characters: ``key=value``
    pairs, a list of files as its length."""
    parts = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and isinstance(value[0], dict):
            value = f"{len(value)} 项"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        parts.append(f"{key}={value}")
    text = " ".join(parts)
    return text if len(text) <= width else text[:width - 1] + "…"
