"""总览: headline figures with the change since the day before, the map, reopening rate per unit."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update

from dashboard import access
from dashboard import components as ui
from dashboard import context
from dashboard.context import PAGE_URL
from etl import config
from etl.masking import as_shown
from dashboard import queries as q
from schemas.labels import ENTERPRISE_STATES

dash.register_page(__name__, path="/", name="总览", title="总览 · 一网统管", order=0,
                   export_sections=("summary",))


def headline_cards(now: dict[str, Any], before: dict[str, Any] | None) -> dbc.Row:
    cards = []
    for key, _, _, note in ui.HEADLINES:
        cards.append(ui.figure_card(key, now, note, ui.change(key, now[key], before[key] if before else None)))
    return dbc.Row(cards, className="g-2 kpi-row")


def _map_and_bars(view: context.View, s: Any, units: list[dict[str, Any]]) -> tuple[Any, Any]:
    if view.level == "street":
        buildings = q.buildings_of_street(s, view.campaign, view.code, view.day)
        figure = ui.unit_map([], {"features": []}, {}, buildings, view.building, config.MAP_TILE_URL,
                             q.surroundings(s, view.divs.ancestor(view.code, "district")))
        silent = sorted((b for b in buildings if b["silent"]), key=lambda b: -b["silent"])
        side = ui.table([("building", "楼宇"), ("silent", "未填报企业"), ("enterprises", "登记企业")],
                        silent[:15], id="street-buildings", empty="本街镇当日没有漏报楼宇")
        return ui.graph(figure, "map", 460, toolbar=True), ui.section("未填报企业最多的楼宇", side, subtitle="点击地图上的楼宇查看企业")
    codes = [u["code"] for u in units]
    around = q.surroundings(s, view.code) if view.level == "district" else None
    figure = ui.unit_map(units, q.boundaries(s, codes), q.unit_points(s, codes), tile_url=config.MAP_TILE_URL,
                         surroundings=around)
    bars = ui.graph(ui.rate_bars(units), "units-bar", max(300, 26 * len(units) + 60))
    level = "各区" if view.level == "city" else "各街镇"
    return ui.graph(figure, "map", 460, toolbar=True), ui.section(f"{level}复工率", bars, subtitle="红色虚线为 70% 目标；点击条形下钻")


def building_panel(view: context.View, s: Any) -> Any:
    b = q.building(s, view.building) if view.building is not None else None
    if b is None:
        return None
    contacts = access.unmasked(view.account).contacts
    rows = q.building_enterprises(s, b.id, view.day, contacts=contacts)
    for r in rows:
        r["state"] = ENTERPRISE_STATES["reopened" if r["reopened"] else ("reported" if r["reported"] else "silent")]
    person, phone = as_shown(b.owner_contact, b.owner_phone, contacts)
    info = f"{b.address or ''}　业主：{b.owner or '–'}　联系人：{person or '–'}　电话：{phone or '–'}"
    if contacts:
        access.record_view(s, view.account, "楼宇企业联系人", scope_code=b.street_code, day=view.day,
                           rows=int(bool(person or phone)) + sum(1 for r in rows if r["contact"] or r["phone"]))
        s.commit()
    return ui.section(f"{b.name} 的企业", html.Div(info, className="text-muted mb-2"),
                      ui.table([("enterprise", "企业"), ("kind", "类型"), ("state", "状态"), ("planned", "计划复工"),
                                ("reported_at", "最近填报"), ("contact", "联系人"), ("phone", "电话")], rows,
                               id="building-enterprises"),
                      id="building-panel")


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        now = q.unit_figures(s, view.divs, view.campaign, view.code, view.day)
        before = (q.unit_figures(s, view.divs, view.campaign, view.code, view.previous_day)
                  if view.day > view.campaign.first else None)
        units = q.sub_unit_figures(s, view.divs, view.campaign, view.code, view.day)
        map_graph, side = _map_and_bars(view, s, units)
        panel = building_panel(view, s)
    title = f"{view.name} · {view.day.isoformat()}"
    return html.Div([
        html.H1(title, className="page-title", id="page-title"),
        headline_cards(now, before),
        dbc.Row([
            dbc.Col(ui.section("地图", map_graph, subtitle=("红色楼宇有企业未填报，绿色楼宇均已填报；点击楼宇查看企业"
                                                          if view.level == "street" else "颜色为复工率；点击区或街镇下钻")), lg=7),
            dbc.Col(side, lg=5),
        ], className="g-3"),
        panel,
    ], className="page page-overview")


def _drill(click: dict[str, Any] | None, search: str | None) -> Any:
    """A click on a unit goes down to it; a click on a building opens its enterprises."""
    points = (click or {}).get("points") or []
    data = next((p.get("customdata") for p in points if p.get("customdata")), None)
    if not data:
        return no_update
    params = context.parse_query(search)
    kind, key = data[0], str(data[1])
    if kind == "unit":
        return context.query_string(key, params.get("day"))
    return context.query_string(params.get("unit"), params.get("day"), key)


@callback(Output(PAGE_URL, "search", allow_duplicate=True), Input("map", "clickData"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def drill_from_map(click: dict[str, Any] | None, search: str | None) -> Any:
    return _drill(click, search)


@callback(Output(PAGE_URL, "search", allow_duplicate=True), Input("units-bar", "clickData"), State(PAGE_URL, "search"),
          prevent_initial_call=True)
def drill_from_bars(click: dict[str, Any] | None, search: str | None) -> Any:
    return _drill(click, search)
