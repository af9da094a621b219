"""返岗人员: returning staff by origin and return date, in quarantine now and ending soon; personal data masked."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import access
from dashboard import components as ui
from dashboard import context
from dashboard import queries as q

dash.register_page(__name__, path="/staff", name="返岗人员", title="返岗人员 · 一网统管", order=3,
                   export_sections=("staff",))

SOON_DAYS = 3
PEOPLE_COLUMNS = [("name", "姓名"), ("id_masked", "身份证号"), ("phone", "手机号"), ("enterprise", "单位"),
                  ("origin", "来源地"), ("return_date", "返沪日期"), ("quarantine_status", "隔离方式"),
                  ("quarantine_end", "隔离截止")]


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        figures = q.unit_figures(s, view.divs, view.campaign, view.code, view.day)
        staff = q.staff_breakdown(s, view.divs, view.code, view.day, SOON_DAYS)
        personal = access.unmasked(view.account).staff
        people = q.staff_people(s, view.divs, view.code, view.day, personal, SOON_DAYS)
        if personal:
            access.record_view(s, view.account, "返岗人员", scope_code=view.code, day=view.day, rows=len(people))
            s.commit()
        units = q.sub_unit_figures(s, view.divs, view.campaign, view.code, view.day)
    origins = staff.by_origin[:15]
    total = sum(n for _, n in staff.ending)
    masked = "" if personal else "（姓名、手机号已脱敏）"
    parts = [
        html.H1(f"{view.name} · 返岗人员 · {view.day.isoformat()}", className="page-title", id="page-title"),
        dbc.Row([
            ui.figure_card("returning_staff", figures, "返沪日期在当日或之前"),
            ui.figure_card("in_quarantine", figures, "隔离截止日期在当日或之后"),
            ui.kpi_card("arrived_today", "当日返沪", ui.fmt_int(staff.arrived_today), "返沪日期为当日"),
            ui.kpi_card("ending_soon", f"{SOON_DAYS} 日内解除隔离", ui.fmt_int(total), "需安排返岗"),
        ], className="g-2 kpi-row"),
        dbc.Row([
            dbc.Col(ui.section("按来源地", ui.graph(ui.count_bars([o for o, _ in origins], [n for _, n in origins], "返岗人员",
                                                                    horizontal=True), "staff-origin",
                                                     max(260, 24 * len(origins) + 60)),
                               subtitle="前 15 个来源地，按地级行政区归并"), lg=6),
            dbc.Col(ui.section("按返沪日期", ui.graph(ui.count_bars([d.strftime("%m-%d") for d, _ in staff.by_return_date],
                                                                      [n for _, n in staff.by_return_date], "返沪人数"),
                                                       "staff-arrivals", 300)), lg=6),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(ui.section("隔离即将解除", ui.graph(ui.count_bars([d.strftime("%m-%d") for d, _ in staff.ending],
                                                                       [n for _, n in staff.ending], "解除隔离人数",
                                                                       colour=ui.GREEN), "staff-ending", 260)), lg=4),
            dbc.Col(ui.section("下级单位", ui.table([("name", "单位"), ("returning_staff", "返岗人员"), ("in_quarantine", "隔离中")],
                                                    units, id="staff-units", empty="本单位没有下级单位")), lg=8),
        ], className="g-3"),
        ui.section(f"{SOON_DAYS} 日内解除隔离的人员 {total:,} 人{masked}",
                   ui.grid(PEOPLE_COLUMNS, people, id="staff-people", empty="没有即将解除隔离的人员")),
    ]
    return html.Div(parts, className="page page-staff")
