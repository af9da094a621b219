"""Dashboard users: passwords (werkzeug hashes), Flask-Login sessions, the login page, demo users.

Every page and callback asks ``current_account()`` who is logged in; what they may see is the
scope of their ``scope_code`` (etl.scope), enforced on the server.  Guessed passwords pause logins
(``try_login``); logout, a new password and disabling end every session of the user (``end_sessions``).
The rules: docs/rules.md#logins-and-sessions.
"""
from __future__ import annotations

import hmac
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any
from urllib.parse import urlparse

import flask
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import Engine, false, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard import security
from etl import audit, config
from etl.masking import mask_text
from schemas.audit import LoginAttempt
from schemas.models import Division, User

ROLES = ("admin", "city", "district", "street", "analyst")
ROLE_LABELS = {"admin": "系统管理员", "city": "市级", "district": "区领导", "street": "街道工作人员", "analyst": "分析员"}
DEMO_DISTRICT = "310105"

# Demo accounts only (created by `onenet demo`); ensure_demo_users resets them to these passwords.
_DEMO_PASSWORDS = {
    "admin": "onenet-admin-2020",
    "changning": "onenet-district-2020",
    "street": "onenet-street-2020",
    "analyst": "onenet-analyst-2020",
}


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def _check_scope(session: Session, scope_code: str) -> Division:
    division = session.get(Division, scope_code)
    if division is None:
        raise ValueError(f"unknown division code {scope_code!r}: load the division registry (区划表) first, "
                         f"or use a district code such as 310105 or the city code {config.CITY_CODE}")
    return division


MIN_PASSWORD_LENGTH = 10
PASSWORD_RULE = f"密码至少 {MIN_PASSWORD_LENGTH} 个字符，且不能与用户名相同"


class WeakPassword(ValueError):
    """A password that breaks PASSWORD_RULE; its message is the rule, in the words the pages show."""


