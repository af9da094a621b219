"""数据质量: the import ledger, rejected rows with their reasons, and where any figure came from."""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from dashboard import components as ui
from dashboard import context
from dashboard.context import PAGE_URL
from dashboard import queries as q

dash.register_page(__name__, path="/quality", name="数据质量", title="数据质量 · 一网统管", order=4,
                   export_sections=("summary", "rejects"))

SHOWN = 300
LEDGER_COLUMNS = [("batch", "批次"), ("file", "文件"), ("kind", "识别为"), ("status", "状态"), ("rows", "行数"),
                  ("inserted", "新增"), ("updated", "更新"), ("unchanged", "未变"), ("rejected", "退回"),
                  ("warnings", "警告"), ("started_at", "导入时间"), ("error", "错误")]
REJECT_COLUMNS = [("batch", "批次"), ("file", "文件"), ("sheet", "工作表"), ("row", "行号"), ("severity", "级别"),
                  ("field", "字段"), ("reason", "原因及处理办法")]
PROVENANCE_COLUMNS = [("file", "文件"), ("sheet", "工作表"), ("count", "条数"), ("rows", "行号")]
PROVENANCE_OPTIONS = [{"label": label, "value": key} for key, label in q.PROVENANCE_FIGURES.items()]


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        batches = q.batches_in_scope(s, view.divs, view.code)
        files = q.ledger(s, batches, limit=SHOWN)
        reject_total, rejects = q.rejects(s, batches, limit=SHOWN)
    return html.Div([
        html.H1(f"{view.name} · 数据质量", className="page-title", id="page-title"),
        ui.section("数字从哪里来", html.Div([
            dcc.Dropdown(id="provenance-figure", options=PROVENANCE_OPTIONS, value="reopened", clearable=False,
                         searchable=False, style={"maxWidth": "16rem"}),
        ], className="mb-2"), dcc.Loading(html.Div(id="provenance")),
            subtitle=f"{view.name} {view.day.isoformat()} 的数字由哪些文件的哪些行（或扫码填报）构成"),
        ui.section(f"导入记录（{len(files):,} 个文件）",
                   ui.grid(_present(LEDGER_COLUMNS, files), files, id="ledger-table", empty="尚未导入任何文件")),
        ui.section(f"退回记录 {reject_total:,} 行" + (f"（显示最近 {SHOWN} 行）" if reject_total > SHOWN else ""),
                   ui.grid(_present(REJECT_COLUMNS, rejects), rejects, id="rejects-table", empty="没有退回的行"),
                   subtitle="改正原文件中的这些行后重新导入即可；其余行已正常导入"),
    ], className="page page-quality")


@callback(Output("provenance", "children"), Input("provenance-figure", "value"), State(PAGE_URL, "search"))
def show_provenance(figure: str | None, search: str | None) -> Any:
    with context.session() as s:
        view = context.view_of_search(s, search)
        if figure not in q.PROVENANCE_FIGURES:
            return None
        p = q.provenance(s, view.divs, view.campaign, view.code, view.day, figure)
    return html.Div([
        html.P(f"{q.PROVENANCE_FIGURES[figure]}：{p.total:,}", id="provenance-total", className="fw-bold"),
        ui.grid(PROVENANCE_COLUMNS, p.by_file, id="provenance-files", empty="没有来源记录"),
    ])


def _present(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The columns the query layer filled (a database from before 级别 and 警告 has no such keys)."""
    return [c for c in columns if not rows or c[0] in rows[0]]
