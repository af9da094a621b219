"""Building blocks of the pages: number formats, figure cards, tables and the charts (plotly figures).

Everything here is a pure function of data the query layer returned; nothing here touches the database.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from plotly.colors import sample_colorscale

from dashboard.map_labels import POSITIONS, place_labels, text_width
from etl import config
from etl.figures import BETTER, LABELS, RATES
from schemas.labels import FOLLOW_UP_LABELS

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, WenQuanYi Micro Hei, sans-serif"
RATE_SCALE = "RdYlGn"
MAP_BUILDING_NAMES = 80
"""Buildings named on a street's map at most: the chosen one, then the most silent. A dense street's 1,700
names cover the map and took over a second to lay out (benchmarks/bench_collections.py); hovering names any."""
BLUE, RED, GREEN = "#1f5fa8", "#c0392b", "#2e8b57"
GRAPH_CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True, "locale": "zh-CN",
                "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"], "toImageButtonOptions": {"scale": 2}}

HEADLINE_NOTES = {  # the overview's cards, in order, with what each counts
    "reopening_rate": "已复工 ÷ 登记企业",
    "enterprises": "不含沿街商铺",
    "reopened": "截至当日",
    "reporting_coverage": "已填报 ÷ 登记企业",
    "staff_return_rate": "已返岗 ÷ 员工总数",
    "shop_reopening_rate": "单列，不计入复工率",
    "buildings_missing": "有未填报企业的楼宇",
    "returning_staff": "已返沪返岗人数",
    "in_quarantine": "当日仍在隔离期",
    "timeliness": "不晚于复工当日填报 ÷ 已填报",
    "shops": "登记商铺",
    "buildings": "登记楼宇",
}
HEADLINES = tuple((key, LABELS[key], key in RATES, note) for key, note in HEADLINE_NOTES.items())
"""(figure, its name, is it a rate, what it counts) per card; names and rates are etl.figures'."""


def fmt_int(value: int | float | None) -> str:
    return "–" if value is None else f"{int(value):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def fmt_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def change(key: str, now: float | int | None, before: float | int | None) -> tuple[str, str]:
    """'较前一日 +1.2 个百分点' and a colour class for figure ``key`` against the day before: green when it
    moved the way that is good for the unit, red when the other way, grey for a count that is neither
    (etl.figures.BETTER)."""
    if now is None or before is None:
        return "较前一日 –", "text-muted"
    rate = key in RATES
    delta = (now - before) * (100 if rate else 1)
    if abs(delta) < 1e-9:
        return "较前一日持平", "text-muted"
    sign = "+" if delta > 0 else "−"
    amount = f"{abs(delta):.1f} 个百分点" if rate else f"{abs(int(delta)):,}"
    good = BETTER[key] * delta
    return f"较前一日 {sign}{amount}", "text-success" if good > 0 else "text-danger" if good < 0 else "text-muted"


def kpi_card(key: str, label: str, value: str, note: str, delta: tuple[str, str] | None = None) -> dbc.Col:
    body = [html.Div(label, className="kpi-label"), html.Div(value, id=f"fig-{key}", className="kpi-value")]
    if delta:
        body.append(html.Div(delta[0], className=f"kpi-delta {delta[1]}"))
    body.append(html.Div(note, className="kpi-note"))
    return dbc.Col(html.Div(body, className="kpi-card"), xs=6, md=4, xl=2)


def figure_card(key: str, figures: dict[str, Any], note: str | None = None, delta: tuple[str, str] | None = None) -> dbc.Col:
    """The card of one figure of etl.figures: its one name, its value as a rate or a count, and what it
    counts (the overview's words, HEADLINE_NOTES, unless a page says more)."""
    value = figures[key]
    return kpi_card(key, LABELS[key], fmt_pct(value) if key in RATES else fmt_int(value),
                    HEADLINE_NOTES[key] if note is None else note, delta)


def section(title: str, *children: Any, subtitle: str | None = None, id: str | None = None) -> html.Section:
    head = [html.H2(title, className="section-title")]
    if subtitle:
        head.append(html.Div(subtitle, className="section-subtitle"))
    kwargs = {"id": id} if id else {}
    return html.Section([html.Div(head, className="section-head"), *children], className="onenet-section", **kwargs)


