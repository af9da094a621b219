"""信息收集: the collections of the page's unit the user may see (open, then drafts for those who may launch them,
then closed), each with its completion for the unit and day, beside the two collections written into onenet
(企业复工申报, 返岗人员登记) with their own figures; a collection opens at /collections/view (collection_view.py)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import access, context
from dashboard import components as ui
from dashboard.queries import collections as qc

dash.register_page(__name__, path="/collections", name="信息收集", title="信息收集 · 一网统管", order=5,
                   export_sections=("summary",))

NEW_PATH = "/collections/new"
VIEW_PATH = "/collections/view"
BADGES = {"open": "success", "draft": "secondary", "closed": "dark"}


def view_href(ident: int, unit: str | None, day: Any) -> str:
    """The address of a collection's view; it keeps its id through the page's unit and day."""
    params = {k: str(v) for k, v in (("id", ident), ("unit", unit), ("day", day)) if v not in (None, "")}
    return f"{VIEW_PATH}?{urlencode(params)}"


def completion_bar(answered: int, expected: int, rate: float | None, note: str = "") -> html.Div:
    """A bar filled to the completion rate, coloured as the map colours rates, with answered / expected."""
    width = f"{min(max(rate or 0.0, 0.0), 1.0) * 100:.1f}%"
    return html.Div([
        html.Div(html.Div(className="cl-bar-fill", style={"width": width, "background": ui.rate_colour(rate)}),
                 className="cl-bar", role="progressbar", **{"aria-valuenow": f"{(rate or 0) * 100:.0f}",
                                                             "aria-valuemin": "0", "aria-valuemax": "100"}),
        html.Div([html.Span(ui.fmt_pct(rate), className="cl-rate"),
                  html.Span(f"已填 {answered:,} / 应填 {expected:,}", className="cl-counts"),
                  html.Span(note, className="cl-note") if note else None], className="cl-bar-text"),
    ], className="cl-progress")


def collection_card(row: dict[str, Any], asked_day: Any) -> html.Div:
    meta = [row["department"] or "未填发起部门", f"范围：{row['scope']}", f"{row['frequency']}（{row['days']}）",
            f"截止：{row['deadline']}", f"填报对象：{row['respondents']}"]
    if row["status"] == "draft":
        progress: Any = html.Div("草稿：尚未开始收集，开始收集后统计完成情况", className="cl-draft-note")
    else:
        note = f"{row['unit']} · {row['day'].isoformat()}"
        if row["day"] != asked_day:
            note += "（收集期外，按收集期的日子显示）"
        progress = completion_bar(row["answered"], row["expected"], row["completion_rate"], note)
    return html.Div([
        html.Div([dbc.Badge(row["status_label"], color=BADGES.get(row["status"], "secondary"), className="me-2"),
                  dcc.Link(row["title"], href=view_href(row["id"], row["unit_code"], asked_day), className="cl-title"),
                  dcc.Link("编辑" if row["status"] == "draft" else "修改", href=f"{NEW_PATH}?id={row['id']}",
                           className="cl-edit") if row["editable"] else None], className="cl-head"),
        html.Div([html.Span(m, className="cl-meta-item") for m in meta], className="cl-meta"),
        progress,
    ], className="cl-card", id=f"collection-{row['id']}")


def builtin_card(row: dict[str, Any], search: str) -> html.Div:
    if row["key"] == "reopening":
        progress: Any = completion_bar(row["answered"], row["expected"], row["completion_rate"], row["figures"])
    else:
        progress = html.Div([html.Span(f"{row['people']:,} 人", className="cl-rate"),
                             html.Span(row["figures"], className="cl-counts")], className="cl-bar-text")
    return html.Div([
        html.Div([dbc.Badge("内置", color="info", className="me-2"), dbc.Badge("收集中", color="success", className="me-2"),
                  dcc.Link(row["title"], href=row["href"] + search, className="cl-title")], className="cl-head"),
        html.Div([html.Span("经楼宇二维码和报表导入持续收集", className="cl-meta-item")], className="cl-meta"),
        progress,
    ], className="cl-card cl-builtin", id=f"builtin-{row['key']}")


def layout(unit: str | None = None, day: str | None = None, building: str | None = None, **_: Any) -> Any:
    with context.session() as s:
        view = context.current_view(s, unit, day, building)
        launch = access.may_launch_collections(view.account)
        rows = qc.listing(s, view.divs, view.account.scope_code, view.code, view.day, launch)
        builtin = qc.builtin_rows(s, view.divs, view.campaign, view.code, view.day)
    search = view.query(building=None)
    groups = [(status, [r for r in rows if r["status"] == status]) for status in ("open", "draft", "closed")]
    sections = []
    for status, members in groups:
        cards = [collection_card(r, view.day) for r in members]
        if status == "open":
            cards += [builtin_card(b, search) for b in builtin]
        elif not members:
            continue
        title = {"open": "收集中", "draft": "草稿", "closed": "已结束"}[status]
        subtitle = {"open": "完成率 = 已填 ÷ 应填，为本页单位和日期的数字；点击标题查看各单位完成情况、未填报名单和填报内容",
                    "draft": "只有可以发起收集的用户看得到草稿", "closed": "不再接收填报"}[status]
        sections.append(ui.section(f"{title}（{len(cards)}）", html.Div(cards, className="cl-list", id=f"collections-{status}"),
                                   subtitle=subtitle))
    head = [html.H1(f"{view.name} · 信息收集 · {view.day.isoformat()}", className="page-title", id="page-title")]
    if launch:
        head.append(html.Div(dcc.Link("＋ 新建信息收集", href=NEW_PATH + search, id="collection-new",
                                      className="btn btn-primary btn-sm"), className="cl-actions"))
    if not rows:
        head.append(html.Div("本单位还没有发起的信息收集" + ("：点击“新建信息收集”，从表单或部门的 Excel 模板开始" if launch else ""),
                             className="empty-note", id="collections-empty"))
    return html.Div([html.Div(head, className="cl-top"), *sections], className="page page-collections")
