"""Reminders for a collection (docs/collections.md#reminders): the printed 催报清单 of a street's missing
respondents, and a one-click push of the reminder text to the street's group robot (企业微信 or 钉钉群机器人).

The robot's address is the street's own (street_webhook, `onenet collections webhook`), else $ONENET_WEBHOOK_URL.
A push is one HTTP POST of ``{"msgtype": "text", "text": {"content": …, "mentioned_mobile_list": […]}}`` with a
short timeout; its outcome is reported and audited, and it is never retried behind the official's back.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from etl import config
from etl.collection_figures import missing_respondents
from etl.masking import mask_name
from etl.reminders import write_reminder_sheet
from etl.scope import load_scope
from schemas.collection_tables import Collection, StreetWebhook
from schemas.labels import FOLLOW_UP_LABELS, UNPLACED

PUSH_TIMEOUT_SECONDS = 10
PUSH_LISTED_BUILDINGS = 15
"""Buildings named one by one in a pushed message; a longer list ends with how many more (a chat is not a ledger)."""
MOBILE_LENGTH = 11


class ReminderError(ValueError):
    """A reminder that cannot be made or sent as asked, with what to do."""


@dataclass(frozen=True)
class PushResult:
    ok: bool
    status: int | None
    message: str
    mentioned: int


def street_missing(session: Session, collection: Collection, street_code: str, day: date) -> list[dict[str, Any]]:
    """The street's missing respondents by building, in the shape of the 漏报 reminder list."""
    scope = load_scope(session, street_code)
    if scope.level != "street":
        raise ReminderError(f"{street_code} 不是街道：催报清单按街道制作")
    if not load_scope(session, collection.scope_code).covers(street_code):
        raise ReminderError(f"{scope.name} 不在“{collection.title}”的范围内")
    return [{**b, "name": b["name"] or UNPLACED, "follow_up": FOLLOW_UP_LABELS.get(b["follow_up"], b["follow_up"])}
            for b in missing_respondents(session, collection, day, {street_code})]


def write_collection_reminders(session: Session, out: Path | IO[bytes], collection: Collection, *, street_code: str,
                               day: date, user_name: str, contacts: bool = True) -> int:
    """The printed list; returns how many respondents it names."""
    buildings = street_missing(session, collection, street_code, day)
    write_reminder_sheet(out, street_name=load_scope(session, street_code).name, day=day, user_name=user_name,
                         buildings=buildings, contacts=contacts, subject=f"“{collection.title}”")
    return sum(len(b["silent"]) for b in buildings)


def reminder_message(collection: Collection, street_name: str, day: date,
                     buildings: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The text a group robot posts and the owners' mobiles it mentions. Contacts' names are masked: the
    group sees the building and the enterprise, the mention reaches the owner."""
    silent = sum(len(b["silent"]) for b in buildings)
    if not silent:
        return f"【{collection.title}】{street_name}截至 {day.isoformat()} 已全部填报，谢谢各位。", []
    lines = [f"【{collection.title}】{street_name}截至 {day.isoformat()} 还有 {silent} 家未填报，请楼宇业主督促："]
    for n, b in enumerate(buildings[:PUSH_LISTED_BUILDINGS], start=1):
        names = "、".join(name for name, _ in b["silent"][:5]) + (f" 等 {len(b['silent'])} 家" if len(b["silent"]) > 5 else "")
        who = f"（{b['owner']}，{mask_name(b['owner_contact'])}）" if b.get("owner") and b.get("owner_contact") else ""
        lines.append(f"{n}. {b['name']}{who}：{names}")
    if len(buildings) > PUSH_LISTED_BUILDINGS:
        lines.append(f"……另有 {len(buildings) - PUSH_LISTED_BUILDINGS} 栋楼宇，详见催报清单。")
    mobiles = sorted({p for b in buildings if (p := (b.get("owner_phone") or "").strip()).isdigit()
                      and len(p) == MOBILE_LENGTH and p.startswith("1")})
    return "\n".join(lines), mobiles


def webhook_url(session: Session, street_code: str) -> str | None:
    """The street's robot, else $ONENET_WEBHOOK_URL, else None."""
    row = session.get(StreetWebhook, street_code)
    return row.url if row is not None else (os.environ.get("ONENET_WEBHOOK_URL") or None)


def set_webhook(session: Session, street_code: str, url: str | None, by: str) -> None:
    """Set (or, with None, clear) a street's robot address; only http(s) addresses are taken."""
    if load_scope(session, street_code).level != "street":
        raise ReminderError(f"{street_code} 不是街道：群机器人按街道设置")
    row = session.get(StreetWebhook, street_code)
    if url is None:
        if row is not None:
            session.delete(row)
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ReminderError("群机器人地址应以 https:// 开头（企业微信、钉钉群机器人的 Webhook 地址）")
    if row is None:
        session.add(StreetWebhook(street_code=street_code, url=url, set_by=by[:64], set_at=config.local_now()))
    else:
        row.url, row.set_by, row.set_at = url, by[:64], config.local_now()


def push(url: str, content: str, mobiles: list[str], timeout: float = PUSH_TIMEOUT_SECONDS) -> PushResult:
    """One POST to the robot; ``ok`` only when it answers 200 with errcode 0 (how both robots say they posted)."""
    body = json.dumps({"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mobiles}},
                      ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only: set_webhook)
            status, text = response.status, response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return PushResult(False, exc.code, f"群机器人拒绝了消息（HTTP {exc.code}）：请核对地址是否有效", len(mobiles))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return PushResult(False, None, f"无法连接群机器人（{reason}）：消息未发出，请稍后再试或核对地址", len(mobiles))
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {}
    if status == 200 and answer.get("errcode", 0) == 0:
        return PushResult(True, status, "已推送到群", len(mobiles))
    return PushResult(False, status, f"群机器人未接受消息：{answer.get('errmsg') or text[:200]}", len(mobiles))


def push_reminder(session: Session, collection: Collection, street_code: str, day: date) -> PushResult:
    """Send the street's reminder to its robot once; a street without one is an error saying how to set it."""
    url = webhook_url(session, street_code)
    if url is None:
        raise ReminderError("该街道未设置群机器人：请用 onenet collections webhook --street … --url … 设置，"
                            "或设置环境变量 ONENET_WEBHOOK_URL")
    content, mobiles = reminder_message(collection, load_scope(session, street_code).name, day,
                                        street_missing(session, collection, street_code, day))
    return push(url, content, mobiles)
