"""Who may do what beyond seeing their scope: see personal data unmasked, launch collections (信息收集), and
manage which users (docs/rules.md#users-and-scopes).

Every view and export is cut to the user's scope before these questions are asked, so "the contacts of
a street" are always those of a street the user may see.

Personal data comes in two kinds:

- returning staff (names, phone numbers): unmasked only for a user granted personal data
  (``can_see_personal_data``);
- contacts (an enterprise's contact person and mobile, a building owner's contact person and phone):
  unmasked for a street official (role ``street``), who must call them, and for a user granted personal
  data; masked for everyone else, analysts included.

Users: an admin manages every user and is the only one who grants personal data; a district leader adds,
disables, re-enables and resets the password of street users of the streets of their own district and of
nobody else; no other role manages users.  Each check raises ``NotAllowed`` with the reason in Chinese.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import flask
from sqlalchemy.orm import Session

from dashboard.auth import ROLE_LABELS, ROLES
from etl import config
from etl.audit import cli_actor, record
from etl.divisions import DivisionTree

MANAGERS = ("admin", "district")
ROLE_LEVEL = {"district": "district", "street": "street"}
"""Roles whose scope must be a unit of one level: a district leader's a district, a street official's a street."""


class Person(Protocol):
    """A dashboard account or a stored user: what the rules look at."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def scope_code(self) -> str: ...
    @property
    def can_see_personal_data(self) -> bool: ...


@dataclass(frozen=True)
class Actor:
    """Someone acting without a dashboard session: the command line acts as an admin of the city."""

    username: str
    role: str
    scope_code: str
    can_see_personal_data: bool = True


def command_line() -> Actor:
    return Actor(cli_actor(), "admin", config.CITY_CODE)


class NotAllowed(PermissionError):
    """The acting user may not do this; the message says why, in the words the pages show."""


# --------------------------------------------------------------------------- personal data


@dataclass(frozen=True)
class Unmasked:
    """Which kinds of personal data a viewer sees unmasked (etl.masking masks the rest)."""

    staff: bool = False
    contacts: bool = False

    @property
    def anything(self) -> bool:
        return self.staff or self.contacts


def unmasked(viewer: Person | None) -> Unmasked:
    """The one answer to "may this user see the personal data of the streets in their scope?"."""
    if viewer is None:
        return Unmasked()
    granted = bool(viewer.can_see_personal_data)
    return Unmasked(staff=granted, contacts=granted or viewer.role == "street")


def client_address() -> str | None:
    return flask.request.remote_addr if flask.has_request_context() else None


def record_view(session: Session, viewer: Person, what: str, *, scope_code: str, day: object, rows: int | None) -> None:
    """One audit entry for a page view or export that showed ``rows`` rows of unmasked personal data (not one
    entry per row; None: an export, whose own entry counts its rows); the caller commits."""
    if rows is None or rows > 0:
        record(session, viewer.username, "personal_view", scope_code=scope_code, day=str(day)[:10], rows=rows,
               personal=True, address=client_address(), what=what)


# --------------------------------------------------------------------------- collections

LAUNCHERS = ("admin", "city", "district", "street")


def may_launch_collections(account: Person | None) -> bool:
    """May ``account`` create collections (信息收集) within their scope and see their drafts? Analysts may not."""
    return account is not None and account.role in LAUNCHERS


# --------------------------------------------------------------------------- users


def manages_users(actor: Person | None) -> bool:
    return actor is not None and actor.role in MANAGERS


def assignable_roles(actor: Person) -> tuple[str, ...]:
    """The roles ``actor`` may give a new user."""
    if actor.role == "admin":
        return ROLES
    return ("street",) if actor.role == "district" else ()


def assignable_scopes(actor: Person, tree: DivisionTree) -> list[str]:
    """The division codes ``actor`` may give a new user: any unit for an admin, the streets of a district leader's district."""
    if actor.role == "admin":
        return [config.CITY_CODE, *tree.codes_at("district"), *tree.codes_at("street")]
    if actor.role == "district":
        return sorted(tree.streets_under(actor.scope_code))
    return []


def check_create(actor: Person, role: str, scope_code: str, personal: bool, tree: DivisionTree) -> None:
    """May ``actor`` add a user of ``role`` over ``scope_code`` (granted personal data or not)?"""
    if not manages_users(actor):
        raise NotAllowed("无权管理用户")
    if role not in assignable_roles(actor):
        raise NotAllowed(f"无权新增{ROLE_LABELS.get(role, role)}账号：区领导只能新增本区街道工作人员")
    if scope_code not in assignable_scopes(actor, tree):
        raise NotAllowed(f"无权为 {tree.display(scope_code)} 新增账号：只能新增本区各街镇的账号")
    wanted = ROLE_LEVEL.get(role)
    if wanted is not None and tree.level_of(scope_code) != wanted:
        raise NotAllowed(f"{ROLE_LABELS[role]}的范围必须是一个{'区' if wanted == 'district' else '街镇'}")
    if personal and actor.role != "admin":
        raise NotAllowed("只有系统管理员可以授予查看个人信息的权限")


def check_manage(actor: Person, target: Person, tree: DivisionTree) -> None:
    """May ``actor`` reset the password of, disable or re-enable ``target``?"""
    if actor.role == "admin":
        return
    if actor.role == "district" and target.role == "street" and target.scope_code in tree.streets_under(actor.scope_code):
        return
    raise NotAllowed(f"无权管理用户 {target.username}：区领导只能管理本区街道工作人员")


def in_reach(actor: Person, target: Person, tree: DivisionTree) -> bool:
    """Is ``target`` among the users ``actor`` manages (and so sees on 用户管理)?"""
    try:
        check_manage(actor, target, tree)
    except NotAllowed:
        return False
    return True
