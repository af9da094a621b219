"""The intake's HTTP surface.

- ``GET  /q/<token>``                 the phone form of one building (Chinese, no login)
- ``POST /q/<token>``                 a form submission (CSRF pair: cookie + hidden field); answers JSON to the
                                      form's script (``Accept: application/json``), else redirects to the receipt
- ``GET  /q/<token>/r/<id>``          the receipt of a stored submission
- ``GET  /api/intake/<token>``        the building and its enterprises (ids to post), for form tools
- ``POST /api/intake/<token>``        the same submission as JSON (token-authenticated, no CSRF); the token may
  ``POST /api/intake``                instead come as ``Authorization: Bearer <token>``
- ``/intake-assets/...``              the form's CSS and JS (served locally: no CDN)
- collections (信息收集) answered through the same code, and a JSON post with ``collection_id``: see
  ``dashboard.intake.collections``

Abuse guards, in order: body size (413), building token (404; 410 for a revoked code), rate per client
address and token, then per token for all clients together (429 + Retry-After), CSRF on the form (403),
JSON nesting (400), shape and pipeline validation (422, a ``rejected_submission`` record only), the
enterprise belonging to the token's building (422).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, make_response, redirect, render_template, request, url_for
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

import dashboard.intake.guards as guards
from dashboard.intake.collections import add_collection_routes
from dashboard.security import intake_headers
from etl import config
from etl import intake as core
from etl.intake import BuildingInfo, IntakeSettings, Outcome, SubmissionInvalid
from schemas.models import Submission
from schemas import sources as S

STAFF_FORM_FIELDS = ("name", "id_number", "phone", "origin", "return_date", "quarantine_status")
REPORT_FORM_FIELDS = ("reopened", "planned_reopen_date", "actual_reopen_date", "staff_total", "staff_returned",
                      "staff_quarantined", "contact_name", "contact_phone")
SECURITY_HEADERS = intake_headers()
"""The form's stricter policy (no inline styles, no referrer: the token is in the URL); the rest of the
server's headers come from dashboard.security."""
STORED = ("accepted", "duplicate")
Store = Callable[[BuildingInfo, str, Any, str], Outcome]
"""Checks and stores a payload: (building, token, payload, source) → outcome."""


