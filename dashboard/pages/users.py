"""用户管理: an admin manages every user; a district leader adds, disables, re-enables and resets the password
of the street users of their own district.  Nobody else sees the page (dashboard.access); every callback
asks the rules again on the server, whatever the browser sends, and every change is audited."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import access
from dashboard import components as ui
from dashboard import context
from dashboard import queries as q
from dashboard.auth import PASSWORD_RULE, ROLE_LABELS, Account, current_account
from dashboard.queries import users as uq

dash.register_page(__name__, path="/users", name="用户管理", title="用户管理 · 一网统管", order=10,
                   shown_to=access.manages_users)

USER_COLUMNS = [("username", "用户名"), ("display_name", "姓名/单位"), ("role", "角色"), ("scope", "范围"),
                ("personal", "可看个人信息"), ("state", "状态"), ("created_by", "创建人"), ("created_at", "创建时间")]
REFUSED = "无权查看"


def refused_page(title: str) -> html.Div:
    return html.Div([html.H1(title, className="page-title", id="page-title"),
                     html.Div(REFUSED, className="alert alert-warning", id="page-refused")], className="page")


def _alert(text: str, ok: bool = False) -> html.Div:
    return html.Div(text, className=f"alert alert-{'success' if ok else 'danger'} py-2 mb-0 mt-2")


def _manager() -> Account | None:
    account = current_account()
    return account if access.manages_users(account) else None


def _users(account: Account) -> tuple[list[dict[str, Any]], Any]:
    with context.session() as s:
        tree = q.load_divisions(s)
        users = uq.users_in_reach(s, account, tree)
    return users, ui.table(USER_COLUMNS, users, id="users-table", empty="还没有可管理的用户")


def _target_options(users: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"label": f"{u['username']}（{u['display_name'] or u['role']} · {u['scope']} · {u['state']}）",
             "value": u["username"]} for u in users]


def _field(label: str, control: Any) -> html.Div:
    return html.Div([dbc.Label(label, html_for=control.id, className="small mb-1"), control], className="mb-2")


def layout(**_: Any) -> Any:
    account = _manager()
    if account is None:
        return refused_page("用户管理")
    with context.session() as s:
        tree = q.load_divisions(s)
        roles = access.assignable_roles(account)
        scopes = access.assignable_scopes(account, tree)
        scope_options = [{"label": " · ".join(tree.display(c) for c in tree.path(c)[1:]) or tree.display(c), "value": c}
                         for c in scopes]
    users, table = _users(account)
    wide = account.role == "admin"
    add_form = [
        _field("用户名", dbc.Input(id="new-username", maxLength=64, autoComplete="off")),
        _field("姓名或单位（可选）", dbc.Input(id="new-display", maxLength=64)),
        _field("角色", dcc.Dropdown(id="new-role", options=[{"label": ROLE_LABELS[r], "value": r} for r in roles],
                                    value=roles[0] if len(roles) == 1 else None, clearable=False, searchable=False)),
        _field("范围", dcc.Dropdown(id="new-scope", options=scope_options, placeholder="选择区或街镇", searchable=True)),
        dbc.Checkbox(id="new-personal", label="可查看未脱敏的个人信息（只有系统管理员可以授予）", value=False,
                     disabled=not wide, className="mb-2" if wide else "d-none"),
        _field("初始密码", dbc.Input(id="new-password", type="password", autoComplete="new-password")),
        _field("再次输入", dbc.Input(id="new-password2", type="password", autoComplete="new-password")),
        dbc.Button("新增用户", id="users-add", color="primary", size="sm"),
        html.Div(id="users-add-msg"),
    ]
    manage_form = [
        _field("用户", dcc.Dropdown(id="users-target", options=_target_options(users), placeholder="选择用户", searchable=True)),
        _field("新密码（重置密码时填写）", dbc.Input(id="reset-password", type="password", autoComplete="new-password")),
        _field("再次输入", dbc.Input(id="reset-password2", type="password", autoComplete="new-password")),
        html.Div([dbc.Button("重置密码", id="users-reset", color="primary", size="sm"),
                  dbc.Button("停用", id="users-disable", color="danger", outline=True, size="sm"),
                  dbc.Button("启用", id="users-enable", color="success", outline=True, size="sm"),
                  *([dbc.Button("授予个人信息权限", id={"type": "users-grant-button", "grant": 1}, color="secondary", outline=True, size="sm"),
                     dbc.Button("撤销个人信息权限", id={"type": "users-grant-button", "grant": 0}, color="secondary", outline=True, size="sm")]
                    if account.role == "admin" else [])], className="follow-row"),
        html.Div(id="users-manage-msg"),
    ]
    reach = "全部用户" if wide else f"{tree.display(account.scope_code)}各街镇的街道工作人员"
    return html.Div([
        html.H1("用户管理", className="page-title", id="page-title"),
        dbc.Row([
            dbc.Col(ui.section("新增用户", *add_form, subtitle=PASSWORD_RULE), lg=6),
            dbc.Col(ui.section("重置密码、停用或启用", *manage_form,
                               subtitle="重置密码或停用后，该用户已登录的会话立即失效"), lg=6),
        ], className="g-3"),
        ui.section(f"用户（{reach}）", html.Div(table, id="users-list"),
                   subtitle="每次新增、重置密码、停用、启用和授予或撤销个人信息权限都记入审计日志"),
    ], className="page page-users")


def _refresh(account: Account) -> tuple[Any, Any]:
    users, table = _users(account)
    return table, _target_options(users)


@callback(Output("users-add-msg", "children"), Output("users-list", "children", allow_duplicate=True),
          Output("users-target", "options", allow_duplicate=True),
          Input("users-add", "n_clicks"),
          State("new-username", "value"), State("new-display", "value"), State("new-role", "value"),
          State("new-scope", "value"), State("new-personal", "value"), State("new-password", "value"),
          State("new-password2", "value"),
          prevent_initial_call=True)
def add_user(n_clicks: int | None, username: str | None, display: str | None, role: str | None, scope: str | None,
             personal: bool | None, password: str | None, again: str | None) -> tuple[Any, Any, Any]:
    """A new user, as the rules allow the logged-in manager (checked here, not in the browser)."""
    if not n_clicks:
        return no_update, no_update, no_update
    account = _manager()
    if account is None:
        return _alert("无权管理用户"), no_update, no_update
    if not (username or "").strip() or not role or not scope:
        return _alert("请填写用户名，并选择角色和范围"), no_update, no_update
    if (password or "") != (again or ""):
        return _alert("两次输入的密码不一致"), no_update, no_update
    try:
        with context.session() as s, s.begin():
            user = uq.add_user(s, account, q.load_divisions(s), username=username or "", password=password or "",
                               role=role, scope_code=scope, display_name=display, personal=bool(personal))
            done = f"已新增用户 {user.username}（{ROLE_LABELS[user.role]}）"
    except (access.NotAllowed, ValueError) as exc:
        return _alert(str(exc)), no_update, no_update
    return (_alert(done, ok=True), *_refresh(account))


@callback(Output("users-manage-msg", "children"), Output("users-list", "children", allow_duplicate=True),
          Output("users-target", "options", allow_duplicate=True),
          Input("users-reset", "n_clicks"), Input("users-disable", "n_clicks"), Input("users-enable", "n_clicks"),
          Input({"type": "users-grant-button", "grant": ALL}, "n_clicks"),
          State("users-target", "value"), State("reset-password", "value"), State("reset-password2", "value"),
          prevent_initial_call=True)
def manage_user(reset: int | None, disable: int | None, enable: int | None, grants: list[int | None], username: str | None,
                password: str | None, again: str | None) -> tuple[Any, Any, Any]:
    """Reset the password of, disable or re-enable a user the logged-in manager manages; an admin also grants
    or withdraws personal data."""
    action = ctx.triggered_id
    if isinstance(action, dict):
        action = "users-grant" if action.get("grant") else "users-revoke"
    if action not in ("users-reset", "users-disable", "users-enable", "users-grant", "users-revoke") or not (
            reset or disable or enable or any(grants or [])):
        return no_update, no_update, no_update
    account = _manager()
    if account is None:
        return _alert("无权管理用户"), no_update, no_update
    if not username:
        return _alert("请先选择用户"), no_update, no_update
    if action == "users-reset" and (password or "") != (again or ""):
        return _alert("两次输入的密码不一致"), no_update, no_update
    try:
        with context.session() as s, s.begin():
            tree = q.load_divisions(s)
            if action == "users-reset":
                uq.reset_password(s, account, tree, username, password or "")
                done = f"已重置 {username} 的密码，其已登录的会话已失效"
            elif action == "users-disable":
                uq.disable(s, account, tree, username)
                done = f"已停用 {username}，其已登录的会话已失效"
            elif action == "users-enable":
                uq.enable(s, account, tree, username)
                done = f"已启用 {username}"
            else:
                uq.set_personal_data(s, account, tree, username, action == "users-grant")
                done = f"已{'授予' if action == 'users-grant' else '撤销'} {username} 查看个人信息的权限"
    except (access.NotAllowed, ValueError) as exc:
        return _alert(str(exc)), no_update, no_update
    return (_alert(done, ok=True), *_refresh(account))