def check_password_rule(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH or password.strip().lower() == username.strip().lower():
        raise WeakPassword(PASSWORD_RULE)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValueError(f"no user {username!r}: see `onenet users list`")
    return user


def create_user(session: Session, username: str, password: str, role: str, scope_code: str,
                display_name: str | None = None, can_see_personal_data: bool = False,
                created_by: str | None = None) -> User:
    """Add a dashboard user; raises ValueError for a taken name, a bad role or scope, WeakPassword for a weak password."""
    username = username.strip()
    if not username:
        raise ValueError("username must not be empty")
    _check_role(role)
    _check_scope(session, scope_code)
    check_password_rule(username, password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} exists already: use `onenet users passwd {username}` to change the password")
    user = User(username=username, display_name=display_name, password_hash=generate_password_hash(password),
                role=role, scope_code=scope_code, can_see_personal_data=can_see_personal_data, active=True,
                created_at=config.local_now(), created_by=created_by, session_version=0)
    session.add(user)
    session.flush()
    return user


def end_sessions(user: User) -> None:
    """Every session cookie of ``user`` stops working at its next request (the loader compares versions)."""
    user.session_version = (user.session_version or 0) + 1


def set_password(session: Session, username: str, password: str) -> User:
    """A new password (WeakPassword if it breaks the rule); every open session of the user ends."""
    user = _user(session, username)
    check_password_rule(user.username, password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    return user


def disable_user(session: Session, username: str, by: str) -> User:
    """The user can no longer log in and every open session ends; nobody disables themselves (``by``)."""
    if username == by:
        raise ValueError("不能停用自己的账号")
    user = _user(session, username)
    user.active = False
    end_sessions(user)
    return user


def enable_user(session: Session, username: str) -> User:
    user = _user(session, username)
    user.active = True
    return user


def check_login(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        generate_password_hash(password)  # same work whether or not the name exists
        return None
    return user if check_password_hash(user.password_hash, password) else None


def ensure_demo_users(session: Session) -> dict[str, str]:
    """The demo logins (username -> password): city admin, 长宁区 leader, a 长宁区 street official, an analyst.

    The street is the first street of 310105 in the division table.  Existing demo accounts are
    reset to the demo passwords so that the logins printed by `onenet demo` always work.
    """
    street = session.scalar(select(Division).where(Division.parent_code == DEMO_DISTRICT, Division.level == "street")
                            .order_by(Division.code).limit(1))
    district = _check_scope(session, DEMO_DISTRICT)
    specs: list[tuple[str, str, str, str, bool]] = [
        ("admin", "admin", config.CITY_CODE, "市级管理员", True),
        ("changning", "district", DEMO_DISTRICT, f"{district.name}领导", False),
        ("analyst", "analyst", config.CITY_CODE, "数据分析员", False),
    ]
    if street is not None:
        specs.insert(2, ("street", "street", street.code, f"{street.name}工作人员", True))
    logins = {}
    for username, role, scope, display, personal in specs:
        password = _DEMO_PASSWORDS[username]
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            create_user(session, username, password, role, scope, display, personal)
        else:
            user.password_hash = generate_password_hash(password)
            user.role, user.scope_code, user.display_name = role, scope, display
            user.can_see_personal_data, user.active = personal, True
        logins[username] = password
    session.flush()
    return logins


# --------------------------------------------------------------------------- Flask-Login


@dataclass
class Account(UserMixin):
    """The logged-in user as the web app sees it (a detached copy of the User row)."""

    id: int
    username: str
    display_name: str | None
    role: str
    scope_code: str
    can_see_personal_data: bool

    def get_id(self) -> str:
        return str(self.id)

    @property
    def label(self) -> str:
        return self.display_name or self.username

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def _account(user: User) -> Account:
    return Account(user.id, user.username, user.display_name, user.role, user.scope_code, user.can_see_personal_data)


def current_account() -> Account | None:
    return current_user if getattr(current_user, "is_authenticated", False) else None  # type: ignore[return-value]


def secret_key() -> bytes:
    """Session-cookie signing key, derived from the installation secret (stable across restarts)."""
    return hmac.new(config.installation_secret(), b"onenet-dashboard-session", sha256).digest()


# --------------------------------------------------------------------------- guessing passwords


@dataclass(frozen=True)
class LoginOutcome:
    account: Account | None = None
    session_version: int = 0
    paused_until: datetime | None = None


def _pause_end(failures: list[datetime], limit: int) -> datetime | None:
    """The end of the latest pause the failures (oldest first) caused: ``limit`` of them within the window."""
    for i in range(len(failures) - 1, limit - 2, -1):
        if failures[i] - failures[i - limit + 1] <= config.LOGIN_WINDOW:
            return failures[i] + config.LOGIN_PAUSE
    return None


def login_paused_until(session: Session, username: str, address: str, now: datetime) -> datetime | None:
    """When a login for this user name or from this address may be tried again; None when it may now.

    Failures are counted in login_attempt, so every thread and process of the server sees the same.
    Refused tries are not stored (knocking on does not prolong a pause); a user name's count starts
    again after its last successful login, an address's does not (one good account must not reset it).
    """
    since = now - config.LOGIN_WINDOW - config.LOGIN_PAUSE
    failed = select(LoginAttempt.at).where(LoginAttempt.ok == false(), LoginAttempt.at >= since).order_by(LoginAttempt.at)
    # After the last success by order of writing: times have whole seconds, a success and a failure may share one.
    last_ok = session.scalar(select(func.max(LoginAttempt.id))
                             .where(LoginAttempt.username == username, LoginAttempt.ok, LoginAttempt.at >= since))
    by_name = failed.where(LoginAttempt.username == username)
    by_name = by_name.where(LoginAttempt.id > last_ok) if last_ok is not None else by_name
    ends = [_pause_end(list(session.scalars(by_name)), config.LOGIN_FAILURES_PER_NAME),
            _pause_end(list(session.scalars(failed.where(LoginAttempt.address == address))),
                       config.LOGIN_FAILURES_PER_ADDRESS)]
    return max((end for end in ends if end is not None and end > now), default=None)


def try_login(session: Session, username: str, password: str, address: str) -> LoginOutcome:
    """One attempt on the login page: refused while paused, else checked, counted and audited (never the password)."""
    name, now = username.strip(), config.local_now()
    counted = mask_text(name)[:64] or "-"  # a phone number typed as the name is not kept
    until = login_paused_until(session, counted, address, now)
    if until is not None:
        audit.record(session, counted, "login_refused", address=address, until=until.isoformat(sep=" "))
        return LoginOutcome(paused_until=until)
    user = check_login(session, name, password)
    session.add(LoginAttempt(at=now, username=counted, address=address, ok=user is not None))
    if user is None:
        audit.record(session, counted, "login_failed", address=address)
        return LoginOutcome()
    audit.record(session, user.username, "login", scope_code=user.scope_code, address=address)
    return LoginOutcome(_account(user), user.session_version)


def paused_message(until: datetime) -> str:
    minutes = max(1, math.ceil((until - config.local_now()).total_seconds() / 60))
    return f"登录失败次数过多，已暂停登录：请于 {until:%H:%M} 后再试（约 {minutes} 分钟后）"


# --------------------------------------------------------------------------- pages and the login check


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 一网统管·复工复产</title>
<link rel="stylesheet" href="/assets/00_bootstrap.min.css"><link rel="stylesheet" href="/assets/10_onenet.css">
</head><body class="login-body">
<div class="onenet-header"><div class="onenet-brand"><span class="onenet-logo">◆</span>一网统管·复工复产</div></div>
<main class="login-wrap">{form}</main></body></html>"""

LOGIN_FORM = """<form method="post" action="/login" class="login-card card shadow-sm" autocomplete="on">
<h1 class="h5 mb-3">登录</h1>{error}
<label class="form-label" for="username">用户名</label>
<input class="form-control mb-3" id="username" name="username" value="{username}" required autofocus>
<label class="form-label" for="password">密码</label>
<input class="form-control mb-3" id="password" name="password" type="password" required>
<input type="hidden" name="next" value="{next}">{csrf}
<button class="btn btn-primary w-100" id="login-submit" type="submit">登录</button>
<p class="text-muted small mt-3 mb-0">账号由市级管理员开通（onenet users add）。</p>
</form>"""

LOGOUT_FORM = """<form method="post" action="/logout" class="login-card card shadow-sm">
<h1 class="h5 mb-3">退出登录</h1>{csrf}
<button class="btn btn-primary w-100" id="logout-submit" type="submit">退出</button>
<p class="text-muted small mt-3 mb-0"><a href="/">返回</a></p></form>"""


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect to another host after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


PUBLIC_RULES = frozenset({"/login", "/logout", "/_favicon.ico", "/api/intake"})
PUBLIC_RULE_PREFIXES = ("/assets/", "/_dash-component-suites/", "/q/", "/api/intake/", "/intake-assets/")
SESSION_VERSION_KEY = "onenet_sv"


def is_public() -> bool:
    """Open without login: the login page, static code and styles (no data), and the QR intake, which
    enterprises use without an account (the JSON intake takes its token as ``Authorization: Bearer``).

    Decided by the route the request matched, never by the path as typed: ``/q/../_dash-layout`` is
    matched by Dash's catch-all route, which needs a login like every other.
    """
    rule = flask.request.url_rule
    return rule is not None and (rule.rule in PUBLIC_RULES or rule.rule.startswith(PUBLIC_RULE_PREFIXES))


def init_login(server: flask.Flask, engine: Engine, script_sources: Callable[[], Sequence[str]] = lambda: ()) -> None:
    """Sessions, /login and /logout, the security checks and headers (dashboard.security); every route
    but the public ones (``is_public``) needs a logged-in user.

    A session lasts config.SESSION_IDLE_HOURS without a request (the signed cookie's timestamp, renewed by
    every request) and only as long as the user's ``session_version`` is the one it was opened with.
    """
    server.config.update(
        SECRET_KEY=secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.COOKIE_SECURE,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.SESSION_IDLE_HOURS),
        SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.COOKIE_SECURE,
    )
    manager = LoginManager()
    manager.init_app(server)

    @manager.user_loader
    def load_user(user_id: str) -> Account | None:
        with Session(engine) as session:
            user = session.get(User, int(user_id)) if user_id.isdigit() else None
            if user is None or not user.active or flask.session.get(SESSION_VERSION_KEY) != user.session_version:
                return None
            return _account(user)

    def page(title: str, form: str, status: int = 200) -> flask.Response:
        return flask.Response(LOGIN_PAGE.format(title=title, form=form), status=status, mimetype="text/html")

    def login() -> Any:
        target = _safe_next(flask.request.values.get("next"))
        username, error, status, paused = "", "", 200, None
        if flask.request.method == "POST":
            username = flask.request.form.get("username", "")
            address = (flask.request.remote_addr or "unknown")[:64]
            with Session(engine) as session, session.begin():
                outcome = try_login(session, username, flask.request.form.get("password", ""), address)
            if outcome.account is not None:
                flask.session.clear()
                flask.session.permanent = True
                login_user(outcome.account)
                flask.session[SESSION_VERSION_KEY] = outcome.session_version
                # The forms' token goes into the new session now: made later by the first page's layout, it was lost
                # when a request sent at the same time (a script of that page) answered with the cookie it came with.
                security.csrf_token()
                return flask.redirect(target)
            paused = outcome.paused_until
            message = paused_message(paused) if paused else "用户名或密码不正确"
            status = 429 if paused else 401
            error = f'<div class="alert alert-danger py-2" id="login-error">{html.escape(message)}</div>'
        form = LOGIN_FORM.format(error=error, username=html.escape(username), next=html.escape(target),
                                 csrf=security.csrf_field())
        response = page("登录", form, status)
        if paused is not None:
            wait = (paused - config.local_now()).total_seconds()
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def logout() -> Any:
        account = current_account()
        if account is None:
            return flask.redirect("/login")
        if flask.request.method != "POST":
            return page("退出登录", LOGOUT_FORM.format(csrf=security.csrf_field()))
        with Session(engine) as session, session.begin():
            user = session.get(User, account.id)
            if user is not None:
                end_sessions(user)
                audit.record(session, user.username, "logout", scope_code=user.scope_code,
                             address=flask.request.remote_addr)
        logout_user()
        flask.session.clear()
        return flask.redirect("/login")

    server.add_url_rule("/login", "onenet_login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "onenet_logout", logout, methods=["GET", "POST"])

    @server.before_request
    def require_login() -> Any:
        if any(part in (".", "..") for part in flask.request.path.split("/")):
            return flask.Response("Bad Request", status=400, mimetype="text/plain")
        if is_public() or current_account() is not None:
            return None
        flask.session.pop("_user_id", None)
        if flask.request.path.startswith("/_dash-") or flask.request.method != "GET":
            return flask.Response('{"error": "未登录或登录已过期，请刷新页面重新登录"}', status=401,
                                  mimetype="application/json")
        return flask.redirect("/login?next=" + flask.request.full_path.rstrip("?"))

    security.install(server, script_sources)
