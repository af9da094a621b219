"""用户管理 and 我的账户: the users an actor manages, and each change to a user, checked against
dashboard.access and recorded in the audit trail in the same transaction (etl.audit)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from dashboard.access import NotAllowed, Person, check_create, check_manage, client_address, in_reach
from dashboard.auth import (ROLE_LABELS, create_user, disable_user, enable_user, login_paused_until, paused_message,
                            set_password)
from etl import config
from etl.audit import record
from etl.divisions import DivisionTree
from schemas.audit import LoginAttempt
from schemas.models import User


def users_in_reach(session: Session, actor: Person, tree: DivisionTree) -> list[dict[str, Any]]:
    """The users ``actor`` manages (everyone for an admin, the street users of their district for a district
    leader), by user name."""
    out = []
    for u in session.scalars(select(User).order_by(User.username)):
        if not in_reach(actor, u, tree):
            continue
        out.append({
            "username": u.username, "display_name": u.display_name or "", "role": ROLE_LABELS.get(u.role, u.role),
            "scope": tree.display(u.scope_code), "scope_code": u.scope_code,
            "personal": "是" if u.can_see_personal_data else "否", "active": u.active,
            "state": "正常" if u.active else "已停用", "created_by": u.created_by or "", "created_at": u.created_at,
        })
    return out


def _target(session: Session, actor: Person, username: str, tree: DivisionTree) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotAllowed(f"没有用户 {username}")
    check_manage(actor, user, tree)
    return user


def add_user(session: Session, actor: Person, tree: DivisionTree, *, username: str, password: str, role: str,
             scope_code: str, display_name: str | None = None, personal: bool = False) -> User:
    """A new user, if ``actor`` may add it (NotAllowed otherwise; ValueError for a taken name or a weak password)."""
    check_create(actor, role, scope_code, personal, tree)
    username = username.strip()
    if not username:
        raise ValueError("请填写用户名")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"用户名 {username} 已被使用")
    user = create_user(session, username, password, role, scope_code, (display_name or "").strip() or None, personal,
                       created_by=actor.username)
    record(session, actor.username, "user_add", scope_code=scope_code, address=client_address(), user=user.username,
           role=role, personal_data=personal)
    return user


def reset_password(session: Session, actor: Person, tree: DivisionTree, username: str, password: str) -> User:
    """A new password for a user ``actor`` manages; every session of that user ends (dashboard.auth.set_password)."""
    user = _target(session, actor, username, tree)
    set_password(session, user.username, password)
    record(session, actor.username, "user_passwd", scope_code=user.scope_code, address=client_address(), user=user.username)
    return user


def disable(session: Session, actor: Person, tree: DivisionTree, username: str) -> User:
    user = _target(session, actor, username, tree)
    disable_user(session, user.username, by=actor.username)
    record(session, actor.username, "user_disable", scope_code=user.scope_code, address=client_address(), user=user.username)
    return user


def enable(session: Session, actor: Person, tree: DivisionTree, username: str) -> User:
    user = _target(session, actor, username, tree)
    enable_user(session, user.username)
    record(session, actor.username, "user_enable", scope_code=user.scope_code, address=client_address(), user=user.username)
    return user


def set_personal_data(session: Session, actor: Person, tree: DivisionTree, username: str, granted: bool) -> User:
    """Grant or withdraw a user's right to see personal data unmasked: an admin's decision only (it takes effect
    on the user's next request, which reads the user again)."""
    user = _target(session, actor, username, tree)
    if actor.role != "admin":
        raise NotAllowed("只有系统管理员可以授予或撤销查看个人信息的权限")
    user.can_see_personal_data = granted
    record(session, actor.username, "user_grant", scope_code=user.scope_code, address=client_address(), user=user.username,
           personal_data=granted)
    return user


class WrongPassword(ValueError):
    """The current password given on 我的账户 is not the user's."""


def change_own_password(session: Session, username: str, old: str, new: str) -> User:
    """The user's own new password, given the current one; their other sessions end (set_password).

    A wrong current password counts as a failed login and is audited as one, and the same pause applies
    (dashboard/auth.py): someone holding a stolen session cannot guess the password here either.  It is
    added to the session before WrongPassword is raised; the caller commits it."""
    address, now = client_address() or "-", config.local_now()
    if (until := login_paused_until(session, username, address, now)) is not None:
        raise WrongPassword(paused_message(until))
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or not check_password_hash(user.password_hash, old):
        session.add(LoginAttempt(at=now, username=username, address=address, ok=False))
        record(session, username, "login_failed", address=address, page="我的账户")
        raise WrongPassword("当前密码不正确")
    if new == old:
        raise ValueError("新密码不能与当前密码相同")
    set_password(session, user.username, new)
    record(session, user.username, "password_change", scope_code=user.scope_code, address=client_address())
    return user
