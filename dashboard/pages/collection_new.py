"""新建信息收集: the form builder of a collection (docs/collections.md), with a live preview of the phone form its
respondents will fill in; a department's .xlsx template fills the builder with the guessed fields; 保存草稿 creates
the draft (or, on ?id=N, saves a new version), 发布 and 结束 open and close it.

Only users who may launch collections reach it (dashboard.access); every callback asks again on the server, and the
collection's scope is checked against the user's by etl.collections itself, whatever the browser sends.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import access, context, fill_export
from dashboard import components as ui
from dashboard import queries as q
from dashboard.auth import Account, current_account
from dashboard.queries import collection_new as cq
from etl import config
from etl.collection_template import DEFAULT_DAYS, definition_from_template
from etl.collections import CollectionError, answer_count, definition_of
from schemas.collection_tables import Collection
from schemas.collections import (
    CLOSED,
    DRAFT,
    FIELD_TYPE_LABELS,
    FREQUENCIES,
    OPEN,
    RESPONDENTS,
    STATUSES,
)

dash.register_page(__name__, path="/collections/new", name="新建信息收集", title="新建信息收集 · 一网统管", order=5,
                   in_nav=False, shown_to=access.may_launch_collections)

SETTINGS = (("title", "cn-title", "value"), ("department", "cn-department", "value"), ("scope", "cn-scope", "value"),
            ("respondents", "cn-respondents", "value"), ("buildings", "cn-buildings", "value"),
            ("frequency", "cn-frequency", "value"), ("start", "cn-dates", "start_date"), ("end", "cn-dates", "end_date"),
            ("deadline", "cn-deadline", "value"))
FIELD_PARTS = {"cn-flabel": "label", "cn-ftype": "type", "cn-frequired": "required", "cn-fkey": "key",
               "cn-fchoices": "choices", "cn-fmin": "min", "cn-fmax": "max"}
"""The pattern-matching ids of a field row's inputs, by the row item each holds (the row's index is its place)."""
SETTING_STATES = [State(i, p) for _, i, p in SETTINGS]
FIELD_STATES = [State({"type": t, "index": ALL}, "value") for t in FIELD_PARTS]
STATE_OUTPUTS = [Output("cn-state", "children", allow_duplicate=True), Output("cn-open", "disabled", allow_duplicate=True),
                 Output("cn-close", "disabled", allow_duplicate=True), Output("cn-save", "children", allow_duplicate=True)]
TYPE_OPTIONS = [{"label": label, "value": kind} for kind, label in FIELD_TYPE_LABELS.items()]
CHOICE_TYPES, BOUND_TYPES = ("choice", "choices"), ("integer", "number")
PLACEHOLDERS = {"date": "年 / 月 / 日", "datetime": "年 / 月 / 日 --:--", "uscc": "18 位，见营业执照"}
"""What the phone's empty input of a type shows (the preview draws the inputs, it does not make them)."""
REFUSED = "无权查看"
NOT_ALLOWED = "无权新建或修改信息收集"


def _launcher() -> Account | None:
    account = current_account()
    return account if access.may_launch_collections(account) else None


def _alert(text: str, ok: bool = False) -> html.Div:
    return html.Div(text, className=f"alert alert-{'success' if ok else 'danger'} py-2 mb-0 mt-2", role="alert")


def _settings(values: Sequence[Any]) -> dict[str, Any]:
    return dict(zip((name for name, _, _ in SETTINGS), values))


def _rows(groups: Sequence[Any]) -> list[dict[str, Any]]:
    """The field rows the browser sent (``ctx.states_list`` or ``inputs_list``), in the order of their indices."""
    rows: dict[int, dict[str, Any]] = {}
    for group in groups:
        for item in group if isinstance(group, list) else ():
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, dict) and ident.get("type") in FIELD_PARTS and str(ident.get("index")).isdigit():
                rows.setdefault(int(ident["index"]), {})[FIELD_PARTS[ident["type"]]] = item.get("value")
    return [rows[i] for i in sorted(rows)][:200]


# --------------------------------------------------------------------------- the fields editor


def _cell(caption: str, control: Any, extra: str = "") -> html.Label:
    """A control with its caption: shown above it on a phone, as the column's header on a desktop."""
    return html.Label([html.Span(caption, className="cn-cap"), control], className=f"cn-cell {extra}".strip())


