"""按模板导出: a department's report template filled (etl.fill) for the page's unit and day, from the shell's filter bar.

The template is one of the ready forms of etl.config.TEMPLATES_DIR, chosen by its title (never a path from the
browser), or the user's own .xlsx, which stays in the page and is sent again with the download: nothing uploaded
is written to disk. The unit and day come from the page's query string cut to the user's scope on the server
(dashboard.context), and contacts are unmasked only as dashboard.access says, as for 导出 Excel.
"""
from __future__ import annotations

import base64
import binascii
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dashboard import access, context
from dashboard.context import PAGE_URL
from etl import config
from etl.audit import record
from etl.fill_rows import OutOfScope, rows_for
from etl.fill_template import TemplateError, TemplatePlan, open_template, plan_template
from etl.scope import load_scope
from etl.text import strip_controls
from schemas.fill_columns import PERSONAL, UNIT_LABELS

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024**2
MAX_INFLATED_BYTES = 50 * 1024**2
"""What a template may inflate to: a form, not a data file (openpyxl holds all of it in memory)."""
BROWSER_MAX_BYTES = 4 * MAX_UPLOAD_BYTES
"""Files above this never leave the browser (dcc.Upload drops them without a word); between it and
MAX_UPLOAD_BYTES the server says why it refuses."""
SUFFIX = ".xlsx"


class Refused(ValueError):
    """A template that is not taken, with what to do, in the words the modal shows."""


@dataclass(frozen=True)
class Choice:
    title: str  # the download's name starts with it
    name: str  # the file name, as etl.fill names the template
    source: Path | bytes

    @property
    def ready(self) -> bool:
        return isinstance(self.source, Path)

    def template(self) -> Path | IO[bytes]:
        return self.source if isinstance(self.source, Path) else io.BytesIO(self.source)


def ready_forms() -> dict[str, Path]:
    """Title → file of the ready forms (data/templates, or the installed package's copy)."""
    folder = config.TEMPLATES_DIR
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir())
            if p.suffix.lower() == SUFFIX and p.is_file() and not p.name.startswith(("~$", "."))}


def ready_form(title: object) -> Choice:
    path = ready_forms().get(title) if isinstance(title, str) else None
    if path is None:
        raise Refused("没有这张现成报表：请从列表中选择一张，或上传本部门的模板")
    return Choice(path.stem, path.name, path)


