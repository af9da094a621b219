"""Dashboard users: passwords (werkzeug hashes), Flask-Login sessions, the login page, demo users.

Every page and callback asks ``current_account()`` who is logged in; what they may see is the
scope of their ``scope_code`` (etl.scope), enforced on the server.
"""
from __future__ import annotations

import hmac
import html
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from urllib.parse import urlparse

import flask
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from etl import config
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


def create_user(session: Session, username: str, password: str, role: str, scope_code: str,
                display_name: str | None = None, can_see_personal_data: bool = False) -> User:
    """Add a dashboard user; raises ValueError for a taken name, a bad role or scope, a short password."""
    username = username.strip()
    if not username:
        raise ValueError("username must not be empty")
    _check_role(role)
    _check_scope(session, scope_code)
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} exists already: use `onenet users passwd {username}` to change the password")
    user = User(username=username, display_name=display_name, password_hash=generate_password_hash(password),
                role=role, scope_code=scope_code, can_see_personal_data=can_see_personal_data, active=True,
                created_at=config.local_now())
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValueError(f"no user {username!r}: see `onenet users list`")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    user.password_hash = generate_password_hash(password)


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


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 · 一网统管·复工复产</title>
<link rel="stylesheet" href="/assets/00_bootstrap.min.css"><link rel="stylesheet" href="/assets/10_onenet.css">
</head><body class="login-body">
<div class="onenet-header"><div class="onenet-brand"><span class="onenet-logo">◆</span>一网统管·复工复产</div></div>
<main class="login-wrap"><form method="post" class="login-card card shadow-sm" autocomplete="on">
<h1 class="h5 mb-3">登录</h1>{error}
<label class="form-label" for="username">用户名</label>
<input class="form-control mb-3" id="username" name="username" value="{username}" required autofocus>
<label class="form-label" for="password">密码</label>
<input class="form-control mb-3" id="password" name="password" type="password" required>
<input type="hidden" name="next" value="{next}">
<button class="btn btn-primary w-100" id="login-submit" type="submit">登录</button>
<p class="text-muted small mt-3 mb-0">账号由市级管理员开通（onenet users add）。</p>
</form></main></body></html>"""


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect to another host after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


PUBLIC_PREFIXES = ("/login", "/logout", "/assets/", "/_dash-component-suites/", "/_favicon.ico",
                   "/q/", "/api/intake/", "/intake-assets/")
PUBLIC_PATHS = frozenset({"/api/intake"})  # the JSON intake with the token as ``Authorization: Bearer``


def init_login(server: flask.Flask, engine: Engine, public_prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> None:
    """Sessions, /login and /logout; every path not under ``public_prefixes`` needs a logged-in user.

    Public are the login page, static code and styles (no data), and the QR intake form, which
    enterprises use without an account.
    """
    server.config.update(
        SECRET_KEY=secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    manager = LoginManager()
    manager.init_app(server)

    @manager.user_loader
    def load_user(user_id: str) -> Account | None:
        with Session(engine) as session:
            user = session.get(User, int(user_id)) if user_id.isdigit() else None
            return _account(user) if user is not None and user.active else None

    def login() -> Any:
        error, username = "", ""
        target = _safe_next(flask.request.values.get("next"))
        if flask.request.method == "POST":
            username = flask.request.form.get("username", "")
            with Session(engine) as session:
                user = check_login(session, username, flask.request.form.get("password", ""))
                account = _account(user) if user is not None else None
            if account is not None:
                flask.session.clear()
                login_user(account)
                return flask.redirect(target)
            error = '<div class="alert alert-danger py-2" id="login-error">用户名或密码不正确</div>'
        page = LOGIN_PAGE.format(error=error, username=html.escape(username), next=html.escape(target))
        return flask.Response(page, status=401 if error else 200, mimetype="text/html")

    def logout() -> Any:
        logout_user()
        flask.session.clear()
        return flask.redirect("/login")

    server.add_url_rule("/login", "onenet_login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "onenet_logout", logout, methods=["GET", "POST"])

    @server.before_request
    def require_login() -> Any:
        path = flask.request.path
        if path.startswith(public_prefixes) or path in PUBLIC_PATHS or current_account() is not None:
            return None
        if path.startswith("/_dash-") or flask.request.method != "GET":
            return flask.Response('{"error": "未登录或登录已过期，请刷新页面重新登录"}', status=401,
                                  mimetype="application/json")
        return flask.redirect("/login?next=" + flask.request.full_path.rstrip("?"))