def table(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]], id: str | None = None,
          empty: str = "暂无数据") -> html.Div:
    """A plain, responsive table: ``columns`` are (key, Chinese header)."""
    body = [html.Tr([html.Td(_cell(r.get(k))) for k, _ in columns]) for r in rows]
    if not body:
        return html.Div(empty, className="empty-note", id=id) if id else html.Div(empty, className="empty-note")
    kwargs = {"id": id} if id else {}
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(h) for _, h in columns])), html.Tbody(body)],
                               className="table table-sm table-hover align-middle mb-0 onenet-table"),
                    className="table-responsive", **kwargs)


GRID_ROW_PX, GRID_HEAD_PX, GRID_ROWS_SHOWN = 34, 38, 12
GRID_LOCALE = {  # AG Grid's own words on screen (its Chinese locale is a separate npm package, not bundled)
    "noRowsToShow": "没有符合条件的行", "loadingOoo": "加载中…", "filterOoo": "筛选…", "searchOoo": "搜索…",
    "equals": "等于", "notEqual": "不等于", "contains": "包含", "notContains": "不包含", "startsWith": "开头是",
    "endsWith": "结尾是", "blank": "为空", "notBlank": "不为空", "lessThan": "小于", "greaterThan": "大于",
    "lessThanOrEqual": "小于等于", "greaterThanOrEqual": "大于等于", "inRange": "介于", "inRangeStart": "从",
    "inRangeEnd": "到", "andCondition": "且", "orCondition": "或", "applyFilter": "应用", "resetFilter": "重置",
    "clearFilter": "清除", "cancelFilter": "取消", "selectAll": "全选", "sortAscending": "升序", "sortDescending": "降序",
    "sortUnSort": "取消排序", "columnFilter": "筛选", "ariaFilterInput": "筛选输入", "ariaFilterValue": "筛选值",
}


def grid(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]], id: str, empty: str = "暂无数据") -> Any:
    """A sortable, filterable table that draws only the rows on screen (AG Grid through dash-ag-grid).

    For any table of more than a screenful: one Dash component whatever the rows, where ``table`` makes
    one per cell, and thousands of components slow every later callback of the page (dash-renderer
    re-checks each of them on every store update).  ``columns`` are (key, Chinese header) as for ``table``;
    numbers stay numbers, so they sort as numbers and show with thousands separators.
    """
    data = [{k: _grid_value(r.get(k)) for k, _ in columns} for r in rows]
    if not data:
        return html.Div(empty, className="empty-note", id=id)
    defs = []
    for key, header in columns:
        values = [r[key] for r in data if r[key] not in (None, "")]
        numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        width = max([text_width(header, 13) + 40] + [text_width(str(_cell(v)), 13) + 24 for v in values[:200]])
        col: dict[str, Any] = {"field": key, "headerName": header, "minWidth": min(max(width, 90), 280),
                               "flex": min(max(width, 90), 480)}
        if numeric:
            digits = ".1f" if any(isinstance(v, float) for v in values) else ""
            col |= {"type": "numericColumn", "filter": "agNumberColumnFilter",
                    "valueFormatter": {"function": f"params.value == null ? '' : d3.format(',{digits}')(params.value)"}}
        else:
            col |= {"filter": "agTextColumnFilter", "tooltipField": key}
        defs.append(col)
    height = GRID_HEAD_PX * 2 + GRID_ROW_PX * min(len(data), GRID_ROWS_SHOWN) + 4
    return dag.AgGrid(
        id=id, rowData=data, columnDefs=defs, className="onenet-grid", style={"height": f"{height}px", "width": "100%"},
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "suppressHeaderMenuButton": True},
        dashGridOptions={"rowHeight": GRID_ROW_PX, "headerHeight": GRID_HEAD_PX, "floatingFiltersHeight": GRID_HEAD_PX,
                         "localeText": GRID_LOCALE, "tooltipShowDelay": 300, "enableCellTextSelection": True,
                         "theme": {"function": "themeQuartz.withParams({fontFamily: 'inherit', fontSize: 13, "
                                               "headerBackgroundColor: '#f0f3f8', spacing: 6})"}})