class Intake:
    """State shared by the routes: engine, settings, token index, rate limiter, CSRF key."""

    def __init__(self, engine: Engine, settings: IntakeSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.tokens = core.TokenIndex()
        self.client_limiter = guards.SlidingWindowLimiter(settings.rate_limit, settings.rate_window_seconds)
        self.building_limiter = guards.SlidingWindowLimiter(settings.building_rate_limit, settings.rate_window_seconds)
        self.csrf_key = guards.csrf_key()

    def building(self, token: str) -> BuildingInfo | None:
        with Session(self.engine) as session:
            ident = self.tokens.building_id(session, token)
            return core.load_building(session, ident) if ident is not None else None


def make_blueprint(intake: Intake) -> Blueprint:
    bp = Blueprint("onenet_intake", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/intake-assets")

    @bp.before_request
    def limit_size() -> Response | None:
        if request.method != "POST":
            return None
        request.max_content_length = intake.settings.max_body_bytes
        if request.content_length is not None and request.content_length > intake.settings.max_body_bytes:
            return too_large()
        return None

    @bp.after_request
    def harden(response: Response) -> Response:
        if request.path.startswith((core.FORM_PATH, core.API_PATH)):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    @bp.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: Exception | None = None) -> Response:
        limit = intake.settings.max_body_bytes // 1024
        return answer(413, f"提交内容过大（上限 {limit} KB）：请减少返岗人员行数，分批提交",
                      as_json=request.path.startswith(core.API_PATH) or wants_json())

    @bp.get("/q/<token>")
    def form(token: str) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(False, token)
        return form_page(token, "intake/form.html", b=building, submission_id=str(uuid.uuid4()),
                         staff_fields=STAFF_FORM_FIELDS, quarantine_states=S.QUARANTINE_STATES,
                         max_staff=intake.settings.max_staff_rows)

    @bp.post("/q/<token>")
    def form_post(token: str) -> Response:
        return guarded_post(token, payload_from_form, take, ".receipt")

    @bp.get("/q/<token>/r/<submission_id>")
    def receipt(token: str, submission_id: str) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(False)
        with Session(intake.engine) as session:
            row = session.get(Submission, submission_id[:64])
        if row is None or row.building_id != building.id or not row.receipt:
            return not_found(False)
        data = json.loads(row.receipt)
        return make_response(render_template("intake/receipt.html", b=building, token=token, r=data))

    @bp.get("/api/intake/<token>")
    def api_building(token: str) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(True, token)
        return jsonify(building={"name": building.name, "address": building.address, "street": building.street_name,
                                 "district": building.district_name},
                       enterprises=[{"id": e["id"], "name": e["name"], "uscc": e["uscc"]} for e in building.enterprises])

    @bp.post("/api/intake")
    @bp.post("/api/intake/<token>")
    def api_post(token: str | None = None) -> Response:
        token = token or bearer_token()
        building = intake.building(token or "")
        if building is None:
            return not_found(True, token)
        if (limited := rate_limited(token or "", True)) is not None:
            return limited
        if not request.is_json:
            return answer(415, "请以 application/json 提交", True)
        try:
            payload = request.get_json(silent=True)
        except RecursionError:
            payload = TOO_DEEP
        if payload is TOO_DEEP or nesting_depth(payload) > MAX_DEPTH:
            return answer(400, f"提交内容嵌套层次过深（最多 {MAX_DEPTH} 层）：返岗人员应为对象的列表，每项只含文字或数字", True)
        if payload is None:
            return answer(400, "提交内容不是有效的 JSON", True)
        if isinstance(payload, dict) and "collection_id" in payload:
            return answer_collection(building, token or "", payload)
        return reply(take(building, token or "", payload, "api"), True)

    # ---------------------------------------------------------------- helpers

    def form_page(token: str, template: str, **context: Any) -> Response:
        """A phone form with its CSRF pair: the browser's cookie (a new one when it has none valid) and, bound to
        it and the building, the hidden field ``csrf``."""
        cookie = request.cookies.get(guards.CSRF_COOKIE)
        if not guards.valid_cookie(cookie):
            cookie = guards.new_cookie_value()
        response = make_response(render_template(template, token=token, **context,
                                                 csrf=guards.form_token(intake.csrf_key, cookie, token)))
        response.set_cookie(guards.CSRF_COOKIE, cookie, httponly=True, samesite="Strict", path=core.FORM_PATH,
                            secure=request.is_secure or config.COOKIE_SECURE)
        return response

    def guarded_post(token: str, to_payload: Callable[[Any], dict[str, Any]], store: Store, receipt: str,
                     **receipt_args: Any) -> Response:
        """A phone form's post: the building from the token, the rate limits and the CSRF pair, then the form as
        a payload to ``store``; the form's script is answered in JSON, a browser without scripts is sent to the
        ``receipt`` endpoint (or shown the errors)."""
        as_json = wants_json()
        building = intake.building(token)
        if building is None:
            return not_found(as_json, token)
        if (limited := rate_limited(token, as_json)) is not None:
            return limited
        form_data = request.form
        if not guards.csrf_ok(intake.csrf_key, request.cookies.get(guards.CSRF_COOKIE), form_data.get("csrf"), token):
            return answer(403, "页面已过期或来源不明（安全校验未通过）：请重新扫码打开表单后再提交", as_json)
        payload = to_payload(form_data)
        if not as_json and not payload.get("submission_id"):
            payload["submission_id"] = str(uuid.uuid4())  # a browser without scripts: no retry protection
        outcome = store(building, token, payload, "form")
        receipt_url = (url_for(receipt, token=token, submission_id=payload["submission_id"], **receipt_args)
                       if outcome.status in STORED else None)
        return reply(outcome, as_json, receipt_url)

    def take(building: BuildingInfo, token: str, payload: Any, source: str) -> Outcome:
        try:
            prepared = core.prepare(payload, building, intake.settings)
        except SubmissionInvalid as exc:
            sid = payload.get("submission_id") if isinstance(payload, dict) else None
            core.record_rejection(intake.engine, building.id, token, sid, source, exc.errors, payload)
            return Outcome("rejected", 422, errors=exc.errors)
        return core.submit(intake.engine, prepared, source, token)

    def rate_limited(token: str, as_json: bool) -> Response | None:
        """One client's posts are limited per code; a building's code, for all its clients together, has a
        higher ceiling, so one busy or hostile client does not lock the building's other enterprises out."""
        wait = intake.client_limiter.hit(f"{request.remote_addr}|{token}")
        who = "您"
        if wait is None:
            wait, who = intake.building_limiter.hit(token), "本楼宇"
        if wait is None:
            return None
        seconds = int(wait + 0.999)
        response = answer(429, f"{who}的提交过于频繁：请 {seconds} 秒后再试", as_json)
        response.headers["Retry-After"] = str(seconds)
        return response

    def reply(outcome: Outcome, as_json: bool, receipt_url: str | None = None) -> Response:
        """The answer to a submission stored (JSON with its receipt, or a redirect to ``receipt_url``) or refused
        (JSON, or the message page, with the errors)."""
        if outcome.status in STORED:
            if receipt_url and not as_json:
                return redirect(receipt_url, 303)
            page = {"receipt_url": receipt_url} if receipt_url else {}
            return make_response(jsonify(ok=True, status=outcome.status, **page, receipt=outcome.receipt),
                                 outcome.http_status)
        if as_json:
            return make_response(jsonify(ok=False, status=outcome.status, errors=outcome.errors), outcome.http_status)
        return make_response(render_template("intake/message.html", title="未能提交", errors=outcome.errors,
                                             back=True), outcome.http_status)

    def not_found(as_json: bool, token: str | None = None) -> Response:
        if token and intake.tokens.revoked(token):
            return answer(410, "此二维码已停用（街道已为本楼宇更换了新的二维码）：请扫描楼宇张贴的最新二维码，或联系街道工作人员",
                          as_json)
        return answer(404, "二维码无效或已失效：请扫描楼宇张贴的最新二维码，或联系街道工作人员", as_json)

    answer_collection = add_collection_routes(bp, intake, not_found, answer, form_page, guarded_post, reply)
    return bp


MAX_DEPTH = 8  # a submission is an object of values with a list of flat objects: 3 levels
TOO_DEEP = object()


def nesting_depth(value: Any) -> int:
    """How deep lists and objects nest in a parsed JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def wants_json() -> bool:
    return "application/json" in (request.headers.get("Accept") or "")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def answer(status: int, message: str, as_json: bool) -> Response:
    if as_json:
        return make_response(jsonify(ok=False, errors=[{"section": None, "row": None, "field": None, "message": message}]),
                             status)
    return make_response(render_template("intake/message.html", title="提示", errors=[{"message": message}],
                                         back=status in (403, 413, 429)), status)


def payload_from_form(form: Any) -> dict[str, Any]:
    """The posted form as the JSON payload the API takes; staff rows are parallel lists of fields."""
    payload: dict[str, Any] = {k: form.get(k) for k in ("submission_id", "enterprise_id", "enterprise_name", "uscc",
                                                        *REPORT_FORM_FIELDS)}
    payload = {k: v for k, v in payload.items() if v not in (None, "")}
    columns = {f: form.getlist(f"staff_{f}") for f in STAFF_FORM_FIELDS}
    count = max((len(v) for v in columns.values()), default=0)
    payload["staff"] = [{f: (columns[f][i] if i < len(columns[f]) else "") for f in STAFF_FORM_FIELDS}
                        for i in range(count)]
    return payload