def field_row(i: int, row: Mapping[str, Any], total: int) -> html.Div:
    kind = row.get("type") or "text"

    def part(name: str) -> dict[str, Any]:
        return {"type": f"cn-f{name}", "index": i}

    def tool(name: str, text: str, label: str, disabled: bool) -> html.Button:
        return html.Button(text, id=part(name), type="button", title=label, disabled=disabled,
                           className="cn-tool" + (" cn-tool-remove" if name == "remove" else ""), **{"aria-label": label})

    return html.Div([
        html.Span(str(i + 1), className="cn-row-n"),
        _cell("标签", dbc.Input(id=part("label"), value=row.get("label") or "", maxLength=60,
                                placeholder="如：需求数量(只)"), "cn-c-label"),
        _cell("类型", dbc.Select(id=part("type"), options=TYPE_OPTIONS, value=kind), "cn-c-type"),
        html.Div(dbc.Checkbox(id=part("required"), label="必填", value=bool(row.get("required"))),
                 className="cn-cell cn-c-req"),
        _cell("键", dbc.Input(id=part("key"), value=row.get("key") or "", maxLength=40, placeholder="自动"),
              "cn-c-key"),
        html.Div([tool("up", "↑", "上移", i == 0), tool("down", "↓", "下移", i == total - 1),
                  tool("remove", "✕", "删除此字段", False)], className="cn-cell cn-c-tools"),
        html.Div(_cell("选项（用顿号或逗号分隔）",
                       dbc.Input(id=part("choices"), value=row.get("choices") or "",
                                 placeholder="如：医用外科口罩、KN95、N95")),
                 id=part("choices-wrap"), className=_extra_class(kind in CHOICE_TYPES)),
        html.Div([_cell("最小", dbc.Input(id=part("min"), type="number", value=row.get("min"))),
                  _cell("最大", dbc.Input(id=part("max"), type="number", value=row.get("max")))],
                 id=part("bounds-wrap"), className=_extra_class(kind in BOUND_TYPES, "cn-bounds")),
    ], className="cn-row")


def _extra_class(shown: bool, extra: str = "") -> str:
    return f"cn-row-extra {extra} {'' if shown else 'd-none'}".strip()


