"""What every request and response of the web app passes (docs/rules.md#logins-and-sessions).

- Security headers on every response: a Content-Security-Policy as strict as Dash allows, ``nosniff``, no
  framing, ``Referrer-Policy: same-origin``.  The QR form asks for a stricter policy of its own (``intake_headers``).
- Same origin: a request that changes something and names a foreign ``Origin`` (or ``Sec-Fetch-Site:
  cross-site``) is refused with 403, Dash callbacks included.
- CSRF: Flask-WTF's token on every form that changes something (login, logout, the user pages): put
  ``csrf_input()`` (a Dash page) or ``csrf_field()`` (an HTML page) into the form.  Dash's callback route is
  exempt: it takes only JSON, which no foreign page can post without CORS, and passes the same-origin check.
  The QR intake keeps its own CSRF pair and its token-authenticated JSON API.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import flask
from dash import dcc
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from markupsafe import Markup, escape

from etl import config

DASH_CALLBACK_ENDPOINT = "/_dash-update-component"
INTAKE_BLUEPRINT = "onenet_intake"
"""Its form has a CSRF pair of its own (dashboard.intake.guards); its JSON API is token-authenticated."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"


def content_security_policy(script_sources: Sequence[str] = (), inline_styles: bool = True, map_tiles: bool = True) -> str:
    """The policy of the dashboard's pages; ``script_sources`` are the hashes of Dash's inline scripts.

    Dash's renderer and components (plotly.js, react-select, AG Grid) add ``<style>`` elements at run time,
    hence ``'unsafe-inline'`` for styles only; scripts run from this server or by hash, never inline or by eval.
    A tile server ($ONENET_TILE_URL) is allowed for images and for the map's requests.
    """
    tiles = urlsplit(config.MAP_TILE_URL) if config.MAP_TILE_URL and map_tiles else None
    tile_origin = [f"{tiles.scheme}://{tiles.netloc}"] if tiles and tiles.netloc else []
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_sources],
        "style-src": ["'self'", "'unsafe-inline'"] if inline_styles else ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *tile_origin],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *tile_origin],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def headers(csp: str, referrer: str = "same-origin") -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": referrer,
    }


def intake_headers() -> dict[str, str]:
    """The QR form's: no inline styles at all, no referrer (its token is in the URL), never cached."""
    return {**headers(content_security_policy(inline_styles=False, map_tiles=False), referrer="no-referrer"), "Cache-Control": "no-store"}


def csrf_token() -> str:
    return generate_csrf()


def csrf_field() -> Markup:
    """The hidden input a server-rendered form posts back."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(generate_csrf())}">')


def csrf_input() -> dcc.Input:
    """The hidden input of a Dash ``html.Form`` that posts to a Flask route (call it in a layout function)."""
    return dcc.Input(type="hidden", name=CSRF_FIELD, value=generate_csrf())


def allowed_origins() -> set[str]:
    """This server as the request names it, and $ONENET_PUBLIC_URL (the address behind a proxy)."""
    from etl.qr_cli import configured_public_url  # noqa: PLC0415

    public = configured_public_url()
    return {flask.request.host} | ({urlsplit(public).netloc} if public else set())


def foreign_request() -> bool:
    if flask.request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = flask.request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc not in allowed_origins()


def install(server: flask.Flask, script_sources: Callable[[], Sequence[str]] = lambda: ()) -> None:
    """Same-origin and CSRF checks before every state-changing request; headers on every response.

    ``script_sources`` gives the CSP hashes of Dash's inline scripts (``dash.Dash.csp_hashes``); it is asked
    at the first response, when every callback is known.
    """
    server.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    csrf = CSRFProtect(server)
    policy: list[dict[str, str]] = []

    @server.before_request
    def same_origin_and_csrf() -> flask.Response | None:
        if flask.request.method in SAFE_METHODS or flask.request.blueprint == INTAKE_BLUEPRINT:
            return None
        if foreign_request():
            return refusal(403, "请求来源不明（不是本系统的页面）：请从本系统的页面操作")
        if flask.request.endpoint not in (None, DASH_CALLBACK_ENDPOINT):
            csrf.protect()
        return None

    @server.errorhandler(CSRFError)
    def csrf_failed(_exc: CSRFError) -> flask.Response:
        return refusal(400, "页面已过期或来源不明（安全校验未通过）：请刷新页面后重试")

    @server.after_request
    def add_headers(response: flask.Response) -> flask.Response:
        if not policy:
            policy.append(headers(content_security_policy(script_sources())))
        for name, value in policy[0].items():
            response.headers.setdefault(name, value)
        return response


def refusal(status: int, message: str) -> flask.Response:
    """A refused request, as JSON to scripts (Dash callbacks) and as a short Chinese page to a browser form."""
    if flask.request.path.startswith("/_dash-") or flask.request.is_json:
        return flask.Response(flask.json.dumps({"error": message}), status=status, mimetype="application/json")
    page = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>提示</title></head>'
            f'<body><p>{escape(message)}</p><p><a href="/">返回</a></p></body></html>')
    return flask.Response(page, status=status, mimetype="text/html")
