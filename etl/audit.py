"""The audit trail (审计日志): one home for writing it (docs/rules.md#audit-trail).

Every web action and command that shows or takes personal data, changes a user or a follow-up, loads
data, or logs in or out calls ``record`` inside its own transaction, so that the entry and the action
land together.  ``detail`` passes through etl.masking: an entry never holds a raw ID or phone number.
"""
from __future__ import annotations

import getpass
import json
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from etl import config
from etl.masking import mask_text
from schemas.audit import AuditEntry

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_refused": "登录被暂停", "logout": "退出",
    "export": "导出", "fill": "按模板导出", "remind": "催报清单", "personal_view": "查看个人信息",
    "follow_up": "跟进记录", "pending_confirm": "确认待核实企业", "user_add": "新增用户", "user_passwd": "重置密码",
    "user_disable": "停用用户", "user_enable": "启用用户", "password_change": "修改本人密码", "ingest": "导入",
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