def _grid_value(value: Any) -> Any:
    """A value as the grid gets it: JSON numbers and strings, dates as their usual text."""
    if isinstance(value, (date, datetime)):
        return fmt_day(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


def _cell(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return fmt_day(value)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else value


def graph(figure: go.Figure, id: str, height: int = 360, toolbar: bool = False) -> dcc.Graph:
    config = {**GRAPH_CONFIG, "displayModeBar": "hover"} if toolbar else GRAPH_CONFIG
    return dcc.Graph(id=id, figure=figure, config=config, style={"height": f"{height}px"}, className="onenet-graph")


def _layout(fig: go.Figure, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {"font": {"family": FONT, "size": 13, "color": "#1f2937"},
                                "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "paper_bgcolor": "rgba(0,0,0,0)",
                                "plot_bgcolor": "#ffffff", "hoverlabel": {"font": {"family": FONT}}, "separators": ".,"}
    fig.update_layout(**{**settings, **extra})
    return fig


def rate_colour(rate: float | None) -> str:
    return "#d5d9e0" if rate is None else sample_colorscale(RATE_SCALE, [min(max(rate, 0.0), 1.0)])[0]


# --------------------------------------------------------------------------- map


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """Outer rings of a Polygon / MultiPolygon (holes are not drawn)."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _centre(rings: list[list[list[float]]]) -> tuple[float, float]:
    biggest = max(rings, key=len)
    xs, ys = [p[0] for p in biggest], [p[1] for p in biggest]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def unit_map(units: list[dict[str, Any]], shapes: dict[str, Any], points: dict[str, tuple[float, float]],
             buildings: list[dict[str, Any]] | None = None, selected_building: int | None = None,
             tile_url: str | None = None, surroundings: dict[str, Any] | None = None) -> go.Figure:
    """Units coloured by reopening rate (polygons where known, points otherwise); buildings as points.

    Drawn on plain axes in longitude/latitude: no tile server, no base map to fetch, unless a
    ``tile_url`` ({z}/{x}/{y} raster tiles) is configured.  ``surroundings`` (``queries.surroundings``)
    is drawn behind: the district outlined, its neighbours faded, so a district's streets and a
    street's buildings are not dots on white.  Names that would overlap on a phone go beside the
    crowd with a leader line.  A click on a unit's label or point carries ``["unit", code]``, on a
    building ``["building", id]``.
    """
    background = (surroundings or {}).get("features", [])
    fig = go.Figure([_background_trace(f) for f in background])
    by_code = {f["id"]: f for f in shapes.get("features", [])}
    label_x, label_y, label_text, label_data, label_colour, label_hover = [], [], [], [], [], []
    for u in units:
        rate = u.get("reopening_rate")
        hover = f"{u['name']}<br>复工率 {fmt_pct(rate)}（{fmt_int(u['reopened'])}/{fmt_int(u['enterprises'])} 家）<br>漏报楼宇 {fmt_int(u['buildings_missing'])} 栋"
        feature = by_code.get(u["code"])
        if feature is not None:
            rings = _rings(feature["geometry"])
            if not rings:
                continue
            xs, ys = _ring_lines(rings)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=rate_colour(rate),
                                     line={"color": "#ffffff", "width": 1}, hoveron="fills", hoverinfo="text",
                                     text=hover, name=u["name"], showlegend=False))
            x, y = _centre(rings)
        elif u["code"] in points:
            x, y = points[u["code"]]
        else:
            continue
        label_x.append(x)
        label_y.append(y)
        label_text.append(u["name"])
        label_data.append(["unit", u["code"]])
        label_colour.append(rate if rate is not None else float("nan"))
        label_hover.append(hover)
    with_polygons = any(u["code"] in by_code for u in units)
    if label_x:
        fig.add_trace(go.Scatter(
            x=label_x, y=label_y, mode="markers+text", text=label_text, textposition="middle center",
            textfont={"size": 11, "color": "#111827", "shadow": "auto"}, customdata=label_data,
            hovertext=label_hover, hoverinfo="text", name="unit-labels", showlegend=False,
            marker={"size": 16 if with_polygons else 22, "color": label_colour, "colorscale": RATE_SCALE, "cmin": 0, "cmax": 1,
                    "opacity": 0.35 if with_polygons else 0.9, "line": {"color": "#ffffff", "width": 1},
                    "colorbar": {"title": {"text": "复工率", "side": "top"}, "tickformat": ".0%", "thickness": 10,
                                 "len": 0.6, "orientation": "h", "x": 0.5, "y": -0.02, "yanchor": "top"}}))
    if buildings:
        placed = [b for b in buildings if b.get("lng") is not None and b.get("lat") is not None]
        fig.add_trace(go.Scatter(
            x=[b["lng"] for b in placed], y=[b["lat"] for b in placed], mode="markers+text",
            text=[b["building"] for b in placed], textposition="top center",
            textfont={"size": 11, "color": "#374151", "shadow": "auto"},
            customdata=[["building", b["building_id"]] for b in placed],
            hovertext=[f"{b['building']}<br>{b['address']}<br>未填报 {b['silent']} / {b['enterprises']} 家" for b in placed],
            hoverinfo="text", name="buildings", showlegend=False,
            marker={"size": [16 if b["building_id"] == selected_building else 11 for b in placed],
                    "color": [RED if b["silent"] else GREEN for b in placed],
                    "line": {"color": ["#111827" if b["building_id"] == selected_building else "#ffffff" for b in placed],
                             "width": 2},
                    "symbol": "square"}))
    focus = [f for f in background if f["properties"].get("focus")]
    extent = _extent(fig.data[len(background):], [] if buildings else focus)
    if tile_url:
        return _on_tiles(fig, tile_url)
    ratio = 1 / max(math.cos(math.radians((extent[2] + extent[3]) / 2 if extent else 31.2)), 0.2)
    annotations = []
    if extent:
        pad = 0.06 * max(extent[1] - extent[0], (extent[3] - extent[2]) * ratio, 0.005)
        extent = (extent[0] - pad, extent[1] + pad, extent[2] - pad / ratio, extent[3] + pad / ratio)
    named = fig.data[-1] if (label_x or buildings) and extent else None
    if named is not None and named.x:
        every = list(named.text)
        chosen = (_named_buildings(placed, selected_building) if buildings else list(range(len(every))))
        names, xs, ys = [every[i] for i in chosen], [named.x[i] for i in chosen], [named.y[i] for i in chosen]
        layout = (place_labels(names, xs, ys, extent, ratio, 11, POSITIONS[1:]) if buildings else
                  place_labels(names, xs, ys, extent, ratio, 16 if with_polygons else 22))
        extent = layout.extent
        text: list[str | None] = [None] * len(every)
        where = ["middle center"] * len(every)
        for i, t, p in zip(chosen, names, layout.positions):
            text[i], where[i] = (t if p else None), (p or "middle center")
        named.text, named.textposition = text, where
        annotations = [{"x": x, "y": y, "ax": end[0], "ay": end[1], "axref": "x", "ayref": "y", "text": t,
                        "xanchor": "right" if end[0] < x else "left", "showarrow": True, "arrowhead": 0,
                        "arrowwidth": 1, "arrowcolor": "#4b5563", "font": {"size": 11, "color": "#111827"},
                        "bgcolor": "rgba(255,255,255,0.85)", "borderpad": 1}
                       for t, x, y, end in zip(names, xs, ys, layout.callouts) if end]
    fig.update_xaxes(visible=False, fixedrange=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=ratio)
    if extent:
        fig.update_xaxes(range=[extent[0], extent[1]])
        fig.update_yaxes(range=[extent[2], extent[3]])
    return _layout(fig, dragmode="pan", clickmode="event", hovermode="closest", annotations=annotations,
                   margin={"l": 4, "r": 4, "t": 4, "b": 44 if label_x else 4})


def _named_buildings(placed: list[dict[str, Any]], selected: int | None) -> list[int]:
    """Indices of the buildings whose names the map shows (MAP_BUILDING_NAMES), in their order."""
    if len(placed) <= MAP_BUILDING_NAMES:
        return list(range(len(placed)))
    rank = sorted(range(len(placed)), key=lambda i: (placed[i]["building_id"] != selected, -placed[i]["silent"]))
    return sorted(rank[:MAP_BUILDING_NAMES])


def _ring_lines(rings: list[list[list[float]]]) -> tuple[list[float | None], list[float | None]]:
    """Rings as one line trace's x and y, broken by None between rings."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ring in rings:
        xs += [p[0] for p in ring] + [None]
        ys += [p[1] for p in ring] + [None]
    return xs, ys


def _extent(traces: Sequence[Any], features: list[dict[str, Any]]) -> tuple[float, float, float, float] | None:
    """(min x, max x, min y, max y) of the traces' points and the features' outer rings."""
    xs = [x for t in traces for x in (t.x or []) if x is not None]
    ys = [y for t in traces for y in (t.y or []) if y is not None]
    for f in features:
        for ring in _rings(f["geometry"]):
            xs += [p[0] for p in ring]
            ys += [p[1] for p in ring]
    return (min(xs), max(xs), min(ys), max(ys)) if xs else None


def _background_trace(feature: dict[str, Any]) -> go.Scatter:
    """A polygon of the surroundings: a neighbour faded grey, the district itself outlined in navy."""
    xs, ys = _ring_lines(_rings(feature["geometry"]))
    focus = bool(feature["properties"].get("focus"))
    return go.Scatter(x=xs, y=ys, mode="lines", fill="toself", hoverinfo="skip", showlegend=False,
                      name="district" if focus else "neighbour", fillcolor="rgba(31,95,168,0.07)" if focus else "#eceff3",
                      line={"color": "#12335f" if focus else "#ffffff", "width": 2 if focus else 1})


def _on_tiles(flat: go.Figure, tile_url: str) -> go.Figure:
    """The same traces on a MapLibre map over the configured raster tiles."""
    fig = go.Figure()
    for t in flat.data:
        marker = t.marker.to_plotly_json() if t.marker else {}
        marker.pop("line", None)
        marker.pop("symbol", None)
        fig.add_trace(go.Scattermap(
            lon=t.x, lat=t.y, mode=t.mode, fill=t.fill, fillcolor=t.fillcolor, text=t.text, hovertext=t.hovertext,
            hoverinfo=t.hoverinfo, customdata=t.customdata, name=t.name, showlegend=False, marker=marker,
            line={"color": t.line.color, "width": t.line.width} if t.line and t.line.color else None))
    lons = [x for t in flat.data for x in (t.x or []) if x is not None]
    lats = [y for t in flat.data for y in (t.y or []) if y is not None]
    span = max(max(lons, default=121.5) - min(lons, default=121.4), max(lats, default=31.3) - min(lats, default=31.2), 1e-3)
    fig.update_layout(map={
        "style": "white-bg", "zoom": max(3.0, min(16.0, math.log2(360 / span) - 0.8)),
        "center": {"lon": (max(lons, default=121.47) + min(lons, default=121.47)) / 2,
                   "lat": (max(lats, default=31.23) + min(lats, default=31.23)) / 2},
        "layers": [{"below": "traces", "sourcetype": "raster", "source": [tile_url]}],
    })
    return _layout(fig, clickmode="event", hovermode="closest")


# --------------------------------------------------------------------------- charts


def rate_bars(units: list[dict[str, Any]], key: str = "reopening_rate") -> go.Figure:
    """One bar per unit (highest first) against the city's target line; a click carries ["unit", code]."""
    label = LABELS[key]
    ordered = sorted(units, key=lambda u: (u.get(key) is None, -(u.get(key) or 0)))
    fig = go.Figure(go.Bar(
        y=[u["name"] for u in ordered], x=[u.get(key) or 0 for u in ordered], orientation="h",
        customdata=[["unit", u["code"]] for u in ordered],
        marker={"color": [rate_colour(u.get(key)) for u in ordered], "line": {"color": "#ffffff", "width": 0.5}},
        text=[fmt_pct(u.get(key)) for u in ordered], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>" + label + " %{x:.1%}<extra></extra>", name=label))
    fig.add_vline(x=config.REOPENING_TARGET, line={"color": RED, "dash": "dash", "width": 2},
                  annotation={"text": f"目标 {config.REOPENING_TARGET:.0%}", "font": {"color": RED}}, annotation_position="top")
    fig.update_xaxes(title=f"{label}（%）", tickformat=".0%", range=[0, 1.12], gridcolor="#eef0f4")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _layout(fig, bargap=0.25, margin={"l": 10, "r": 30, "t": 24, "b": 10})


def trend_chart(series: dict[str, list[dict[str, Any]]], main: str, target: bool = True) -> go.Figure:
    """Reopening rate and reporting coverage of the unit over the campaign, sub-units as thin lines."""
    fig = go.Figure()
    for code, rows in series.items():
        if code == main:
            continue
        fig.add_trace(go.Scatter(x=[r["day"] for r in rows], y=[r["reopening_rate"] for r in rows], mode="lines",
                                 line={"width": 1}, opacity=0.45, name=rows[0]["name"] if rows else code,
                                 customdata=[["unit", code]] * len(rows),
                                 hovertemplate="%{fullData.name} %{x|%m-%d} " + LABELS["reopening_rate"] + " %{y:.1%}<extra></extra>"))
    rows = series.get(main, [])
    for key, line, mode in (("reopening_rate", {"width": 3, "color": BLUE}, "lines+markers"),
                            ("reporting_coverage", {"width": 3, "color": GREEN, "dash": "dot"}, "lines")):
        fig.add_trace(go.Scatter(x=[r["day"] for r in rows], y=[r[key] for r in rows], mode=mode, line=line,
                                 name=LABELS[key], hovertemplate="%{x|%m-%d} " + LABELS[key] + " %{y:.1%}<extra></extra>"))
    if target:
        fig.add_hline(y=config.REOPENING_TARGET, line={"color": RED, "dash": "dash"},
                      annotation={"text": f"目标 {config.REOPENING_TARGET:.0%}", "font": {"color": RED}},
                      annotation_position="top left")
    fig.update_yaxes(title="比率（%）", tickformat=".0%", range=[0, 1.05], gridcolor="#eef0f4")
    fig.update_xaxes(title="日期", tickformat="%m-%d", gridcolor="#eef0f4")
    return _layout(fig, legend={"orientation": "h", "y": -0.25}, margin={"l": 10, "r": 10, "t": 10, "b": 10})


def projection_chart(days: list[date], projected: list[int], enterprises: int) -> go.Figure:
    fig = go.Figure(go.Scatter(x=days, y=projected, mode="lines+markers", line={"shape": "hv", "color": BLUE, "width": 3},
                               name="按计划预计复工企业", hovertemplate="%{x|%m-%d} 预计 %{y:,} 家<extra></extra>"))
    if enterprises:
        fig.add_hline(y=config.REOPENING_TARGET * enterprises, line={"color": RED, "dash": "dash"},
                      annotation={"text": f"目标 {config.REOPENING_TARGET:.0%}（{math.ceil(config.REOPENING_TARGET * enterprises):,} 家）",
                                  "font": {"color": RED}}, annotation_position="top left")
    fig.update_yaxes(title="复工企业（家）", rangemode="tozero", gridcolor="#eef0f4")
    fig.update_xaxes(title="日期", tickformat="%m-%d", gridcolor="#eef0f4")
    return _layout(fig, showlegend=False)


def count_bars(labels: list[str], values: list[int], title: str, unit: str = "人", colour: str = BLUE,
               horizontal: bool = False) -> go.Figure:
    bar = go.Bar(x=values if horizontal else labels, y=labels if horizontal else values,
                 orientation="h" if horizontal else "v", marker={"color": colour}, text=[f"{v:,}" for v in values],
                 textposition="outside", cliponaxis=False,
                 hovertemplate=("%{y}" if horizontal else "%{x}") + f"：%{{{'x' if horizontal else 'y'}:,}} {unit}<extra></extra>")
    fig = go.Figure(bar)
    value_axis = fig.update_xaxes if horizontal else fig.update_yaxes
    value_axis(title=f"{title}（{unit}）", rangemode="tozero", gridcolor="#eef0f4")
    label_axis = fig.update_yaxes if horizontal else fig.update_xaxes
    label_axis(type="category", automargin=True)
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    return _layout(fig, bargap=0.3, margin={"l": 10, "r": 30, "t": 16, "b": 10})


FOLLOW_UP_OPTIONS = [{"label": label, "value": code} for code, label in FOLLOW_UP_LABELS.items()]


def owner_line(*lead: Any, owner: str | None, contact: str | None, phone: str | None) -> html.Div:
    """Whom to call about a building: owner, contact, and the phone as a tel: link unless it is masked."""
    return html.Div([*lead, "业主：", owner or "–", "　联系人：", contact or "–", "　电话：",
                     html.A(phone, href=f"tel:{phone}") if phone and "*" not in phone else (phone or "–")],
                    className="small text-muted")


def follow_up_row(building_id: int, status_code: str | None, note: str | None, shown: str, *extra: Any) -> html.Div:
    """A building's follow-up controls; 漏报 and a collection's missing list share them, and 漏报's callback
    saves them (pattern ids follow-status / follow-note / follow-save / follow-state)."""
    return html.Div([
        dcc.Dropdown(id={"type": "follow-status", "building": building_id}, options=FOLLOW_UP_OPTIONS,
                     value=status_code or None, placeholder="跟进状态", clearable=False, searchable=False,
                     style={"minWidth": "10rem"}),
        dbc.Input(id={"type": "follow-note", "building": building_id}, placeholder="备注（可选）", value=note, size="sm",
                  maxLength=500, style={"maxWidth": "18rem"}),
        dbc.Button("保存", id={"type": "follow-save", "building": building_id}, size="sm", color="primary"),
        *extra,
        html.Span(shown, id={"type": "follow-state", "building": building_id}, className="follow-status"),
    ], className="follow-row")
