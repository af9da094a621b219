"""审计日志: who logged in, exported, saw personal data unmasked, followed up, confirmed, changed users
or loaded data; for admins and, cut to their district, district leaders (dashboard.queries.audit)."""
from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import components as ui
from dashboard import context
from dashboard.auth import current_account
from dashboard import queries as q
from dashboard.queries.audit import ENTRIES_SHOWN

dash.register_page(__name__, path="/audit", name="审计日志", title="审计日志 · 一网统管", order=12, shown_to=q.reads_audit)

COLUMNS = [("at", "时间"), ("actor", "用户"), ("action_label", "操作"), ("scope", "范围"), ("day", "数据日期"),
           ("rows", "行数"), ("personal_label", "个人信息"), ("address", "地址"), ("detail_text", "详情")]
REFUSED = "无权查看"


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    if not q.reads_audit(current_account()):
        return html.Div([html.H1("审计日志", className="page-title", id="page-title"),
                         html.Div(REFUSED, className="alert alert-warning", id="page-refused")], className="page")
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        rows = q.audit_entries(s, view.account, view.divs, view.code)
    whose = "全部记录" if view.account.role == "admin" and view.level == "city" else f"{view.name}范围内的记录"
    return html.Div([
        html.H1(f"{view.name} · 审计日志", className="page-title", id="page-title"),
        ui.section(f"{whose}（最近 {len(rows):,} 条）",
                   ui.grid(COLUMNS, rows, id="audit-grid", empty="没有审计记录"),
                   subtitle=f"登录、导出、查看未脱敏个人信息、跟进、确认企业、用户变更和数据导入，最新在前；"
                            f"页面最多显示最近 {ENTRIES_SHOWN:,} 条，更早的记录请用 onenet audit 查询。"
                            "记录中不含完整的身份证号和手机号"),
    ], className="page page-audit")