def uploaded_form(contents: object, filename: object) -> Choice:
    """The user's template as dcc.Upload sends it (a data URL), refused unless a plausible .xlsx of a few MB."""
    name = _file_name(filename)
    if not name.lower().endswith(SUFFIX):
        raise Refused(f"{name or '所选文件'}：只接受 .xlsx 格式的模板；.xls、.csv 等请先在 Excel 中“另存为”.xlsx 后再上传")
    encoded = contents.partition(",")[2] if isinstance(contents, str) else ""
    too_big = Refused(f"{name}：文件超过 {MAX_UPLOAD_BYTES // 1024**2} MB。模板只需表头和格式，请删去其中的数据行后再上传")
    if len(encoded) > (MAX_UPLOAD_BYTES // 3 + 1) * 4:
        raise too_big
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused(f"{name}：上传未完成或文件已损坏，请重新选择文件") from exc
    if len(data) > MAX_UPLOAD_BYTES:
        raise too_big
    if not data:
        raise Refused(f"{name}：文件是空的，请重新选择文件")
    _check_inflated(data, name)
    return Choice(PurePosixPath(name).stem, name, data)


def _file_name(filename: object) -> str:
    """The base name the browser gives, with no folder, control characters or excess length."""
    if not isinstance(filename, str):
        return ""
    base = PureWindowsPath(PurePosixPath(filename).name).name
    return strip_controls(base).strip()[-80:]


def _check_inflated(data: bytes, name: str) -> None:
    """Refuse a template that would inflate beyond MAX_INFLATED_BYTES. The sizes the archive declares bound what
    openpyxl inflates, since Python's zipfile stops each entry at its declared size (and fails its CRC)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return  # open_template says what is wrong with it
    if declared > MAX_INFLATED_BYTES:
        raise Refused(f"{name}：解压后超过 {MAX_INFLATED_BYTES // 1024**2} MB，不像一张空白模板；请删去其中的数据行后再上传")


def choice_of(ready: object, contents: object, filename: object) -> Choice:
    if ready:
        return ready_form(ready)
    if contents or filename:
        return uploaded_form(contents, filename)
    raise Refused("请选择一张现成报表，或上传本部门的模板")


def check_scope(session: Session, plan: TemplatePlan, view: context.View) -> None:
    """Raise OutOfScope as the fill would: rows_for refuses a unit coarser than the view before reading a row."""
    rows = rows_for(session, plan.unit, load_scope(session, view.code), view.day, personal=False)
    getattr(rows, "close", lambda: None)()


def carries_contacts(plan: TemplatePlan) -> bool:
    return any(c.meaning.name in PERSONAL for c in plan.recognised if c.meaning)


# --------------------------------------------------------------------------- what the callbacks answer


def preview(ready: str | None, contents: str | None, filename: str | None,
            search: str | None) -> tuple[list[Any], list[Any], bool]:
    """(the view it fills, how each column of the template is understood, may it be downloaded)."""
    with context.session() as s:
        view = context.view_of_search(s, search)
        line = _view_line(view)
        if not (ready or contents or filename):
            return line, [], False
        try:
            choice = choice_of(ready, contents, filename)
            plan = plan_template(open_template(choice.template(), choice.name), choice.name)
        except (Refused, TemplateError) as exc:
            return line, [_alert(str(exc))], False
        shown = [_plan_line(choice, plan), plan_table(plan)]
        try:
            check_scope(s, plan, view)
        except OutOfScope as exc:
            return line, [*shown, _alert(str(exc), "warning")], False
    return line, shown, True


def fill_download(n_clicks: int | None, ready: str | None, contents: str | None, filename: str | None,
                  search: str | None) -> tuple[Any, Any]:
    """(the filled workbook to send, the modal's message) for the page's unit and day, in the user's scope."""
    from etl.fill import fill_template  # noqa: PLC0415  (openpyxl and the writer, loaded when first used)

    if not n_clicks:
        return no_update, no_update
    try:
        choice = choice_of(ready, contents, filename)
        with context.session() as s:
            view = context.view_of_search(s, search)
            contacts = access.unmasked(view.account).contacts
            out = io.BytesIO()
            try:
                result = fill_template(s, choice.template(), out, scope_code=view.code, day=view.day,
                                       personal=contacts, template_name=choice.name)
            except (TemplateError, OutOfScope, SQLAlchemyError):
                raise
            except Exception as exc:  # an uploaded form openpyxl reads but cannot write back: say so, not a traceback
                log.exception("filling template %s failed", choice.name)
                raise Refused(f"{choice.name}：模板中有无法处理的内容（{type(exc).__name__}）；"
                              "请在 Excel 中另存为新的 .xlsx 后再试，或改用现成报表") from exc
            record(s, view.account.username, "fill", scope_code=view.code, day=view.day, rows=result.rows,
                   personal=contacts and carries_contacts(result.plan), address=access.client_address(),
                   template=choice.name, ready_form=choice.ready, unit=result.plan.unit)
            s.commit()
    except (Refused, TemplateError, OutOfScope) as exc:
        return no_update, _alert(str(exc))
    name = f"{choice.title}_{view.name}_{view.day.isoformat()}{SUFFIX}"
    done = dbc.Alert(f"已填好 {result.rows:,} 行（{result.scope_name}，{view.day.isoformat()}）：{name}",
                     color="success", className="fill-alert mb-0")
    return dcc.send_bytes(out.getvalue(), name), done


# --------------------------------------------------------------------------- layout


def button() -> dbc.Button:
    return dbc.Button("按模板导出", id="fill-open", color="primary", outline=True, size="sm")


def modal() -> dbc.Modal:
    forms = list(ready_forms())
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("按模板导出")),
        dbc.ModalBody([
            html.P(id="fill-view", className="fill-view"),
            html.Div("现成报表", className="fill-label"),
            dbc.RadioItems(id="fill-ready", options=[{"label": t, "value": t} for t in forms], value=None,
                           className="fill-ready"),
            html.P("暂无现成报表", className="fill-hint") if not forms else None,
            html.Div("或上传本部门的模板", className="fill-label"),
            dcc.Upload(id="fill-upload", multiple=False, max_size=BROWSER_MAX_BYTES, className="fill-upload",
                       children=html.Div(["拖入文件，或", html.Span("点击选择", className="fill-upload-link"),
                                          f"一个 .xlsx 模板（不超过 {MAX_UPLOAD_BYTES // 1024**2}\u00a0MB）"])),
            html.Div(id="fill-plan", className="fill-plan"),
        ]),
        dbc.ModalFooter([
            dcc.Loading(html.Div(id="fill-message", className="fill-message"), type="dot", color="#1f5fa8",
                        parent_className="fill-message-wrap"),
            dbc.Button("下载填好的表", id="fill-go", color="primary", disabled=True),
            dcc.Download(id="fill-download"),
        ]),
    ], id="fill-modal", is_open=False, size="lg", scrollable=True, fullscreen="sm-down")


