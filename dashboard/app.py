"""The Dash app: shell (header, filters, breadcrumb, download), pages (dash.page_registry), login.

The view a page shows (unit, day, building) is its query string: filters, map clicks and chart
clicks only change the URL, and each page's layout function renders from it on the server, cut to
the user's scope (dashboard.context).  Everything is served from this process: Bootstrap CSS and
plotly.js are local assets, the map is drawn without tiles unless ONENET_TILE_URL names a tile server.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dash
import flask
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from sqlalchemy import Engine

from dashboard import access, context, fill_export
from dashboard.context import PAGE_URL
from dashboard import queries as q
from dashboard.auth import current_account, init_login
from dashboard.security import csrf_input

HERE = Path(__file__).resolve().parent
TITLE = "一网统管·复工复产"


def pages() -> list[dict[str, Any]]:
    """The pages in menu order, as each declared itself with ``dash.register_page`` (path, name, order and
    ``export_sections``: the sections of the analyst workbook its 导出 button downloads; or ``export``: a function
    (session, view, query parameters) → (bytes, file name) | None for a page whose workbook is its own)."""
    return sorted(dash.page_registry.values(), key=lambda p: (p.get("order") is None, p.get("order") or 0, p["path"]))


def page_at(pathname: str | None) -> dict[str, Any] | None:
    return next((p for p in dash.page_registry.values() if p["path"] == (pathname or "/")), None)


def shell() -> html.Div:
    """The frame around every page; its contents are filled by callbacks from the URL."""
    account = current_account()
    user = (f"{account.label} · {account.role_label}") if account else ""
    return html.Div([
        html.Header(dbc.Container([
            html.Div([html.Span("◆", className="onenet-logo"), TITLE], className="onenet-brand"),
            html.Nav(id="nav", className="onenet-nav"),
            html.Div([dcc.Link(user, href="/account", id="user-label", className="link-light me-2", title="我的账户"),
                      html.Form([csrf_input(), html.Button("退出", type="submit", id="logout-btn",
                                                            className="btn btn-link link-light p-0")],
                                method="post", action="/logout", className="d-inline")], className="onenet-user"),
        ], fluid=True, className="onenet-header-inner"), className="onenet-header"),
        dbc.Container([
            html.Div([
                html.Div([html.Label("日期", htmlFor="f-day", className="filter-label"),
                          dcc.DatePickerSingle(id="f-day", display_format="YYYY-MM-DD", first_day_of_week=1, placeholder="选择日期",
                                               clearable=False)], className="filter"),
                html.Div([html.Label("区", htmlFor="f-district", className="filter-label"),
                          dcc.Dropdown(id="f-district", placeholder="全市", searchable=True)], className="filter filter-wide"),
                html.Div([html.Label("街镇", htmlFor="f-street", className="filter-label"),
                          dcc.Dropdown(id="f-street", placeholder="全部街镇", searchable=True)], className="filter filter-wide"),
                html.Div([dbc.Button("导出 Excel", id="download-btn", color="primary", outline=True, size="sm"),
                          fill_export.button(), dcc.Download(id="download")], className="filter filter-action"),
            ], className="filter-bar"),
            fill_export.modal(),
            html.Nav(id="crumbs", className="onenet-crumbs", **{"aria-label": "breadcrumb"}),
            dcc.Loading(dash.page_container, type="dot", color="#1f5fa8", delay_show=300),
        ], fluid=True, className="onenet-main"),
    ])


def nav_pages() -> list[dict[str, Any]]:
    """The pages in the menu of the logged-in user: a page may leave the menu (``in_nav=False``, such as
    我的账户, linked from the user's name) or show only to some users (``shown_to``, such as 用户管理)."""
    account = current_account()
    return [p for p in pages() if p.get("in_nav", True) and p.get("shown_to", lambda a: True)(account)]


def _nav(pathname: str, search: str) -> list[Any]:
    """The menu; a page's own sub-pages (/collections/view under /collections) light its entry."""
    def here(path: str) -> bool:
        return pathname == path or (path != "/" and pathname.startswith(path + "/"))
    return [dcc.Link(p["name"], href=p["path"] + search,
                     className="onenet-nav-link" + (" active" if here(p["path"]) else "")) for p in nav_pages()]


def _crumbs(view: context.View, pathname: str, own: dict[str, str]) -> list[Any]:
    """City → … → the unit shown, each a link to the same page (with its own parameters, a collection's id)."""
    items: list[Any] = []
    path = view.divs.path(view.code)
    scope = view.account.scope_code
    trail = path[path.index(scope):] if scope in path else [view.code]
    for code in trail:
        items.append(dcc.Link(view.divs.display(code),
                              href=pathname + context.query_string(code, view.day.isoformat(), None, own),
                              className="crumb", id={"crumb": code}))
    if view.building is not None:
        with context.session() as s:
            b = q.building(s, view.building)
        items.append(html.Span(b.name if b else "", className="crumb crumb-current"))
    elif items:
        items[-1] = html.Span(view.divs.display(view.code), className="crumb crumb-current")
    return items


@callback(
    Output("nav", "children"), Output("crumbs", "children"),
    Output("f-day", "date"), Output("f-day", "min_date_allowed"), Output("f-day", "max_date_allowed"),
    Output("f-day", "disabled_days"),
    Output("f-district", "options"), Output("f-district", "value"), Output("f-district", "disabled"),
    Output("f-street", "options"), Output("f-street", "value"), Output("f-street", "disabled"),
    Input(PAGE_URL, "pathname"), Input(PAGE_URL, "search"),
)
def show_filters(pathname: str | None, search: str | None) -> tuple[Any, ...]:
    """Filters and breadcrumb as the URL says, with only the districts and streets of the user's scope."""
    with context.session() as s:
        view = context.view_of_search(s, search)
    divs, scope = view.divs, view.account.scope_code
    scope_level = divs.level.get(scope, "city")
    district = divs.ancestor(view.code, "district")
    street = divs.ancestor(view.code, "street")
    districts = divs.sub_units(scope) if scope_level == "city" else ([scope] if scope_level == "district" else
                                                                       [divs.ancestor(scope, "district")])
    district_options = [{"label": divs.display(c), "value": c} for c in districts if c]
    street_parent = district if scope_level == "city" else (scope if scope_level == "district" else None)
    streets = divs.sub_units(street_parent) if street_parent else [scope]
    street_options = [{"label": divs.display(c), "value": c} for c in streets]
    nav_search = view.query(building=None)
    own = {k: v for k, v in context.parse_query(search).items() if k not in context.VIEW_PARAMS}
    return (_nav(pathname or "/", nav_search), _crumbs(view, pathname or "/", own),
            view.day.isoformat(), view.campaign.first.isoformat(), view.campaign.last.isoformat(),
            [d.isoformat() for d in view.campaign.idle_days()],
            district_options, district, scope_level != "city",
            street_options, street, scope_level == "street" or (scope_level == "city" and district is None))


@callback(
    Output(PAGE_URL, "search", allow_duplicate=True),
    Input("f-day", "date"), Input("f-district", "value"), Input("f-street", "value"),
    State(PAGE_URL, "search"),
    prevent_initial_call=True,
)
def apply_filters(day: str | None, district: str | None, street: str | None, search: str | None) -> Any:
    """A changed filter becomes a new URL (the page then renders for it); an unchanged one does nothing."""
    params = context.parse_query(search)
    current_unit = params.get("unit")
    trigger = ctx.triggered_id
    unit = current_unit
    building = params.get("building")
    if trigger == "f-district":
        unit, building = district or None, None
    elif trigger == "f-street":
        unit, building = street or district or None, None
    own = {k: v for k, v in params.items() if k not in context.VIEW_PARAMS}
    new = context.query_string(unit, (day or params.get("day") or "")[:10] or None, building, own)
    old = context.query_string(current_unit, params.get("day"), params.get("building"), own)
    if new == old or (trigger != "f-day" and unit == current_unit):
        return no_update
    return new


@callback(
    Output("download", "data"),
    Input("download-btn", "n_clicks"),
    State(PAGE_URL, "pathname"), State(PAGE_URL, "search"),
    prevent_initial_call=True,
)
def download(n_clicks: int | None, pathname: str | None, search: str | None) -> Any:
    """What the page shows, as the analyst workbook, for the page's unit and day and the user's scope."""
    from etl.audit import record, workbook_rows  # noqa: PLC0415
    from etl.export import carries_personal_data, workbook_bytes  # noqa: PLC0415

    if not n_clicks:
        return no_update
    page = page_at(pathname) or page_at("/") or {}
    sections = page.get("export_sections", ("summary",))
    with context.session() as s:
        view = context.view_of_search(s, search)
        if (export := page.get("export")) is not None:  # a page with a workbook of its own (a collection's answers)
            made = export(s, view, context.parse_query(search))
            s.commit()
            return dcc.send_bytes(*made) if made else no_update
        shown = access.unmasked(view.account)
        data = workbook_bytes(s, scope_code=view.code, day=view.day, user_name=view.account.label,
                              sections=sections, personal=shown.staff, contacts=shown.contacts)
        personal = carries_personal_data(sections, shown.staff, shown.contacts)
        record(s, view.account.username, "export", scope_code=view.code, day=view.day, rows=workbook_rows(data),
               personal=personal, address=access.client_address(), sections=list(sections), page=page.get("name"))
        s.commit()
    return dcc.send_bytes(data, f"onenet_{page.get('name', '总览')}_{view.name}_{view.day.isoformat()}.xlsx")


def qr_sheet(street_code: str) -> flask.Response:
    """The printable A4 sheet of QR codes of a street in the user's scope (as `onenet qr` writes it).

    The codes point at $ONENET_PUBLIC_URL; without it the sheet is refused (never the address a request claims).
    """
    from etl.divisions import UnknownDivision  # noqa: PLC0415
    from etl.qr_cli import NOT_CONFIGURED, NoBuildings, configured_public_url, write_posters  # noqa: PLC0415

    with context.session() as s:
        view = context.current_view(s, street_code)
        if view.code != street_code or view.level != "street":
            flask.abort(404)
        base_url = configured_public_url()
        if base_url is None:
            return flask.Response(NOT_CONFIGURED, status=503, mimetype="text/plain; charset=utf-8")
        with tempfile.TemporaryDirectory() as folder:
            try:
                _, _, sheet = write_posters(s, street_code, Path(folder), base_url, log=lambda m: None)
            except (NoBuildings, UnknownDivision) as exc:
                return flask.Response(str(exc), status=404, mimetype="text/plain")
            return flask.Response(sheet.read_text(encoding="utf-8"), mimetype="text/html")


def create_app(engine: Engine) -> dash.Dash:
    context.bind(engine)
    app = dash.Dash(
        __name__, use_pages=True, pages_folder=str(HERE / "pages"), assets_folder=str(HERE / "assets"),
        serve_locally=True, title=TITLE, update_title=None, suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = shell
    init_login(app.server, engine, app.csp_hashes)
    app.server.add_url_rule("/qr-sheet/<street_code>", "onenet_qr_sheet", qr_sheet)
    try:
        from dashboard.intake import register_intake  # noqa: PLC0415
    except ImportError:
        pass
    else:
        register_intake(app.server, engine)
    return app


def run(url: str | None = None, host: str = "127.0.0.1", port: int = 8050) -> None:
    from etl.database import init_db, make_engine  # noqa: PLC0415

    engine = make_engine(url)
    init_db(engine)
    app = create_app(engine)
    if os.environ.get("ONENET_DEBUG"):
        app.run(host=host, port=port, debug=True)
        return
    from waitress import serve  # noqa: PLC0415

    serve(app.server, host=host, port=port, threads=8, ident="onenet")
