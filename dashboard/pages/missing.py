"""漏报: buildings missing reports on the day, most silent enterprises first, with the owner's contact;
each expands to its silent enterprises and carries a follow-up status that is kept in the database.
Silent enterprises that no registered building holds follow, one group per street (未登记楼宇), so that
every silent enterprise counted in 未填报企业 is listed somewhere.
Enterprises named through a QR code that the registry did not know wait here (待核实) for an official of
their street to confirm them; until then they count in no figure."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, html, no_update

from dashboard import access
from dashboard import components as ui
from dashboard import context
from dashboard.context import PAGE_URL
from dashboard import queries as q
from etl.audit import record
from etl.pending import NotPending
from schemas.labels import FOLLOW_UP_LABELS, UNPLACED

dash.register_page(__name__, path="/missing", name="漏报", title="漏报 · 一网统管", order=2,
                   export_sections=("missing",))

PAGE_SIZE = 25
"""Building cards per page: a card holds a dozen controls, and a city's hundreds of them at once kept the
browser busy for seconds (issue 18's page timings)."""
STREETS_SHOWN = 200


def _follow_text(b: dict[str, Any]) -> str:
    if not b["status"]:
        return "尚未跟进"
    when = ui.fmt_day(b["set_at"])
    return f"{b['status']} · {b['set_by']} · {when}" + (f" · {b['note']}" if b["note"] else "")


def building_card(b: dict[str, Any]) -> html.Div:
    bid = b["building_id"]
    return html.Div([
        html.Div([
            html.Span(b["building"], className="b-name me-2"),
            html.Span(b["street"], className="text-muted me-2"),
            html.Span(f"未填报 {b['silent']} / {b['enterprises']} 家", className="b-silent"),
        ]),
        ui.owner_line(b["address"], "　", owner=b["owner"], contact=b["owner_contact"], phone=b["owner_phone"]),
        ui.follow_up_row(bid, b["status_code"], b["note"], _follow_text(b),
                         dbc.Button("查看未填报企业", id={"type": "expand", "building": bid}, size="sm", color="secondary",
                                    outline=True)),
        html.Div(id={"type": "silent-list", "building": bid}),
    ], className="building-card", id=f"building-{bid}")


def unplaced_card(u: dict[str, Any]) -> html.Div:
    """A street's silent enterprises of no registered building: no owner to call, so no follow-up here."""
    street = u["street_code"]
    return html.Div([
        html.Div([
            html.Span(UNPLACED, className="b-name me-2"),
            html.Span(u["street"], className="text-muted me-2"),
            html.Span(f"未填报 {u['silent']} 家", className="b-silent"),
        ]),
        html.Div(dbc.Button("查看未填报企业", id={"type": "expand-unplaced", "street": street}, size="sm",
                            color="secondary", outline=True), className="follow-row"),
        html.Div(id={"type": "unplaced-list", "street": street}),
    ], className="building-card", id=f"unplaced-{street}")


def pending_section(rows: list[dict[str, Any]]) -> Any:
    """Pending enterprises of the view, one card each with a 确认 button (the scope is checked again on the
    server); cards rather than a table, so that they read on a phone."""
    if not rows:
        return None
    cards = [html.Div([
        html.Div([html.Span(r["enterprise"], className="b-name me-2"), html.Span(r["street"], className="text-muted me-2"),
                  html.Span(r["building"] or "（未登记楼宇）", className="text-muted")]),
        html.Div(["统一社会信用代码：", r["uscc"] or "（未填写）",
                  "　首次扫码填报：", ui.fmt_day(r["registered_at"]) if r["registered_at"] else "–",
                  f"　填报 {r['reports']} 次"], className="small text-muted"),
        html.Div([
            dbc.Button("确认", id={"type": "pending-confirm", "enterprise": r["enterprise_id"]}, size="sm", color="primary"),
            html.Span(id={"type": "pending-state", "enterprise": r["enterprise_id"]}, className="small"),
        ], className="follow-row"),
    ], className="building-card", id=f"pending-{r['enterprise_id']}") for r in rows]
    return ui.section(f"待核实企业（{len(rows)} 家）", html.Div(cards, id="pending-list"),
                      subtitle="经楼宇二维码填报、名录中没有的企业：核实属实后点击确认，确认前不计入任何统计")


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        figures = q.unit_figures(s, view.divs, view.campaign, view.code, view.day)
        contacts = access.unmasked(view.account).contacts
        buildings = q.missing_buildings(s, view.divs, view.campaign, view.code, view.day, limit=PAGE_SIZE,
                                        contacts=contacts)
        _audit_contacts(s, view, buildings, contacts)
        unplaced = q.unplaced_by_street(s, view.divs, view.code, view.day)
        pending = q.pending_in_scope(s, view.divs, view.code)
    silent = figures["enterprises"] - figures["reported"]
    unplaced_total = sum(u["silent"] for u in unplaced)
    pages = -(-figures["buildings_missing"] // PAGE_SIZE)
    shown_streets = f"，下面列出最多的 {STREETS_SHOWN} 个街镇" if len(unplaced) > STREETS_SHOWN else ""
    return html.Div([
        html.H1(f"{view.name} · 漏报楼宇 · {view.day.isoformat()}", className="page-title", id="page-title"),
        dbc.Row([
            ui.figure_card("buildings_missing", figures,
                        f"共 {figures['buildings']:,} 栋楼宇"),
            ui.kpi_card("silent", "未填报企业", ui.fmt_int(silent), f"登记企业 {figures['enterprises']:,} 家"
                        + (f"；其中 {unplaced_total:,} 家未登记楼宇" if unplaced_total else "")),
            ui.figure_card("reporting_coverage", figures),
        ], className="g-2 kpi-row"),
        html.Div(html.A("打印本街镇楼宇二维码", href=f"/qr-sheet/{view.code}", target="_blank", id="qr-sheet-link",
                        className="btn btn-outline-primary btn-sm"), className="mb-2") if view.level == "street" else None,
        pending_section(pending),
        ui.section(f"有未填报企业的楼宇（{figures['buildings_missing']:,} 栋）",
                   html.Div([
                       html.Div([building_card(b) for b in buildings] or [html.Div("当日没有漏报楼宇", className="empty-note")],
                                id="missing-list"),
                       dbc.Pagination(id="missing-pages", max_value=pages, active_page=1, fully_expanded=False,
                                      first_last=True, previous_next=True, size="sm", className="mt-2")
                       if pages > 1 else None,
                   ]),
                   subtitle=f"按未填报企业数排序，每页 {PAGE_SIZE} 栋；请联系楼宇业主督促企业扫码填报，并记录跟进情况"
                            + ("" if contacts else "（联系人、电话已脱敏）")),
        ui.section(f"{UNPLACED}的未填报企业（{unplaced_total:,} 家）{shown_streets}",
                   html.Div([unplaced_card(u) for u in unplaced[:STREETS_SHOWN]], id="unplaced-list"),
                   subtitle="名录中没有所在楼宇（或楼宇当日尚未登记）的企业，无法经楼宇业主催报：请直接联系企业，"
                            "或在企业名录中补登所在楼宇。与上面楼宇中的未填报企业合计即为“未填报企业”",
                   id="unplaced-section") if unplaced else None,
    ], className="page page-missing")


@callback(Output("missing-list", "children"), Input("missing-pages", "active_page"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def show_page(page: int | None, search: str | None) -> Any:
    with context.session() as s:
        view = context.view_of_search(s, search)
        contacts = access.unmasked(view.account).contacts
        buildings = q.missing_buildings(s, view.divs, view.campaign, view.code, view.day, limit=PAGE_SIZE,
                                        offset=(max(page or 1, 1) - 1) * PAGE_SIZE, contacts=contacts)
        _audit_contacts(s, view, buildings, contacts)
    return [building_card(b) for b in buildings] or [html.Div("这一页没有楼宇", className="empty-note")]


def _audit_contacts(s: Any, view: context.View, buildings: list[dict[str, Any]], contacts: bool) -> None:
    """One audit entry for a page of building cards that showed owners' contacts unmasked."""
    if contacts:
        access.record_view(s, view.account, "漏报楼宇业主联系人", scope_code=view.code, day=view.day,
                           rows=sum(1 for b in buildings if b["owner_contact"] or b["owner_phone"]))
        s.commit()


def _building_in_scope(s: Any, view: context.View, ident: dict[str, Any]) -> Any:
    """The building a card's button names, if the user's scope holds it (ids come from the browser)."""
    b = q.building(s, int(ident["building"]))
    return b if b is not None and context.in_scope(view.divs, view.account.scope_code, b.street_code) else None


@callback(Output({"type": "silent-list", "building": MATCH}, "children"),
          Input({"type": "expand", "building": MATCH}, "n_clicks"),
          State({"type": "expand", "building": MATCH}, "id"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def expand(n_clicks: int | None, ident: dict[str, Any], search: str | None) -> Any:
    if not n_clicks:
        return no_update
    if n_clicks % 2 == 0:
        return None
    with context.session() as s:
        view = context.view_of_search(s, search)
        b = _building_in_scope(s, view, ident)
        if b is None:
            return html.Div("无权查看该楼宇", className="text-danger")
        rows = [r for r in q.building_enterprises(s, b.id, view.day) if not r["reported"] and not r["is_shop"]]
    return ui.table([("enterprise", "未填报企业"), ("uscc", "统一社会信用代码"), ("kind", "类型")], rows,
                    empty="该楼宇的企业均已填报")


@callback(Output({"type": "unplaced-list", "street": MATCH}, "children"),
          Input({"type": "expand-unplaced", "street": MATCH}, "n_clicks"),
          State({"type": "expand-unplaced", "street": MATCH}, "id"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def expand_unplaced(n_clicks: int | None, ident: dict[str, Any], search: str | None) -> Any:
    if not n_clicks:
        return no_update
    if n_clicks % 2 == 0:
        return None
    with context.session() as s:
        view = context.view_of_search(s, search)
        street = str(ident.get("street", ""))
        if not context.in_scope(view.divs, view.account.scope_code, street):
            return html.Div("无权查看该街镇", className="text-danger")
        rows = q.unplaced_of_street(s, street, view.day)
    return ui.table([("name", "未填报企业"), ("uscc", "统一社会信用代码"), ("address", "经营地址")], rows,
                    empty="该街镇没有未登记楼宇的未填报企业")


@callback(Output({"type": "follow-state", "building": MATCH}, "children"),
          Input({"type": "follow-save", "building": MATCH}, "n_clicks"),
          State({"type": "follow-save", "building": MATCH}, "id"),
          State({"type": "follow-status", "building": MATCH}, "value"),
          State({"type": "follow-note", "building": MATCH}, "value"),
          State(PAGE_URL, "search"),
          prevent_initial_call=True)
def save_follow_up(n_clicks: int | None, ident: dict[str, Any], status: str | None, note: str | None,
                   search: str | None) -> Any:
    """Record who called the building owner and what came of it (kept in follow_up, shown on reload)."""
    if not n_clicks:
        return no_update
    if status not in FOLLOW_UP_LABELS:
        return "请先选择跟进状态"
    with context.session() as s, s.begin():
        view = context.view_of_search(s, search)
        b = _building_in_scope(s, view, ident)
        if b is None:
            return "无权修改该楼宇"
        f = q.record_follow_up(s, b.id, view.day, status, note, view.account.label)
        record(s, view.account.username, "follow_up", scope_code=b.street_code, day=view.day,
               address=access.client_address(), building_id=b.id, building=b.name, status=FOLLOW_UP_LABELS[status],
               note=f.note)
        return _follow_text({"status": FOLLOW_UP_LABELS[f.status], "set_by": f.set_by, "set_at": f.set_at,
                             "note": f.note or ""})


@callback(Output({"type": "pending-state", "enterprise": MATCH}, "children"),
          Output({"type": "pending-confirm", "enterprise": MATCH}, "disabled"),
          Input({"type": "pending-confirm", "enterprise": MATCH}, "n_clicks"),
          State({"type": "pending-confirm", "enterprise": MATCH}, "id"),
          State(PAGE_URL, "search"),
          prevent_initial_call=True)
def confirm_enterprise(n_clicks: int | None, ident: dict[str, Any], search: str | None) -> Any:
    """Confirm a pending enterprise: only one of the user's own streets (the id comes from the browser)."""
    if not n_clicks:
        return no_update, no_update
    with context.session() as s:
        view = context.view_of_search(s, search)
    try:
        name = q.confirm_pending(context.engine(), view.divs, view.account.scope_code, int(ident["enterprise"]),
                                 view.account.label, actor=view.account.username,
                                 address=access.client_address())
    except (NotPending, ValueError, TypeError):
        return "无权确认该企业，或已被确认", no_update
    return f"已确认：{name} 自此计入统计", True
