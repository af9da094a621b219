"""我的账户: who the logged-in user is, what they may see, and a change of their own password (the current
one first, the new one twice); the change ends the user's other sessions and is audited."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, callback, html, no_update

from dashboard import access
from dashboard import components as ui
from dashboard import context
from dashboard import queries as q
from dashboard.auth import PASSWORD_RULE, SESSION_VERSION_KEY, current_account
from dashboard.queries import users as uq

dash.register_page(__name__, path="/account", name="我的账户", title="我的账户 · 一网统管", order=11, in_nav=False)


def _password(id: str, label: str, autocomplete: str) -> html.Div:
    return html.Div([dbc.Label(label, html_for=id, className="small mb-1"),
                     dbc.Input(id=id, type="password", autoComplete=autocomplete)], className="mb-2")


def layout(**_: Any) -> Any:
    account = current_account()
    if account is None:
        return html.Div("未登录或登录已过期", className="alert alert-warning", id="page-refused")
    with context.session() as s:
        scope = q.load_divisions(s).display(account.scope_code)
    shown = access.unmasked(account)
    personal = ("可查看未脱敏的个人信息" if shown.staff else
                "可查看本街镇联系人的完整姓名和电话；返岗人员姓名、手机号脱敏显示" if shown.contacts else
                "个人信息（姓名、手机号、联系人电话）脱敏显示")
    facts = [("username", "用户名", account.username), ("name", "姓名/单位", account.display_name or "–"),
             ("role", "角色", account.role_label), ("scope", "范围", scope), ("personal", "个人信息", personal)]
    return html.Div([
        html.H1("我的账户", className="page-title", id="page-title"),
        dbc.Row([
            dbc.Col(ui.section("账户信息", html.Dl([part for key, label, value in facts
                                                    for part in (html.Dt(label), html.Dd(value, id=f"account-{key}"))],
                                                   className="mb-0")), lg=5),
            dbc.Col(ui.section("修改密码",
                               _password("account-old", "当前密码", "current-password"),
                               _password("account-new", "新密码", "new-password"),
                               _password("account-new2", "再次输入新密码", "new-password"),
                               dbc.Button("修改密码", id="account-save", color="primary", size="sm"),
                               html.Div(id="account-msg"),
                               subtitle=f"{PASSWORD_RULE}；修改后，您在其他设备和浏览器上的登录将失效"), lg=7),
        ], className="g-3"),
    ], className="page page-account")


@callback(Output("account-msg", "children"), Input("account-save", "n_clicks"),
          State("account-old", "value"), State("account-new", "value"), State("account-new2", "value"),
          prevent_initial_call=True)
def change_password(n_clicks: int | None, old: str | None, new: str | None, again: str | None) -> Any:
    """The logged-in user's own password (never anyone else's: the name comes from the session)."""
    if not n_clicks:
        return no_update
    account = current_account()
    if account is None:
        return html.Div("未登录或登录已过期", className="alert alert-danger py-2 mt-2")
    if (new or "") != (again or ""):
        return html.Div("两次输入的新密码不一致", className="alert alert-danger py-2 mt-2")
    with context.session() as s:
        try:
            version = uq.change_own_password(s, account.username, old or "", new or "").session_version
            s.commit()
        except uq.WrongPassword as exc:
            s.commit()  # the failed try counts towards the login pause
            return html.Div(str(exc), className="alert alert-danger py-2 mt-2")
        except ValueError as exc:
            s.rollback()
            return html.Div(str(exc), className="alert alert-danger py-2 mt-2")
    flask.session[SESSION_VERSION_KEY] = version  # this session goes on; the user's others have ended
    return html.Div("密码已修改；您在其他设备和浏览器上的登录已失效", className="alert alert-success py-2 mt-2",
                    id="account-done")
