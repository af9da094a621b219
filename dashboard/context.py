"""What every page and callback needs: the database, the logged-in user, and the view they asked for.

The view (unit, day, building) lives in the page's query string so that a link, a reload or the
browser's back button shows the same thing.  It is always cut to the user's scope here, on the
server: a unit outside the scope falls back to the scope itself.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard import queries as q
from dashboard.auth import Account, current_account
from etl.divisions import DivisionTree

_engine: Engine | None = None

PAGE_URL = "_pages_location"
"""The dcc.Location that dash.page_container holds: filters and clicks navigate by changing its search."""


def bind(engine: Engine) -> None:
    global _engine
    _engine = engine


@contextmanager
def session() -> Iterator[Session]:
    if _engine is None:
        raise RuntimeError("dashboard.context.bind(engine) was not called")
    with Session(_engine) as s:
        yield s


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("dashboard.context.bind(engine) was not called")
    return _engine


@dataclass(frozen=True)
class View:
    """One unit of the hierarchy (and perhaps one building of a street) on one campaign day."""

    account: Account
    divs: DivisionTree
    campaign: q.Campaign
    code: str
    day: date
    building: int | None = None

    @property
    def level(self) -> str:
        return self.divs.level.get(self.code, "city")

    @property
    def name(self) -> str:
        return self.divs.display(self.code)

    @property
    def previous_day(self) -> date:
        return self.day - timedelta(days=1)

    def query(self, **changes: Any) -> str:
        values = {"unit": self.code, "day": self.day.isoformat(), "building": self.building}
        values.update(changes)
        return query_string(values["unit"], values["day"], values["building"])


VIEW_PARAMS = ("unit", "day", "building")
"""The query parameters of the shell's filters; a page's own (a collection's ``id``) are kept beside them."""


def query_string(unit: str | None, day: str | date | None, building: int | str | None = None,
                 page_params: dict[str, str] | None = None) -> str:
    params = {**(page_params or {}),
              **{k: str(v) for k, v in zip(VIEW_PARAMS, (unit, day, building)) if v not in (None, "")}}
    return "?" + urlencode(params) if params else ""


def parse_query(search: str | None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v}


def in_scope(divs: DivisionTree, scope_code: str, code: str) -> bool:
    return code in divs.level and scope_code in divs.path(code)


def _as_day(value: str | None, campaign: q.Campaign) -> date:
    try:
        day = date.fromisoformat(value) if value else campaign.default_day
    except ValueError:
        day = campaign.default_day
    return day


def _as_building(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def view_of_search(s: Session, search: str | None) -> View:
    """``current_view`` for the query string of the page a callback serves (``?unit=…&day=…&building=…``)."""
    params = parse_query(search)
    return current_view(s, params.get("unit"), params.get("day"), params.get("building"))


def current_view(s: Session, unit: str | None = None, day: str | None = None, building: str | None = None) -> View:
    """The view the query string asks for, cut to the logged-in user's scope."""
    account = current_account()
    if account is None:
        raise PermissionError("未登录")
    divs = q.load_divisions(s)
    campaign = q.load_campaign(s)
    code = unit if unit and in_scope(divs, account.scope_code, unit) else account.scope_code
    if divs.level.get(code) not in ("city", "district", "street"):
        code = divs.ancestor(code, "street") or account.scope_code
    building_id = _as_building(building)
    if building_id is not None:
        b = q.building(s, building_id)
        if b is None or not in_scope(divs, account.scope_code, b.street_code):
            building_id = None
        else:
            code = b.street_code
    return View(account, divs, campaign, code, _as_day(day, campaign), building_id)
