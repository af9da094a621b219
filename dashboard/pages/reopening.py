"""复工: reopening rate and reporting coverage over the campaign, the projection from declared plans,
and the enterprises whose planned date has passed without reopening."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import access
from dashboard import components as ui
from dashboard import context
from dashboard import queries as q
from etl import config

dash.register_page(__name__, path="/reopening", name="复工", title="复工 · 一网统管", order=1,
                   export_sections=("summary", "reopening"))

OVERDUE_COLUMNS = [("enterprise", "企业"), ("street", "街镇"), ("building", "楼宇"), ("planned", "计划复工日期"),
                   ("days_overdue", "逾期天数"), ("contact", "联系人"), ("phone", "联系电话"), ("reported_at", "最近填报")]


def _projection_note(p: q.Projection, day: Any) -> str:
    if not p.enterprises:
        return "本单位没有登记企业。"
    target = config.REOPENING_TARGET
    if p.reopened >= target * p.enterprises:
        reach = f"已达到 {target:.0%} 目标。"
    elif p.target_day is not None:
        reach = f"若所有已申报计划按期兑现，预计 {p.target_day.isoformat()} 达到 {target:.0%} 目标。"
    else:
        reach = f"即使所有已申报计划按期兑现，{p.days[-1].isoformat()} 前也达不到 {target:.0%} 目标。"
    return (f"{reach} 计划日期已过仍未复工 {p.overdue:,} 家；未申报计划日期 {p.without_plan:,} 家。")


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        days = view.campaign.trend_days(view.day)
        series = q.trend(s, view.divs, view.campaign, view.code, days, by_sub_unit=view.level != "street")
        figures = series[view.code][-1]
        projection = q.projection(s, view.divs, view.campaign, view.code, view.day, figures)
        contacts = access.unmasked(view.account).contacts
        overdue_total, overdue = q.overdue_enterprises(s, view.divs, view.code, view.day, contacts=contacts)
        if contacts:
            access.record_view(s, view.account, "复工逾期企业联系人", scope_code=view.code, day=view.day,
                               rows=sum(1 for r in overdue if r["contact"] or r["phone"]))
            s.commit()
    shown = f"（显示前 {len(overdue):,} 家）" if overdue_total > len(overdue) else ""
    shown += "" if contacts else "（联系人、电话已脱敏）"
    return html.Div([
        html.H1(f"{view.name} · 复工进度 · {view.day.isoformat()}", className="page-title", id="page-title"),
        dbc.Row([
            ui.figure_card("reopening_rate", figures),
            ui.figure_card("reporting_coverage", figures),
            ui.figure_card("reopened", figures, f"登记企业 {figures['enterprises']:,} 家"),
            ui.kpi_card("overdue", "逾期未复工", ui.fmt_int(overdue_total), "计划日期已过"),
        ], className="g-2 kpi-row"),
        ui.section("复工率与填报率走势", ui.graph(ui.trend_chart(series, view.code), "trend", 380),
                   subtitle="粗线为本单位，细线为下级单位；红色虚线为 70% 目标"),
        ui.section("按申报计划预测", html.P(_projection_note(projection, view.day), id="projection-note"),
                   ui.graph(ui.projection_chart(projection.days, projection.projected, projection.enterprises),
                            "projection", 320),
                   subtitle="“若每家企业都按申报的计划日期复工”时的复工企业数"),
        ui.section(f"计划复工日期已过仍未复工的企业 {overdue_total:,} 家{shown}",
                   ui.grid(OVERDUE_COLUMNS, overdue, id="overdue-table", empty="没有逾期未复工的企业")),
    ], className="page page-reopening")