def field_rows(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    if not rows:
        return [html.Div("还没有字段：点“添加字段”，或上传部门模板", className="empty-note", id="cn-no-fields")]
    return [field_row(i, r, len(rows)) for i, r in enumerate(rows)]


# --------------------------------------------------------------------------- the phone preview


def _deadline(settings: Mapping[str, Any]) -> str:
    end = (settings.get("end") or "")[:10] or "（结束日期）"
    if settings.get("frequency") == "daily":
        return f"每日 {settings.get('deadline') or '10:00'} 前（至 {end}）"
    return f"{end} 前"


def _preview_label(i: int, row: Mapping[str, Any], extra: str = "") -> list[Any]:
    label = str(row.get("label") or "").strip()
    shown: list[Any] = [label] if label else [html.Span(f"第 {i + 1} 个字段（未填标签）", className="cn-p-empty")]
    if row.get("required"):
        shown.append(html.B(" *", className="cn-p-req"))
    if extra:
        shown.append(html.Span(f" {extra}", className="cn-p-type"))
    return shown


def _bounds(row: Mapping[str, Any]) -> str:
    low, high = cq.as_number(row.get("min")), cq.as_number(row.get("max"))
    if low is not None and high is not None:
        return f"（{low:g}–{high:g}）"
    return f"（不小于 {low:g}）" if low is not None else f"（不大于 {high:g}）" if high is not None else ""


def preview_field(i: int, row: Mapping[str, Any]) -> html.Div:
    """One field as the phone form (dashboard/intake/templates/intake/collection.html) draws it."""
    kind = row.get("type") or "text"
    if kind == "yes_no":
        return html.Div([html.Span(_preview_label(i, row)),
                         html.Div([html.Span("是"), html.Span("否")], className="cn-p-segmented")], className="cn-p-f")
    if kind in CHOICE_TYPES:
        choices = cq.split_choices(row.get("choices"))
        mark = "cn-p-radio" if kind == "choice" else "cn-p-check"
        options = [html.Div([html.Span(className=mark), html.Span(c)], className="cn-p-option")
                   for c in choices] or [html.Div("（请填写至少两个选项）", className="cn-p-empty")]
        return html.Div([html.Span(_preview_label(i, row, "（可多选）" if kind == "choices" else "")),
                         html.Div(options, className="cn-p-options")], className="cn-p-f")
    extra = _bounds(row) if kind in BOUND_TYPES else ""
    return html.Div([*_preview_label(i, row, extra), html.Div(PLACEHOLDERS.get(kind, ""), className="cn-p-input")],
                    className="cn-p-f")


def preview(settings: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> html.Div:
    title = str(settings.get("title") or "").strip() or "（标题）"
    facts = [("发起部门", str(settings.get("department") or "").strip()), ("截止", _deadline(settings)),
             ("填报企业", "扫码后选择的企业")]
    fields = [preview_field(i, r) for i, r in enumerate(rows)]
    return html.Div([
        html.Div([html.Div("一网统管 · 企业扫码填报", className="cn-p-brand"), html.Div(title, className="cn-p-title"),
                  html.Div("楼宇 · 企业名称（扫码后显示）", className="cn-p-addr")], className="cn-p-top"),
        html.Div([
            html.Div(html.Dl([part for k, v in facts if v for part in (html.Dt(k), html.Dd(v))], className="cn-p-kv"),
                     className="cn-p-card"),
            html.Div([html.P(["带 ", html.B("*", className="cn-p-req"), " 的为必填项。"], className="cn-p-hint"),
                      *(fields or [html.P("（还没有字段）", className="cn-p-empty")])], className="cn-p-card"),
            html.Div("提交", className="cn-p-submit"),
        ], className="cn-p-main"),
    ], className="cn-phone", id="cn-phone")


# --------------------------------------------------------------------------- layout


def view_href(collection: Collection) -> str:
    """The collection's view, for today kept within its days; the unit and day in the address keep the shell's
    filters from rewriting it (dashboard.app.apply_filters keeps only unit, day and building)."""
    definition = definition_of(collection)
    day = min(max(config.local_now().date(), definition.start), definition.end)
    return f"/collections/view?id={collection.id}&unit={collection.scope_code}&day={day.isoformat()}"


def _state(collection: Collection | None, answers: int) -> tuple[Any, bool, bool, str]:
    """(the collection's status line, 发布 disabled, 结束 disabled, the save button's words)."""
    if collection is None:
        return "尚未保存：保存草稿后可发布", True, True, "保存草稿"
    status = STATUSES.get(collection.status, collection.status)
    line: list[Any] = [html.Strong(f"#{collection.id}", id="cn-saved-id"),
                       f" {status} · 第 {collection.version} 版 · {answers:,} 份回答 · ",
                       dcc.Link("查看收集情况", href=view_href(collection), id="cn-view-link")]
    if collection.template_name:
        line.append(f" · 模板：{collection.template_name}")
    if answers:
        line.append(" · 已有回答：只能新增选填字段、增加选项")
    return (line, collection.status != DRAFT, collection.status != OPEN,
            "保存草稿" if collection.status == DRAFT else "保存修改")


def _field(label: str, control: Any, id: str | None = None, hint: str | None = None) -> html.Div:
    return html.Div([dbc.Label(label, html_for=control.id if id is None else id, className="small mb-1"), control,
                     *([html.Div(hint, className="form-text mt-0")] if hint else [])], className="mb-2")


def refused_page(text: str = REFUSED) -> html.Div:
    return html.Div([html.H1("新建信息收集", className="page-title", id="page-title"),
                     html.Div(text, className="alert alert-warning", id="page-refused")], className="page")


def _blank(account: Account) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    today = config.local_now().date()
    return ({"scope": account.scope_code, "respondents": "enterprise", "frequency": "once", "start": today.isoformat(),
             "end": (today + timedelta(days=DEFAULT_DAYS)).isoformat(), "deadline": "10:00", "buildings": []},
            [{"key": "f1", "label": "", "type": "text", "required": False}])


def layout(id: str | None = None, **_: Any) -> Any:
    account = _launcher()
    if account is None:
        return refused_page()
    with context.session() as s:
        tree = q.load_divisions(s)
        collection, answers = None, 0
        if id:
            try:
                collection = cq.collection_in_reach(s, tree, account, id)
            except access.NotAllowed as exc:
                return refused_page(str(exc))
            settings, rows = cq.form_of(definition_of(collection))
            answers = answer_count(s, collection)
        else:
            settings, rows = _blank(account)
        scopes = cq.scope_choices(tree, account.scope_code)
        buildings = cq.building_choices(s, tree, account, settings["scope"])
    line, open_off, close_off, save_words = _state(collection, answers)
    daily = settings["frequency"] == "daily"
    basics = [
        _field("标题", dbc.Input(id="cn-title", value=settings.get("title") or "", maxLength=100,
                                placeholder="如：口罩需求登记表")),
        _field("发起部门（可选）", dbc.Input(id="cn-department", value=settings.get("department") or "", maxLength=60,
                                        placeholder="如：区经委")),
        _field("范围", dcc.Dropdown(id="cn-scope", options=scopes, value=settings["scope"], clearable=False,
                                    searchable=True, disabled=len(scopes) == 1 or bool(answers)),
               hint="只能选择您的范围之内的区、街镇"),
        _field("填报对象", dbc.RadioItems(id="cn-respondents", value=settings["respondents"], inline=True,
                                         options=[{"label": v, "value": k} for k, v in RESPONDENTS.items()])),
        _field("楼宇（可选）", dcc.Dropdown(id="cn-buildings", options=buildings, value=settings["buildings"], multi=True,
                                           searchable=True, placeholder="不选：范围内全部楼宇"),
               hint="只收集所选楼宇内的企业；不选则为范围内全部"),
        _field("频次", dbc.RadioItems(id="cn-frequency", value=settings["frequency"], inline=True,
                                     options=[{"label": v, "value": k} for k, v in FREQUENCIES.items()])),
        dbc.Row([
            dbc.Col(_field("开始 / 结束日期", dcc.DatePickerRange(
                id="cn-dates", start_date=settings["start"], end_date=settings["end"], display_format="YYYY-MM-DD",
                first_day_of_week=1, minimum_nights=0, start_date_placeholder_text="开始日期",
                end_date_placeholder_text="结束日期"), id="cn-dates"), xs=12, md=8),
            dbc.Col(html.Div(_field("每日截止时间", dbc.Input(id="cn-deadline", type="time", value=settings["deadline"])),
                             id="cn-deadline-wrap", className="" if daily else "d-none"), xs=12, md=4),
        ], className="g-2"),
    ]
    upload = html.Div(ui.section("从模板创建", dcc.Upload(
        id="cn-upload", multiple=False, max_size=fill_export.BROWSER_MAX_BYTES, className="fill-upload cn-upload",
        children=html.Div(["拖入部门的空白表格，或", html.Span("点击选择", className="fill-upload-link"),
                           f"一个 .xlsx 模板（不超过 {fill_export.MAX_UPLOAD_BYTES // 1024**2}\u00a0MB）"])),
        html.Div(id="cn-notes"),
        subtitle="表头变为字段，类型按标签猜测；模板随收集保存，导出时按原表填写",
        id="cn-template"), className="d-none" if collection else None)  # the save callback reads it: always there
    fields = ui.section("字段", html.Div([html.Span("标签"), html.Span("类型"), html.Span(), html.Span("键")],
                                         className="cn-head", **{"aria-hidden": "true"}),
                        html.Div(field_rows(rows), id="cn-rows"),
                        dbc.Button("＋ 添加字段", id="cn-add", color="primary", outline=True, size="sm", className="mt-2"),
                        subtitle="键留空则自动编号（f1、f2…）；已有回答后只能新增选填字段")
    actions = ui.section("保存与发布", html.Div(line, id="cn-state", className="cn-state"),
                         html.Div([dbc.Button(save_words, id="cn-save", color="primary"),
                                   dbc.Button("发布", id="cn-open", color="success", disabled=open_off),
                                   dbc.Button("结束", id="cn-close", color="danger", outline=True, disabled=close_off)],
                                  className="cn-actions"),
                         dcc.Loading(html.Div(id="cn-msg"), type="dot", color="#1f5fa8"),
                         subtitle="发布时一并保存当前修改；发布后，扫楼宇二维码的企业即可填报")
    title = f"编辑信息收集 #{collection.id}" if collection else "新建信息收集"
    return html.Div([
        dcc.Store(id="cn-id", data=collection.id if collection else None),
        html.H1(title, className="page-title", id="page-title"),
        dbc.Row([
            dbc.Col([upload, ui.section("基本信息", *basics), fields, actions], lg=7, xl=8),
            dbc.Col(ui.section("手机填报预览", html.Div(preview(settings, rows), id="cn-preview"),
                               subtitle="填报企业扫码后看到的表单"), lg=5, xl=4, className="cn-preview-col"),
        ], className="g-3"),
    ], className="page page-collection-new")


# --------------------------------------------------------------------------- callbacks


@callback(Output({"type": "cn-fchoices-wrap", "index": MATCH}, "className"),
          Output({"type": "cn-fbounds-wrap", "index": MATCH}, "className"),
          Input({"type": "cn-ftype", "index": MATCH}, "value"), prevent_initial_call=True)
def show_type_items(kind: str | None) -> tuple[str, str]:
    return _extra_class(kind in CHOICE_TYPES), _extra_class(kind in BOUND_TYPES, "cn-bounds")


@callback(Output("cn-deadline-wrap", "className"), Input("cn-frequency", "value"), prevent_initial_call=True)
def show_deadline(frequency: str | None) -> str:
    return "" if frequency == "daily" else "d-none"


@callback(Output("cn-buildings", "options"), Output("cn-buildings", "value"),
          Input("cn-scope", "value"), State("cn-buildings", "value"), prevent_initial_call=True)
def buildings_of_scope(scope: str | None, chosen: list[str] | None) -> tuple[Any, Any]:
    """The building names of the chosen unit, never of a unit outside the user's scope."""
    account = _launcher()
    if account is None:
        return [], []
    with context.session() as s:
        options = cq.building_choices(s, q.load_divisions(s), account, scope)
    names = {o["value"] for o in options}
    return options, [b for b in chosen or [] if b in names]


@callback(Output("cn-rows", "children"),
          Input("cn-add", "n_clicks"), Input({"type": "cn-fup", "index": ALL}, "n_clicks"),
          Input({"type": "cn-fdown", "index": ALL}, "n_clicks"), Input({"type": "cn-fremove", "index": ALL}, "n_clicks"),
          *FIELD_STATES, prevent_initial_call=True)
def edit_rows(*_: Any) -> Any:
    """Add a row (its key the next f-number), move one up or down, remove one."""
    trigger = ctx.triggered_id
    if _launcher() is None or trigger is None or not ctx.triggered[0].get("value"):
        return no_update
    rows = _rows(ctx.states_list)
    if trigger == "cn-add":
        rows.append({"key": cq.next_key(r.get("key") for r in rows), "label": "", "type": "text", "required": False})
        return field_rows(rows)
    i, action = int(trigger["index"]), trigger["type"]
    if not 0 <= i < len(rows):
        return no_update
    if action == "cn-fremove":
        rows.pop(i)
    elif action in ("cn-fup", "cn-fdown"):
        j = i - 1 if action == "cn-fup" else i + 1
        if not 0 <= j < len(rows):
            return no_update
        rows[i], rows[j] = rows[j], rows[i]
    return field_rows(rows)


@callback(Output("cn-preview", "children"),
          *[Input(i, p) for _, i, p in SETTINGS], *[Input({"type": t, "index": ALL}, "value") for t in FIELD_PARTS])
def update_preview(*values: Any) -> Any:
    if _launcher() is None:
        return no_update
    return preview(_settings(values), _rows(ctx.inputs_list))


@callback(Output("cn-rows", "children", allow_duplicate=True), Output("cn-title", "value"),
          Output("cn-respondents", "value"), Output("cn-notes", "children"), Output("cn-upload", "contents"),
          Output("cn-upload", "filename"),
          Input("cn-upload", "contents"), State("cn-upload", "filename"), State("cn-scope", "value"),
          State("cn-id", "data"), prevent_initial_call=True)
def from_template(contents: str | None, filename: str | None, scope: str | None, ident: Any) -> tuple[Any, ...]:
    """A department's template read as a draft: its header's columns become the rows, with every guess said; a file
    that makes no draft is said why and dropped (so that 保存草稿 does not carry it)."""
    keep = (no_update, no_update, no_update)
    dropped = (None, None)
    account = _launcher()
    if account is None:
        return (*keep, _alert(NOT_ALLOWED), *dropped)
    if ident:
        return (*keep, _alert("模板只能在新建信息收集时上传"), *dropped)
    if not (contents or filename):
        return (*keep, no_update, no_update, no_update)
    try:
        choice = fill_export.uploaded_form(contents, filename)
        with context.session() as s:
            tree = q.load_divisions(s)
        code = scope if cq.covers(tree, account, scope) else account.scope_code
        definition, notes = definition_from_template(choice.source, choice.name, code)
    except (fill_export.Refused, CollectionError) as exc:
        return (*keep, _alert(str(exc)), *dropped)
    _, rows = cq.form_of(definition)
    shown = html.Div([html.Div(f"已读取模板 {choice.name}：{len(rows)} 个字段。以下是猜测，请核对改正后再保存",
                               className="fw-semibold mb-1"),
                      html.Ul([html.Li(n) for n in notes], className="mb-0 cn-notes-list", id="cn-notes-list")],
                     className="alert alert-info py-2 mb-0 mt-2 cn-notes")
    return field_rows(rows), definition.title, definition.respondents, shown, no_update, no_update


def _saved_line(collection: Collection, done: str) -> html.Div:
    words = {"add": f"已保存草稿 #{collection.id}“{collection.title}”",
             "amend": f"已保存修改：#{collection.id} 第 {collection.version} 版", "unchanged": "没有修改，无需保存"}[done]
    return html.Div([words, "　", dcc.Link("查看收集情况 →", href=view_href(collection))],
                    className="alert alert-success py-2 mb-0 mt-2", role="status")


@callback(Output("cn-msg", "children"), Output("cn-id", "data"), *STATE_OUTPUTS,
          Input("cn-save", "n_clicks"), State("cn-id", "data"), State("cn-upload", "contents"),
          State("cn-upload", "filename"), *SETTING_STATES, *FIELD_STATES, prevent_initial_call=True)
def save_draft(n_clicks: int | None, ident: Any, contents: str | None, filename: str | None,
               *values: Any) -> tuple[Any, ...]:
    """保存草稿: a new draft, or a new version of the collection on the page; the template goes with a new one."""
    keep = (no_update,) * (1 + len(STATE_OUTPUTS))
    if not n_clicks:
        return (no_update, *keep)
    account = _launcher()
    if account is None:
        return (_alert(NOT_ALLOWED), *keep)
    try:
        definition = cq.definition_of_form(_settings(values), _rows(ctx.states_list))
        template = fill_export.uploaded_form(contents, filename) if (contents or filename) and not ident else None
        with context.session() as s, s.begin():
            collection, done = cq.save(s, q.load_divisions(s), account, definition, ident,
                                       template=template.source if template else None,
                                       template_name=template.name if template else None)
            shown = (_saved_line(collection, done), collection.id,
                     *_state(collection, answer_count(s, collection)))
    except (access.NotAllowed, CollectionError, fill_export.Refused) as exc:
        return (_alert(str(exc)), *keep)
    cq.refresh_figures(context.engine())
    return shown


@callback(Output("cn-msg", "children", allow_duplicate=True), *STATE_OUTPUTS,
          Input("cn-open", "n_clicks"), Input("cn-close", "n_clicks"), State("cn-id", "data"),
          *SETTING_STATES, *FIELD_STATES, prevent_initial_call=True)
def lifecycle(opened: int | None, closed: int | None, ident: Any, *values: Any) -> tuple[Any, ...]:
    """发布 (the form's changes saved first, then open) and 结束 (close) of the collection on the page."""
    keep = (no_update,) * len(STATE_OUTPUTS)
    action = ctx.triggered_id
    if action not in ("cn-open", "cn-close") or not (opened if action == "cn-open" else closed):
        return (no_update, *keep)
    account = _launcher()
    if account is None:
        return (_alert(NOT_ALLOWED), *keep)
    if not ident:
        return (_alert("请先保存草稿"), *keep)
    try:
        with context.session() as s, s.begin():
            tree = q.load_divisions(s)
            if action == "cn-open":
                definition = cq.definition_of_form(_settings(values), _rows(ctx.states_list))
                cq.save(s, tree, account, definition, ident)
            collection = cq.change_status(s, tree, account, ident, OPEN if action == "cn-open" else CLOSED)
            words = (f"已发布 #{collection.id}“{collection.title}”：开始收集" if action == "cn-open"
                     else f"已结束 #{collection.id}“{collection.title}”：不再收集")
            shown = (_alert(words, ok=True), *_state(collection, answer_count(s, collection)))
    except (access.NotAllowed, CollectionError) as exc:
        return (_alert(str(exc)), *keep)
    cq.refresh_figures(context.engine())
    return shown