def plan_table(plan: TemplatePlan) -> html.Div:
    """The describe() rows: column, header, how it is understood; an unrecognised column is marked."""
    rows = [html.Tr([html.Td(letter), html.Td(label), html.Td(meaning)],
                    className="fill-unrecognised" if column.meaning is None else None)
            for column, (letter, label, meaning) in zip(plan.columns, plan.describe())]
    head = html.Thead(html.Tr([html.Th("列"), html.Th("表头"), html.Th("取值")]))
    return html.Div(html.Table([head, html.Tbody(rows)], id="fill-columns",
                               className="table table-sm align-middle mb-0 onenet-table fill-columns"),
                    className="table-responsive")


def _view_line(view: context.View) -> list[Any]:
    contacts = "联系人、电话完整显示（您有权查看）" if access.unmasked(view.account).contacts else "联系人、电话已脱敏"
    return [html.Strong(f"{view.name} · {view.day.isoformat()}"),
            f"：按当前页面的范围和日期填写，只含您权限范围内的数据；{contacts}。"]


def _plan_line(choice: Choice, plan: TemplatePlan) -> html.P:
    header = (f"第 {plan.header_top} 行" if plan.header_rows == 1
              else f"第 {plan.header_top}–{plan.header_top + plan.header_rows - 1} 行")
    total = "；合计行按填入的行重算" if plan.total_row else ""
    left = f"；{len(plan.unrecognised)} 列未识别，将留空，请在下载后手工填写" if plan.unrecognised else ""
    return html.P([html.Strong(choice.title), f"：工作表 {plan.sheet}，表头{header}，",
                   html.Strong(f"每行一个{UNIT_LABELS[plan.unit]}", id="fill-unit"), f"{total}{left}。"],
                  className="fill-plan-line")


def _alert(message: str, color: str = "danger") -> dbc.Alert:
    return dbc.Alert(message, color=color, className="fill-alert mb-0")


# --------------------------------------------------------------------------- callbacks


@callback(Output("fill-modal", "is_open"), Input("fill-open", "n_clicks"), prevent_initial_call=True)
def _open(n_clicks: int | None) -> Any:
    return True if n_clicks else no_update


@callback(
    Output("fill-view", "children"), Output("fill-plan", "children"), Output("fill-go", "disabled"),
    Output("fill-message", "children"),
    Output("fill-ready", "value"), Output("fill-upload", "contents"), Output("fill-upload", "filename"),
    Input("fill-modal", "is_open"), Input("fill-ready", "value"), Input("fill-upload", "contents"),
    State("fill-upload", "filename"), State(PAGE_URL, "search"),
    prevent_initial_call=True,
)
def _choose(is_open: bool | None, ready: str | None, contents: str | None, filename: str | None,
            search: str | None) -> tuple[Any, ...]:
    """A ready form and an upload exclude each other: choosing one clears the other."""
    if not is_open:
        return (no_update,) * 7
    cleared: tuple[Any, ...] = (no_update,) * 3
    if ctx.triggered_id == "fill-upload":
        ready, cleared = None, (None, no_update, no_update)
    elif ctx.triggered_id == "fill-ready":
        contents, filename, cleared = None, None, (no_update, None, None)
    line, shown, ok = preview(ready, contents, filename, search)
    return line, shown or html.P("请选择一张现成报表，或上传本部门的模板。", className="fill-hint"), not ok, None, *cleared


@callback(
    Output("fill-download", "data"), Output("fill-message", "children", allow_duplicate=True),
    Input("fill-go", "n_clicks"),
    State("fill-ready", "value"), State("fill-upload", "contents"), State("fill-upload", "filename"),
    State(PAGE_URL, "search"),
    running=[(Output("fill-go", "disabled"), True, False)],
    prevent_initial_call=True,
)
def _download(n_clicks: int | None, ready: str | None, contents: str | None, filename: str | None,
              search: str | None) -> tuple[Any, Any]:
    return fill_download(n_clicks, ready, contents, filename, search)
