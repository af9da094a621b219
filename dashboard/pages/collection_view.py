"""信息收集 · one collection (/collections/view?id=N&unit=…&day=…): completion by unit (map and bars, a click goes down
city → district → street), the figure cards, the silent respondents by building with the owner's contact and the
building's follow-up as on 漏报, the field summaries and the answers; 导出 Excel downloads its answers
(``export_workbook``, etl.collection_export).

The id comes from the browser: a collection the user may not see (dashboard.queries.collections.visible) shows
无权查看 and nothing of it, on the page and in every callback, whatever the request says.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update
from sqlalchemy.orm import Session

from dashboard import access, context
from dashboard import components as ui
from dashboard import queries as q
from dashboard.context import PAGE_URL
from dashboard.queries import collections as qc
from etl import config
from etl.audit import record

PAGE_SIZE = 20
"""Building cards per page of the missing list (as on 漏报, a card holds a dozen controls)."""
REFUSED = "无权查看"


def _reach(s: Session, view: context.View, ident: Any) -> qc.Reach | None:
    return qc.find(s, view.divs, view.account.scope_code, access.may_launch_collections(view.account), ident,
                   view.code, view.day)


def export_workbook(s: Session, view: context.View, params: dict[str, str]) -> tuple[bytes, str] | None:
    """The shell's 导出 Excel on this page: the collection's answers for the unit and day shown, as
    `onenet collections export` writes them (the department's template filled in when it came from one), cut to
    the user's streets, names and phones masked unless dashboard.access unmasks contacts; audited like the command.
    None (nothing sent) for a collection the user may not see; the caller commits."""
    from etl.collection_export import export_answers  # noqa: PLC0415  (openpyxl: only exports need it)

    reach = _reach(s, view, params.get("id"))
    if reach is None:
        return None
    personal = access.unmasked(view.account).contacts
    buffer = io.BytesIO()
    result = export_answers(s, reach.collection, buffer, day=reach.day, streets=qc.streets_of(view.divs, reach.code),
                            scope_name=view.divs.display(reach.code), personal=personal)
    record(s, view.account.username, "collection", scope_code=reach.code, day=reach.day, rows=result.rows,
           personal=personal and result.rows > 0, address=access.client_address(), op="export", id=reach.id,
           title=reach.collection.title, template=result.from_template, page="信息收集")
    name = f"{reach.collection.title}_{view.divs.display(reach.code)}_{reach.day.isoformat()}.xlsx"
    return buffer.getvalue(), name.replace("/", "_")


dash.register_page(__name__, path="/collections/view", name="信息收集", title="信息收集 · 一网统管", order=5,
                   in_nav=False, export_sections=("summary",), export=export_workbook)


def view_search(ident: int, unit: str | None, day: date | str | None) -> str:
    params = {k: str(v) for k, v in (("id", ident), ("unit", unit), ("day", day)) if v not in (None, "")}
    return "?" + urlencode(params)


def refused() -> html.Div:
    return html.Div([html.H1("信息收集", className="page-title", id="page-title"),
                     html.Div([REFUSED, "：没有这项信息收集，或它不在您的范围内。"], className="alert alert-warning",
                              id="page-refused"),
                     dcc.Link("返回信息收集列表", href="/collections")], className="page page-collection")


# --------------------------------------------------------------------------- charts


def completion_map(s: Session, view: context.View, units: list[dict[str, Any]], code: str) -> Any:
    """The units coloured by completion rate, as ui.unit_map draws units (its hover and legend say 完成率)."""
    codes = [u["code"] for u in units]
    shown = [{"code": u["code"], "name": u["name"], "reopening_rate": u["completion_rate"], "reopened": u["answered"],
              "enterprises": u["expected"], "buildings_missing": 0} for u in units]
    around = q.surroundings(s, code) if view.divs.level_of(code) == "district" else None
    fig = ui.unit_map(shown, q.boundaries(s, codes), q.unit_points(s, codes), tile_url=config.MAP_TILE_URL,
                      surroundings=around)
    hover = {u["code"]: f"{u['name']}<br>完成率 {ui.fmt_pct(u['completion_rate'])}（已填 {u['answered']:,} / 应填 "
                        f"{u['expected']:,}）<br>按时 {u['on_time']:,}" for u in units}
    by_name = {u["name"]: hover[u["code"]] for u in units}
    for trace in fig.data:
        if trace.name == "unit-labels":
            trace.hovertext = [hover[c[1]] for c in trace.customdata]
            trace.marker.colorbar.title.text = "完成率"
        elif trace.name in by_name and trace.hoverinfo == "text":
            trace.text = by_name[trace.name]
    return fig


def completion_bars(units: list[dict[str, Any]]) -> go.Figure:
    """Completion rate per unit, highest first; a click carries ["unit", code] as on the other pages' bars."""
    ordered = sorted(units, key=lambda u: (u["completion_rate"] is None, -(u["completion_rate"] or 0), u["code"]))
    fig = go.Figure(go.Bar(
        y=[u["name"] for u in ordered], x=[u["completion_rate"] or 0 for u in ordered], orientation="h",
        customdata=[["unit", u["code"]] for u in ordered],
        marker={"color": [ui.rate_colour(u["completion_rate"]) for u in ordered], "line": {"color": "#ffffff", "width": 0.5}},
        text=[f"{ui.fmt_pct(u['completion_rate'])}（{u['answered']:,}/{u['expected']:,}）" if u["expected"] else "无应填对象"
              for u in ordered],
        textposition=["inside" if (u["completion_rate"] or 0) >= 0.55 else "outside" for u in ordered],
        insidetextanchor="end", cliponaxis=False, hovertemplate="%{y}<br>完成率 %{x:.1%}<extra></extra>", name="完成率"))
    fig.update_xaxes(title="完成率（%）", tickformat=".0%", range=[0, 1.3], gridcolor="#eef0f4")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(font={"family": ui.FONT, "size": 13, "color": "#1f2937"}, paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="#ffffff", separators=".,", bargap=0.25, margin={"l": 10, "r": 20, "t": 10, "b": 10},
                      uniformtext={"minsize": 12, "mode": "show"})
    return fig


def _map_and_side(s: Session, view: context.View, reach: qc.Reach, units: list[dict[str, Any]]) -> tuple[Any, Any]:
    if view.divs.level_of(reach.code) == "street":
        buildings = qc.building_rows(s, reach)
        figure = ui.unit_map([], {"features": []}, {}, buildings, None, config.MAP_TILE_URL,
                             q.surroundings(s, view.divs.ancestor(reach.code, "district")))
        side = ui.table([("building", "楼宇"), ("silent", "未填报"), ("enterprises", "应填")],
                        [b for b in buildings if b["silent"]][:15], id="cv-buildings", empty="本街镇的填报对象均已填报")
        return (ui.section("地图", ui.graph(figure, "cv-map", 460, toolbar=True),
                           subtitle="红色楼宇有未填报的对象，绿色楼宇均已填报"),
                ui.section("未填报最多的楼宇", side))
    level = "各区" if view.divs.level_of(reach.code) == "city" else "各街镇"
    return (ui.section("地图", ui.graph(completion_map(s, view, units, reach.code), "cv-map", 460, toolbar=True),
                       subtitle="颜色为完成率；点击区或街镇下钻"),
            ui.section(f"{level}完成率", ui.graph(completion_bars(units), "cv-bars", max(300, 26 * len(units) + 60)),
                       subtitle="点击条形下钻"))


# --------------------------------------------------------------------------- the missing list


def missing_card(b: dict[str, Any]) -> html.Div:
    """A building's silent respondents with the owner to call; the follow-up controls are 漏报's own (the same ids:
    its callback saves them, checking the building against the user's scope)."""
    bid = b["building_id"]
    names = html.Details([html.Summary(f"查看未填报的 {len(b['silent'])} 家"),
                          html.Ul([html.Li([r["name"], html.Span(f"　{r['uscc']}", className="text-muted")
                                            if r["uscc"] else None]) for r in b["silent"]], className="cv-silent")])
    parts: list[Any] = [html.Div([html.Span(b["building"], className="b-name me-2"),
                                  html.Span(b["street"], className="text-muted me-2"),
                                  html.Span(f"未填报 {len(b['silent'])} 家", className="b-silent")])]
    if bid is None:
        parts += [html.Div("名录中没有所在楼宇：请直接联系企业", className="small text-muted"), names]
        return html.Div(parts, className="building-card", id=f"cv-unplaced-{b['street_code']}")
    parts += [
        ui.owner_line(owner=b["owner"], contact=b["owner_contact"], phone=b["owner_phone"]),
        ui.follow_up_row(bid, b["status_code"], b["note"],
                         (b["status"] + (f" · {b['note']}" if b["note"] else "")) if b["status"] else "尚未跟进"),
        names,
    ]
    return html.Div(parts, className="building-card", id=f"cv-building-{bid}")


def _missing_page(s: Session, view: context.View, reach: qc.Reach, page: int) -> tuple[int, int, list[Any]]:
    """(groups, silent respondents, the cards of page ``page``); one audit entry for owners' contacts shown."""
    contacts = access.unmasked(view.account).contacts
    found = qc.missing(s, view.divs, reach, contacts=contacts, page=page, size=PAGE_SIZE)
    if contacts:
        access.record_view(s, view.account, f"信息收集#{reach.id}未填报楼宇业主联系人", scope_code=reach.code,
                           day=reach.day, rows=sum(1 for b in found.page if b["owner_contact"] or b["owner_phone"]))
        s.commit()
    return found.groups, found.silent, [missing_card(b) for b in found.page]


@contextmanager
def opened(search: str | None) -> Iterator[tuple[Session, context.View, qc.Reach | None]]:
    """The session, the view and the collection a callback's query string names (None: not the user's to see)."""
    with context.session() as s:
        view = context.view_of_search(s, search)
        yield s, view, _reach(s, view, context.parse_query(search).get("id"))


def refused_note() -> html.Div:
    return html.Div(REFUSED, className="alert alert-warning cv-refused")


# --------------------------------------------------------------------------- the page and its parts
#
# The page renders the figure cards at once; the map, the missing list, the field summaries and the answers are
# each a callback of their own, fired by the page's query string (cv-key) and run side by side, each checking the
# collection against the user's scope again.


@callback(Output("cv-where", "children"), Input("cv-key", "data"))
def fill_where(search: str | None) -> Any:
    with opened(search) as (s, view, reach):
        if reach is None:
            return refused_note()
        units = qc.sub_unit_rows(view.divs, reach.code, qc.street_counts(s, reach, view.divs))
        where, side = _map_and_side(s, view, reach, units)
    return dbc.Row([dbc.Col(where, lg=7), dbc.Col(side, lg=5)], className="g-3")


@callback(Output("cv-missing", "children"), Input("cv-key", "data"))
def fill_missing(search: str | None) -> Any:
    with opened(search) as (s, view, reach):
        if reach is None:
            return refused_note()
        groups, silent, cards = _missing_page(s, view, reach, 1)
        contacts = access.unmasked(view.account).contacts
        reminders = (_reminder_buttons() if view.divs.level.get(reach.code) == "street" and silent
                     and access.may_launch_collections(view.account) else None)
    pages = -(-groups // PAGE_SIZE)
    return ui.section(
        f"未填报（{silent:,} 家，{groups:,} 处）",
        reminders,
        html.Div(cards or [html.Div("全部已填报", className="empty-note")], id="cv-missing-list"),
        dbc.Pagination(id="cv-missing-pages", max_value=pages, active_page=1, fully_expanded=False, first_last=True,
                       previous_next=True, size="sm", className="mt-2") if pages > 1 else None,
        subtitle=f"按楼宇归组，未填报最多的在前，每页 {PAGE_SIZE} 处；请联系楼宇业主督促填报，跟进记录与漏报页共用"
                 + ("" if contacts else "（联系人、电话已脱敏）"))


def _reminder_buttons() -> html.Div:
    """A street's 催报清单 to print, and one push of the reminder to the street's group robot."""
    return html.Div([
        dbc.Button("下载催报清单", id="cv-remind-btn", size="sm", color="primary", outline=True, className="me-2"),
        dbc.Button("推送到街道群", id="cv-push-btn", size="sm", color="primary", outline=True),
        dcc.Download(id="cv-remind-download"), html.Div(id="cv-push-result", className="mt-2"),
    ], className="cv-reminders mb-2")


def _street_reach(s: Session, view: context.View, reach: qc.Reach | None) -> qc.Reach | None:
    """The collection, when the page shows a street and the user may remind its respondents."""
    ok = reach is not None and view.divs.level.get(reach.code) == "street" and access.may_launch_collections(view.account)
    return reach if ok else None


@callback(Output("cv-remind-download", "data"), Input("cv-remind-btn", "n_clicks"), State("cv-key", "data"),
          prevent_initial_call=True)
def download_reminders(n_clicks: int | None, search: str | None) -> Any:
    from etl.collection_reminders import write_collection_reminders  # noqa: PLC0415  (xlsxwriter: only lists need it)

    with opened(search) as (s, view, reach):
        reach = _street_reach(s, view, reach)
        if not n_clicks or reach is None:
            return no_update
        contacts = access.unmasked(view.account).contacts
        buffer = io.BytesIO()
        named = write_collection_reminders(s, buffer, reach.collection, street_code=reach.code, day=reach.day,
                                           user_name=view.account.label, contacts=contacts)
        record(s, view.account.username, "remind", scope_code=reach.code, day=reach.day, rows=named, personal=contacts,
               address=access.client_address(), collection=reach.id)
        s.commit()
        name = f"催报清单_{reach.collection.title}_{view.divs.display(reach.code)}_{reach.day.isoformat()}.xlsx"
    return dcc.send_bytes(buffer.getvalue(), name.replace("/", "_"))


@callback(Output("cv-push-result", "children"), Input("cv-push-btn", "n_clicks"), State("cv-key", "data"),
          prevent_initial_call=True)
def push_to_group(n_clicks: int | None, search: str | None) -> Any:
    """One push, its outcome shown as it is (docs/collections.md#reminders); pressing again pushes again."""
    from etl.collection_reminders import ReminderError, push_reminder  # noqa: PLC0415

    with opened(search) as (s, view, reach):
        reach = _street_reach(s, view, reach)
        if not n_clicks:
            return no_update
        if reach is None:
            return refused_note()
        try:
            result = push_reminder(s, reach.collection, reach.code, reach.day)
        except ReminderError as exc:
            return dbc.Alert(str(exc), color="warning", className="py-1 px-2 small mb-0")
        record(s, view.account.username, "collection", scope_code=reach.code, day=reach.day,
               address=access.client_address(), op="push", id=reach.id, ok=result.ok, status=result.status,
               mentioned=result.mentioned)
        s.commit()
    return dbc.Alert(result.message, color="success" if result.ok else "danger", className="py-1 px-2 small mb-0")


@callback(Output("cv-missing-list", "children"), Input("cv-missing-pages", "active_page"), State("cv-key", "data"),
          prevent_initial_call=True)
def show_missing_page(page: int | None, search: str | None) -> Any:
    with opened(search) as (s, view, reach):
        if reach is None:
            return refused_note()
        _, _, cards = _missing_page(s, view, reach, max(int(page or 1), 1))
    return cards or [html.Div("这一页没有楼宇", className="empty-note")]


@callback(Output("cv-summary", "children"), Input("cv-key", "data"))
def fill_summary(search: str | None) -> Any:
    with opened(search) as (s, view, reach):
        if reach is None:
            return refused_note()
        summary = qc.summaries(s, view.divs, reach)
        name = view.divs.display(reach.code)
    parts: list[Any] = []
    if summary["numeric"]:
        rows = [*summary["units"], {"name": f"合计（{name}）", **summary["total"]}]
        parts.append(ui.table([("name", "单位"), *summary["numeric"]], rows, id="cv-sums"))
    charts = []
    for c in summary["choices"]:
        chart = ui.count_bars(c["labels"], c["counts"], c["label"], unit="家", horizontal=True)
        if max(c["counts"], default=0) <= 5:
            chart.update_xaxes(dtick=1)
        charts.append(dbc.Col(html.Div([html.Div(c["label"], className="cv-choice-title"),
                                        ui.graph(chart, f"cv-choice-{c['key']}", 60 + 34 * len(c["labels"]))]),
                              md=6, xl=4))
    if charts:
        parts.append(dbc.Row(charts, className="g-3 mt-1", id="cv-choices"))
    if not parts:
        return None
    return ui.section("字段汇总", *parts, subtitle="整数、数值字段为各单位之和；是/否和选项字段为选择各项的家数"
                                              "（多选每选一项计一次）；均按每家最新一次填报")


@callback(Output("cv-answers-box", "children"), Input("cv-key", "data"))
def fill_answers(search: str | None) -> Any:
    with opened(search) as (s, view, reach):
        if reach is None:
            return refused_note()
        personal = access.unmasked(view.account).contacts
        total, answers, columns = qc.answers(s, view.divs, reach, personal=personal)
        if personal and any(f.type in ("text", "phone") for f in reach.definition.fields):
            access.record_view(s, view.account, f"信息收集#{reach.id}填报内容", scope_code=reach.code, day=reach.day,
                               rows=len(answers))
            s.commit()
    shown = f"（显示前 {len(answers):,} 家，全部请导出 Excel）" if total > len(answers) else ""
    return ui.section(f"填报内容（{total:,} 家）{shown}", ui.grid(columns, answers, id="cv-answers", empty="尚无填报"),
                      subtitle="每家取其最新一次填报" + ("" if personal else "；姓名、电话已脱敏") + "；身份证号只显示脱敏形式")


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **params: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        reach = _reach(s, view, params.get("id"))
        if reach is None:
            return refused()
        info = qc.describe(view.divs, reach.collection, reach.definition)
        figures = qc.status_row(view.divs, reach.code, qc.street_counts(s, reach, view.divs))
    meta = [info["department"] or "未填发起部门", f"范围：{info['scope']}", f"填报对象：{info['respondents']}"
            + (f"（{info['buildings']}）" if info["buildings"] else ""), f"{info['frequency']}：{info['days']}",
            f"截止：{info['deadline']}"]
    note = (f"所选日期 {reach.asked.isoformat()} 不在收集期内，显示 {reach.day.isoformat()} 的情况"
            if reach.day != reach.asked else None)
    waiting = html.Div("加载中…", className="empty-note")
    return html.Div([
        dcc.Store(id="cv-key", data=view_search(info["id"], unit, day)),
        html.H1(f"{view.divs.display(reach.code)} · {info['title']} · {reach.day.isoformat()}", className="page-title",
                id="page-title"),
        html.Div([dbc.Badge(info["status_label"], color={"open": "success", "closed": "dark"}.get(info["status"], "secondary"),
                            className="me-2"), *[html.Span(m, className="cl-meta-item") for m in meta],
                  dcc.Link("返回列表", href="/collections" + view.query(building=None), className="cv-back")],
                 className="cl-meta cv-meta"),
        html.Div(note, className="alert alert-info py-1 px-2 small", id="cv-day-note") if note else None,
        dbc.Row([
            ui.kpi_card("expected", "应填", ui.fmt_int(figures["expected"]), "登记并确认的填报对象"),
            ui.kpi_card("answered", "已填", ui.fmt_int(figures["answered"]), "当日结束前已填报"),
            ui.kpi_card("on_time", "按时", ui.fmt_int(figures["on_time"]), "截止前首次填报"),
            ui.kpi_card("completion_rate", "完成率", ui.fmt_pct(figures["completion_rate"]), "已填 ÷ 应填"),
        ], className="g-2 kpi-row"),
        html.Div(waiting, id="cv-where"),
        html.Div(waiting, id="cv-missing"),
        html.Div(id="cv-summary"),
        html.Div(waiting, id="cv-answers-box"),
    ], className="page page-collection")


# --------------------------------------------------------------------------- drill-down


def _drill(click: dict[str, Any] | None, search: str | None) -> Any:
    """A click on a unit goes down to it (the collection's id kept in the address); buildings do nothing."""
    points = (click or {}).get("points") or []
    data = next((p.get("customdata") for p in points if p.get("customdata")), None)
    if not data or data[0] != "unit":
        return no_update
    params = context.parse_query(search)
    return view_search(params.get("id", ""), str(data[1]), params.get("day"))


@callback(Output(PAGE_URL, "search", allow_duplicate=True), Input("cv-map", "clickData"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def drill_from_map(click: dict[str, Any] | None, search: str | None) -> Any:
    return _drill(click, search)


@callback(Output(PAGE_URL, "search", allow_duplicate=True), Input("cv-bars", "clickData"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def drill_from_bars(click: dict[str, Any] | None, search: str | None) -> Any:
    return _drill(click, search)
